"""The pure state of a bulk job, shared by the thread-pool and asyncio drivers in ``_bulk.py``.

A job hands out work items (``next_work``), learns each outcome (``settle``), and accounts for
items it will never send (``abandon``). The drivers only decide *when*; every *what* lives here.
"""

from __future__ import annotations

from collections.abc import Callable

from ._partial import is_fatal

__all__ = ["JobState", "in_flight_limit"]


def in_flight_limit(succeeded: int, concurrency: int) -> int:
    """One request until one has succeeded, then ``concurrency``. A wrong secret or an unreachable
    server then costs one token request and one failure, not one per worker (slow start)."""
    return max(1, concurrency) if succeeded else 1


class JobState:
    """Counters every job keeps: successes (for slow start) and the error that stops the job."""

    def __init__(self) -> None:
        self.succeeded = 0
        #: The first error that stops the job (authentication, configuration, or a bug).
        self.fatal: BaseException | None = None
        #: What the caller's progress callback raised, if it did (it is then not called again).
        self.progress_error: BaseException | None = None

    @property
    def stopped(self) -> bool:
        return self.fatal is not None

    def tell(self, progress: Callable[[int, int], None] | None, done: int, failed: int) -> None:
        """Call the caller's ``progress`` callback after the outcome is recorded. If it raises,
        the job stops with that error, as when the caller's source raises: the books stay
        complete, and the callback is not called again."""
        if progress is None or self.progress_error is not None:
            return
        try:
            progress(done, failed)
        except BaseException as exc:  # re-raised by the job, with its report, once in-flight work ended
            self.progress_error = exc
            if self.fatal is None:
                self.fatal = exc

    def judge(self, error: BaseException | None) -> bool:
        """Record one outcome; False when it stopped the job."""
        if error is None:
            self.succeeded += 1
            return False
        if is_fatal(error):
            if self.fatal is None:
                self.fatal = error
            return False
        return True
