"""`reconciler show PLANFILE`: print a saved plan again, in any format, without calling the API.

CI can plan once (`plan --out plan.json`), post that plan as a PR comment or an HTML artifact,
and later apply exactly it (`apply --plan plan.json`); `show` renders the file through the same
`render_plan` as `plan`, so what it prints is what `plan` printed.
"""

from __future__ import annotations

import click

from reconciler.plan_formats import FORMATS, render_plan


@click.command(name="show")
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="The same formats as `plan --format`.",
)
def show(plan_file: str, output_format: str) -> None:
    """Show a plan saved with `reconciler plan --out PLANFILE` (reads no account)."""
    from reconciler.commands.invocation import use_color
    from reconciler.plan_file import load_plan

    the_plan = load_plan(plan_file)
    click.echo(render_plan(the_plan, output_format, color=use_color()))
