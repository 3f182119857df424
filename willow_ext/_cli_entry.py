"""The ``willow`` console script: a base install (no ``cli`` extra) gets an install hint, not a traceback."""

from __future__ import annotations

import sys
from importlib.util import find_spec

from ._exit_codes import EXIT_MISSING_EXTRA

__all__ = ["EXIT_MISSING_EXTRA", "main", "missing_modules"]
CLI_MODULES = ("typer", "rich", "yaml")


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """The importable names among ``names`` that are not installed (checked without importing them)."""
    return [name for name in names if find_spec(name) is None]


def main() -> None:
    missing = missing_modules(CLI_MODULES)
    if not missing:
        from willow_ext.cli import main as cli_main

        cli_main()
        return
    if sys.argv[1:] == ["--version"]:
        from willow_ext._version import installed_version

        print(f"willow {installed_version()}")
        return
    sys.stderr.write(
        f"willow: the command line needs the 'cli' extra ({', '.join(missing)} not installed):"
        " pip install 'willow-api[cli]'\n"
    )
    raise SystemExit(EXIT_MISSING_EXTRA)
