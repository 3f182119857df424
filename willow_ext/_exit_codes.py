"""Exit codes of the ``willow`` command line shared by the console-script guard and the CLI itself.

Documented in the README's CLI section; scripts may rely on them.
"""

from __future__ import annotations

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_FILE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_MISSING_EXTRA",
    "EXIT_NOT_FOUND",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
]

#: The API answered with an error (or a success that was not a Willow answer).
EXIT_API = 1
#: A bad argument, or an input file that cannot be read as points (the error names the line).
EXIT_USAGE = 2
#: Authentication failed, or the WILLOW_* settings are missing or invalid.
EXIT_AUTH = 3
#: The twin (or other resource) does not exist.
EXIT_NOT_FOUND = 4
#: Some of the work failed (points not ingested, export units not fetched); the report says which.
EXIT_PARTIAL = 5
#: No answer: connection refused or reset, DNS failure, timeout.
EXIT_CONNECTION = 6
#: A command needs an optional extra that is not installed (``pip install 'willow-api[cli]'``).
EXIT_MISSING_EXTRA = 7
#: A local file could not be written or read (disk full, permission denied).
EXIT_FILE = 8
#: A bug in willow: one line names it; ``--verbose`` logs the traceback.
EXIT_INTERNAL = 70
#: Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
