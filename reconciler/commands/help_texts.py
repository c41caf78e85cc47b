"""Every command's one-line summary, examples and exit codes, in one place.

`cli.py` passes each command through `document`, which sets the summary shown in
`reconciler --help` (short enough never to be cut with "...") and appends the examples and
exit codes to the command's own `--help`. A new command adds its entry here; a test checks that
every command has one.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

SUMMARY_LIMIT = 60  # `reconciler --help` cuts longer summaries at 80 columns


@dataclass(frozen=True)
class CommandHelp:
    summary: str
    examples: tuple[str, ...]
    exit_codes: tuple[tuple[int, str], ...]


_INTERRUPTED = (130, "interrupted (Ctrl-C)")

HELP: dict[str, CommandHelp] = {
    "init": CommandHelp(
        "Create .reconciler/ and add it to .gitignore.",
        ("reconciler init",),
        ((0, "done"), (1, "the folder or .gitignore cannot be written")),
    ),
    "validate": CommandHelp(
        "Check manifests locally (no token, no network).",
        ("reconciler validate manifests/", "reconciler validate . --format json --strict"),
        ((0, "valid (warnings allowed)"), (1, "invalid")),
    ),
    "plan": CommandHelp(
        "Show what apply would change in the account.",
        (
            "reconciler plan manifests/ --out plan.json",
            "reconciler plan . --emulator --detailed-exitcode",
            "reconciler plan manifests/ --format markdown > plan.md",
        ),
        (
            (0, "success; with --detailed-exitcode: no changes"),
            (
                1,
                "error (invalid manifests, a refused change, a soft or hard policy failed "
                "without --override, API or connection, bad flags)",
            ),
            (2, "with --detailed-exitcode: there are changes"),
            _INTERRUPTED,
        ),
    ),
    "apply": CommandHelp(
        "Make the account match the manifests (or a saved plan).",
        (
            "reconciler apply manifests/",
            "reconciler apply --plan plan.json --auto-approve",
            "reconciler apply . --emulator --auto-approve --wait",
            "reconciler apply --plan plan.json --auto-approve --override max-trainings",
        ),
        (
            (0, "everything done, or nothing to do"),
            (
                1,
                "error, stale saved plan, a failed policy, apply cancelled, no confirmation "
                "possible, a failed step",
            ),
            _INTERRUPTED,
        ),
    ),
    "show": CommandHelp(
        "Print a saved plan in any format (reads no account).",
        ("reconciler show plan.json", "reconciler show plan.json --format markdown"),
        ((0, "shown"), (1, "the plan file is missing, unreadable or of another version")),
    ),
    "captions": CommandHelp(
        "Work with image captions (captions pull).",
        ("reconciler captions pull manifests/",),
        ((0, "success"), (1, "error"), _INTERRUPTED),
    ),
    "captions pull": CommandHelp(
        "Write Bria's captions to <stem>.txt beside the images.",
        ("reconciler captions pull manifests/", "reconciler captions pull . --emulator"),
        ((0, "success"), (1, "error (nothing is written to the account)"), _INTERRUPTED),
    ),
    "emulator": CommandHelp(
        "Serve a local emulator of the Bria API.",
        ("reconciler emulator --port 8080 --data /tmp/bria",),
        (
            (0, "stopped (Ctrl-C or SIGTERM)"),
            (1, "cannot start (port in use, unusable --data)"),
            (2, "bad flags"),
        ),
    ),
    "import": CommandHelp(
        "Write manifests for projects that exist in Bria.",
        ("reconciler import --out manifests/", "reconciler import --project lora --out m/"),
        ((0, "written"), (1, "error (nothing is overwritten)"), _INTERRUPTED),
    ),
    "status": CommandHelp(
        "Show declared resources as the account has them.",
        ("reconciler status manifests/", "reconciler status . --watch --interval 30"),
        (
            (0, "shown"),
            (1, "error (invalid manifests, API or connection)"),
            _INTERRUPTED,
        ),
    ),
    "samples": CommandHelp(
        "Generate the models' sample prompts, current vs previous.",
        ("reconciler samples manifests/ --dry-run", "reconciler samples . --out samples/"),
        ((0, "written (or counted with --dry-run)"), (1, "error"), _INTERRUPTED),
    ),
    "schema": CommandHelp(
        "Visual schemas of Bria's current generation.",
        ("reconciler schema generate acme-badges/acme-badges-v1 manifests/",),
        ((0, "success"), (1, "error"), _INTERRUPTED),
    ),
    "schema generate": CommandHelp(
        "Write the visual schema Bria makes from a dataset's images.",
        (
            "reconciler schema generate acme-badges/acme-badges-v1 manifests/",
            "reconciler schema generate lora/lora-v1 . --images a.png --images b.png ...",
        ),
        ((0, "written (nothing changed in the account)"), (1, "error"), _INTERRUPTED),
    ),
    "generate": CommandHelp(
        "Generate images with a declared model.",
        ('reconciler generate lora/lora-light --prompt "Lora waving" manifests/',),
        ((0, "images written"), (1, "error (a refused parameter, API error)"), _INTERRUPTED),
    ),
}

_FALLBACK = CommandHelp("", (), ((0, "success"), (1, "error"), _INTERRUPTED))


def document(command: click.Command, path: str | None = None) -> click.Command:
    """Set `command`'s summary and append its examples and exit codes (its subcommands too)."""
    name = path or command.name or ""
    entry = HELP.get(name, _FALLBACK)
    if entry.summary:
        command.short_help = entry.summary
    parts = [command.epilog] if command.epilog else []
    if entry.examples:
        parts.append("\b\nExamples:\n" + "\n".join(f"  {e}" for e in entry.examples))
    codes = "\n".join(f"  {code:<4}{meaning}" for code, meaning in entry.exit_codes)
    parts.append(f"\b\nExit codes:\n{codes}")
    command.epilog = "\n\n".join(parts)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            document(sub, f"{name} {sub.name}")
    return command


GROUP_EPILOG = """\b
Environment:
  BRIA_API_TOKEN   the API token (or --token-file FILE)
  BRIA_API_URL     the API base URL (or --api-url)
  NO_COLOR         set to any value: no colours in the output

\b
Shell completion (bash; zsh and fish likewise, with zsh_source / fish_source):
  eval "$(_RECONCILER_COMPLETE=bash_source reconciler)"

Run 'reconciler COMMAND --help' for a command's flags, examples and exit codes."""
