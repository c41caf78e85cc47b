"""Optional imports our dependencies make that the command line never uses, turned off.

Importing httpx also imports its own command-line client (`httpx._main`: rich, pygments) and
httpcore's trio backend when trio happens to be installed; together they cost more than the
rest of `plan` takes to start (0.5-0.8 s on a busy 2-core machine). The `reconciler` process is
synchronous and never runs httpx's CLI, so `main` marks both as absent (a None entry in
`sys.modules` makes their import raise ImportError, which both libraries handle). Library users
(`import reconciler.client`) are unaffected: only the CLI entry point calls this.
"""

from __future__ import annotations

import sys

UNUSED_OPTIONAL_MODULES = ("trio", "httpx._main")


def skip_unused_optional_imports() -> None:
    for name in UNUSED_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
