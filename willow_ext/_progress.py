"""Progress people can read: done of total, rate and time left, for exports, ingests and bulk
twin fetches.

:class:`ProgressModel` is pure (it takes the clock), :func:`describe` turns a snapshot into one
line, and :class:`TerminalProgress` is the thin renderer: it redraws that line on stderr at most a
few times a second, and is silent when stderr is not a terminal (logs and pipes stay clean).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TextIO

__all__ = ["ProgressModel", "ProgressSnapshot", "TerminalProgress", "describe"]


@dataclass(frozen=True)
class ProgressSnapshot:
    label: str
    unit: str
    done: int
    total: int | None
    failed: int
    elapsed: float
    #: Items per second over the run so far (None until there is something to measure).
    rate: float | None
    #: Seconds left at that rate (None without a total or a rate).
    eta: float | None

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


class ProgressModel:
    """Counts and the clock; no output. ``total`` may be an estimate (the export planner's), so a
    run can pass it: the ETA then reads 0 and the fraction stays at 100 %."""

    def __init__(self, label: str, unit: str, total: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.label = label
        self.unit = unit
        self.total = total
        self._clock = clock
        self._started = clock()
        self.done = 0
        self.failed = 0

    def update(self, done: int, failed: int = 0, total: int | None = None) -> ProgressSnapshot:
        self.done, self.failed = done, failed
        if total is not None:
            self.total = total
        return self.snapshot()

    def snapshot(self) -> ProgressSnapshot:
        elapsed = max(0.0, self._clock() - self._started)
        rate = self.done / elapsed if elapsed > 0 and self.done > 0 else None
        eta = None
        if rate and self.total is not None:
            eta = max(0.0, (self.total - self.done) / rate)
        return ProgressSnapshot(self.label, self.unit, self.done, self.total, self.failed, elapsed, rate, eta)


def _clock_text(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(snapshot: ProgressSnapshot) -> str:
    """``export  12,000 / 72,000 points (17 %) · 2,400 points/s · 0:25 left · 3 failed``"""
    parts = [f"{snapshot.label}  {snapshot.done:,}"]
    if snapshot.total is not None:
        parts[0] += f" / {snapshot.total:,} {snapshot.unit}"
        fraction = snapshot.fraction
        if fraction is not None:
            parts[0] += f" ({fraction:.0%})"
    else:
        parts[0] += f" {snapshot.unit}"
    if snapshot.rate is not None:
        parts.append(f"{snapshot.rate:,.0f} {snapshot.unit}/s")
    if snapshot.eta is not None:
        parts.append(f"{_clock_text(snapshot.eta)} left")
    else:
        parts.append(f"{_clock_text(snapshot.elapsed)} elapsed")
    if snapshot.failed:
        parts.append(f"{snapshot.failed:,} failed")
    return " · ".join(parts)


class TerminalProgress:
    """Redraws one progress line on ``stream`` (stderr) when it is a terminal; otherwise silent.

    ``enabled=None`` decides from ``stream.isatty()``; True/False force it. Use as a context
    manager; ``update(done, failed, total)`` fits the ``progress=`` callbacks of the bulk helpers.
    """

    def __init__(
        self,
        label: str,
        unit: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.model = ProgressModel(label, unit, total, clock)
        self._interval = interval
        self._clock = clock
        self._last_drawn = -float("inf")
        self._width = 0

    def update(self, done: int, failed: int = 0, total: int | None = None) -> None:
        snapshot = self.model.update(done, failed, total)
        now = self._clock()
        if self.enabled and now - self._last_drawn >= self._interval:
            self._last_drawn = now
            self._draw(describe(snapshot))

    def ingest_callback(self) -> Callable[[int, int], None]:
        """For ``ingest(progress=...)``: (sent, failed)."""
        return lambda sent, failed: self.update(sent + failed, failed)

    def total_callback(self) -> Callable[[int, int], None]:
        """For ``export_to_files(progress=...)``: (done, estimated total)."""
        return lambda done, total: self.update(done, 0, total)

    def _draw(self, line: str) -> None:
        padding = " " * max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write(f"\r{line}{padding}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(describe(self.model.snapshot()))
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
