"""What a bulk job hands back when it stops early: the error that stopped it, with the work done
so far attached, so nothing finished is ever thrown away.

The error is raised as it is (an ``AuthenticationError`` stays one, a caller's own ``ValueError``
from their point generator stays theirs, ``KeyboardInterrupt`` and ``asyncio.CancelledError``
keep their meaning) and carries ``error.partial``: the job's report up to that moment
(:class:`~willow_ext.IngestReport`, :class:`~willow_ext.TwinLookup` or
:class:`~willow_ext.ExportReport`). A note (PEP 678) summarises it in the traceback.
"""

from __future__ import annotations

from typing import Any

from ._errors import AuthenticationError, InvalidRequestError, WillowError

__all__ = ["FATAL_ERRORS", "attach_partial", "is_fatal", "partial_result"]

#: Errors that would fail every further request the same way: the token endpoint refused the
#: credentials, or the configuration is wrong. Any other error fails only its own chunk or batch
#: and the job goes on. A 401 that survives one token refresh (``AuthenticationStatusError``) is
#: not among them: it also happens when a token expires while a request waits out its retries.
FATAL_ERRORS: tuple[type[WillowError], ...] = (AuthenticationError, InvalidRequestError)


def is_fatal(error: BaseException) -> bool:
    """Whether ``error`` must stop the whole job (anything that is not a per-request WillowError)."""
    return isinstance(error, FATAL_ERRORS) or not isinstance(error, WillowError)


def attach_partial(error: BaseException, partial: object) -> BaseException:
    """Attach the job's report to ``error`` (as ``error.partial``) and return it for ``raise``."""
    error.partial = partial  # type: ignore[attr-defined]
    error.add_note(f"willow bulk job stopped early; partial result: {partial}"[:500])
    return error


def partial_result(error: BaseException) -> Any:
    """The report a stopped bulk job attached to ``error``, or None."""
    return getattr(error, "partial", None)
