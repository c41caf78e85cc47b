"""The `reconciler` command: a click group whose commands live in `reconciler/commands/`.

This module owns the one place where errors become output: a `ReconcilerError` is printed as a
single red line and the process exits with its exit code; anything else is a bug, shown as a
traceback only with `--debug`.

Commands are imported only when run (`COMMANDS` names their modules): `reconciler --version` and
`validate` start without the engine, httpx or Starlette (tests/e2e/test_cli_startup.py).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from reconciler import __version__
from reconciler.commands.help_texts import GROUP_EPILOG, document
from reconciler.commands.usage_exit import ExitOneOnUsageError
from reconciler.errors import ReconcilerError
from reconciler.secrets import redact
from reconciler.startup import skip_unused_optional_imports

_KEEPS_CLICK_USAGE_EXIT = {"emulator"}

# command name -> "module:attribute", imported on first use
COMMANDS: dict[str, str] = {
    "init": "reconciler.commands.init_cmd:init",
    "validate": "reconciler.commands.validate_cmd:validate",
    "plan": "reconciler.commands.plan_cmd:plan",
    "apply": "reconciler.commands.apply_cmd:apply",
    "show": "reconciler.commands.show_cmd:show",
    "captions": "reconciler.commands.captions_cmd:captions",
    "emulator": "reconciler.commands.emulator_cmd:emulator",
    "import": "reconciler.commands.import_cmd:import_account",
    "generate": "reconciler.commands.generate_cmd:generate",
    "status": "reconciler.commands.status_cmd:status",
    "samples": "reconciler.commands.samples_cmd:samples",
    "schema": "reconciler.commands.schema_cmd:schema",
}


class _Group(ExitOneOnUsageError, click.Group):  # `reconciler --nope` exits 1 too
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        module, attribute = COMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        self.add_command(document(command), cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            # a bad flag, argument or command exits 1 (2 means "changes" for plan); the
            # emulator, a server rather than a step of the plan/apply flow, keeps click's 2
            command = err.ctx.command.name if err.ctx is not None else None
            if command not in _KEEPS_CLICK_USAGE_EXIT:
                setattr(err, "exit_code", 1)  # noqa: B010  (a ClassVar in click's stubs)
            raise
        except (click.exceptions.Exit, click.ClickException):
            raise
        except click.exceptions.Abort:  # Ctrl-C (or end of input) at one of click's prompts
            click.secho("interrupted", fg="red", err=True)
            sys.exit(130)
        except ReconcilerError as err:
            if ctx.obj and ctx.obj.get("debug"):
                import traceback

                click.echo(redact(traceback.format_exc()), err=True)
            from reconciler.render_escape import printable  # (only on an error: startup time)

            message = printable(redact(str(err)), keep_newlines=True)  # names from Bria
            click.secho(f"error: {message}", fg="red", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.secho("interrupted", fg="red", err=True)
            sys.exit(130)
        except Exception as err:  # a bug: say so without a traceback unless --debug
            if ctx.obj and ctx.obj.get("debug"):
                import traceback

                click.echo(redact(traceback.format_exc()), err=True)
            click.secho(
                f"error: internal error: {type(err).__name__}: {redact(str(err))} "
                "(run with --debug for details)",
                fg="red",
                err=True,
            )
            sys.exit(1)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=GROUP_EPILOG
)
@click.option("--debug", is_flag=True, help="Show tracebacks and HTTP traces (token redacted).")
@click.version_option(__version__, prog_name="reconciler")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative plan/apply for Bria's Tailored Generation API."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
        ctx.color = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: like Python's own handler, plus waking requests that wait for the rate limit in
    worker threads (which KeyboardInterrupt never reaches), so the process ends at once."""
    pacing = sys.modules.get("reconciler.client.pacing")
    if pacing is not None:
        pacing.interrupt_all()
    raise KeyboardInterrupt


def main() -> None:
    skip_unused_optional_imports()  # before any command imports httpx (startup.py)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    # `--debug` is the group's option, but people type it after the command too
    # (`reconciler plan --debug`): move it to the front so both work.
    args = sys.argv[1:]
    if "--debug" in args[1:] and "--" not in args[: args.index("--debug")]:
        args = ["--debug", *[a for a in args if a != "--debug"]]
    cli(args=args, prog_name="reconciler")
