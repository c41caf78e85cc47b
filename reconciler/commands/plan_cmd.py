"""`reconciler plan`: read the manifests and the live account, print what apply would do.

With `--detailed-exitcode`: 0 no changes, 2 changes, 1 error (Terraform's convention).
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commands.invocation import (
    connection_options,
    connection_settings,
    enforce_policies,
    load_desired,
    make_plan,
    report_plan_errors,
    spend_options,
    spend_settings,
    strict_option,
    use_color,
)
from reconciler.connection import open_client
from reconciler.plan_formats import FORMATS, render_plan


@click.command(name="plan")  # bad flags exit 1: cli._Group.invoke
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Save the plan here.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a PR comment, json for machines, html for a visual "
    "review page (one self-contained file; redirect it: > plan.html).",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when no changes, 2 when changes, 1 on error."
)
@click.option("--prune", is_flag=True, help="Also delete undeclared datasets and models.")
@strict_option
@spend_options
@connection_options
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    out_file: str | None,
    output_format: str,
    detailed_exitcode: bool,
    prune: bool,
    strict: bool,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Show what apply would change to make the account match the manifests."""
    from reconciler.plan_file import save_plan

    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    spend = spend_settings(ctx)
    desired = load_desired(paths, strict=strict)
    with open_client(settings) as client:
        the_plan, _live = make_plan(client, desired, prune=prune, spend=spend)
    click.echo(render_plan(the_plan, output_format, color=use_color()))
    if the_plan.errors:
        report_plan_errors(the_plan)
    if out_file:
        save_plan(the_plan, Path(out_file))
        click.echo(
            f"Saved the plan to {out_file}; carry it out with: reconciler apply --plan {out_file}",
            err=True,
        )
    enforce_policies(the_plan)
    if detailed_exitcode:
        ctx.exit(2 if the_plan.has_changes else 0)
