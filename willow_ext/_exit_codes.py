"""Exit codes of the ``willow`` command line shared by the console-script guard and the CLI itself."""

from __future__ import annotations

__all__ = ["EXIT_MISSING_EXTRA"]

#: A command needs an optional extra that is not installed (``pip install 'willow-api[cli]'``).
EXIT_MISSING_EXTRA = 7
