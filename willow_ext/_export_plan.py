"""Export planning (pure): which requests fetch every point of many twins over a time range in
the fewest requests, and what that costs at Willow's rate limit.

- **Units.** The range is cut at UTC midnights; a unit is one group of twins over one day. A unit
  is what a checkpoint records and what a partition file holds (twin × day).
- **Grouping.** ``POST /time-series/ids`` pages the points of several twins together, so a group of
  ``k`` twins costs ``ceil(k·n / page)`` requests instead of ``k·ceil(n / page)``: the part-full
  last page of each twin is shared. The planner groups twins when that saves requests and keeps
  them alone otherwise (a single-twin unit fails and resumes on its own).
- **Streams.** A unit's pages follow each other (each needs the previous continuation token), so
  one unit moves at one round-trip per request; at 20 requests per window that is too slow once a
  round-trip exceeds 1/20 of the window (a short window, a slow page). Units are fetched
  ``streams`` at a time, and an export with fewer units than that has its twins cut into more,
  smaller groups, as many as cost no extra request (50 twins of 1-minute data: 2 × 25 twins,
  36 full pages each, 72 requests like one group of 50).
- **Page size 1000.** Nothing documents a maximum ``pageSize`` for the time-series endpoints (the
  reference's example is 100, and [src] binds a plain ``int`` with no bound). 1000 is the largest
  page any Willow endpoint documents (``POST /twins`` ``pageSize`` 1..1000, tickets "maximum is
  1000"), the cap the local server enforces for batch lists, and ~300 kB of JSON per page. A larger
  value is undocumented and would risk a 400 or a gateway timeout on every request of a long job;
  a smaller one costs 10x the requests at 100, which at 2 requests/s is the whole job's time.
- **Estimate.** Requests from the expected density (default: 1-minute data, 1440 points per twin
  per day), and time at the ceiling of 20 requests per 10 s
  (https://developers.willowinc.com/docs/rate-limiting).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._errors import InvalidRequestError
from ._pagination import TWIN_IDS_PER_REQUEST
from ._requests import aware, checked_ids

__all__ = [
    "CEILING_REQUESTS",
    "CEILING_WINDOW_SECONDS",
    "DEFAULT_POINTS_PER_DAY",
    "EXPORT_CONCURRENCY",
    "EXPORT_PAGE_SIZE",
    "ExportPlan",
    "ExportUnit",
    "day_windows",
    "group_size",
    "plan_export",
    "requests_for",
    "stream_groups",
]

EXPORT_PAGE_SIZE = 1000
#: Units fetched at a time (the bulk helpers' default concurrency).
EXPORT_CONCURRENCY = 4
DEFAULT_POINTS_PER_DAY = 1440.0
#: The documented limit on /twins/* and /time-series/*: 20 requests per 10 s, per client.
CEILING_REQUESTS = 20
CEILING_WINDOW_SECONDS = 10.0
#: A unit is sorted in memory when it completes: keep it to about this many points.
MAX_POINTS_PER_UNIT = 100_000
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ExportUnit:
    """One request stream: ``twin_ids`` over [start, end). The last unit of the range includes
    ``end`` itself (the server's ``end`` is inclusive)."""

    index: int
    twin_ids: tuple[str, ...]
    start: dt.datetime
    end: dt.datetime
    includes_end: bool
    estimated_points: int

    @property
    def key(self) -> str:
        return f"u{self.index:06d}"

    @property
    def day(self) -> str:
        return self.start.astimezone(dt.UTC).date().isoformat()

    def owns(self, moment: dt.datetime) -> bool:
        """Whether a point at ``moment`` belongs to this unit. Windows are fetched with the
        server's inclusive bounds, so a point exactly at midnight comes back for both days; it
        belongs to the later one only (no duplicates, nothing dropped)."""
        if moment < self.start:
            return False
        return moment <= self.end if self.includes_end else moment < self.end


@dataclass(frozen=True)
class ExportPlan:
    twin_ids: tuple[str, ...]
    start: dt.datetime
    end: dt.datetime
    page_size: int
    points_per_day: float
    units: tuple[ExportUnit, ...]

    @property
    def estimated_points(self) -> int:
        return sum(unit.estimated_points for unit in self.units)

    @property
    def estimated_requests(self) -> int:
        return sum(requests_for(unit.estimated_points, self.page_size) for unit in self.units)

    @property
    def requests_one_twin_per_request(self) -> int:
        """What the same export costs without grouping (for comparison)."""
        per_twin = 0
        for unit in self.units:
            share = unit.estimated_points / max(1, len(unit.twin_ids))
            per_twin += len(unit.twin_ids) * requests_for(round(share), self.page_size)
        return per_twin

    @property
    def seconds_at_ceiling(self) -> float:
        return self.estimated_requests * CEILING_WINDOW_SECONDS / CEILING_REQUESTS

    @property
    def fingerprint(self) -> str:
        """Identifies the exact queries; a checkpoint (and its continuation tokens) is only valid
        for a plan with the same fingerprint."""
        body = {
            "twins": list(self.twin_ids),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "pageSize": self.page_size,
            "units": [[list(u.twin_ids), u.start.isoformat(), u.end.isoformat()] for u in self.units],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.seconds_at_ceiling), 60)
        hours, minutes = divmod(minutes, 60)
        return (
            f"{_count(len(self.twin_ids), 'twin')}, {_count(len(self.units), 'unit')} (twin group × day), "
            f"page size {self.page_size}; estimated {self.estimated_points:,} points in "
            f"{self.estimated_requests:,} requests ({self.requests_one_twin_per_request:,} without grouping); "
            f"{hours}:{minutes:02d}:{seconds:02d} at the rate limit "
            f"({CEILING_REQUESTS} requests / {CEILING_WINDOW_SECONDS:g} s)"
        )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def requests_for(points: int, page_size: int) -> int:
    """Requests to page through ``points`` (an empty answer still takes one)."""
    return max(1, math.ceil(points / page_size))


def group_size(points_per_twin: float, page_size: int, max_twins: int, max_points: int = MAX_POINTS_PER_UNIT) -> int:
    """How many twins to fetch per request stream: the largest group (within ``max_twins`` and
    ``max_points``) when it costs fewer requests per twin than one twin alone, else 1."""
    n = max(0.0, points_per_twin)
    alone = requests_for(math.ceil(n), page_size)
    k = max(1, min(max_twins, int(max_points // n) if n else max_twins))
    return k if requests_for(math.ceil(k * n), page_size) < k * alone else 1


def stream_groups(twins: int, size: int, days: int, points_per_twin: float, page_size: int, streams: int) -> int:
    """Twins per group once an export with fewer than ``streams`` units is cut into more groups:
    the smallest group size (at least ``streams`` units, if possible) that costs no more requests
    than groups of ``size``."""

    def cost(group: int) -> int:
        full, rest = divmod(twins, group)
        return full * requests_for(math.ceil(group * points_per_twin), page_size) + (
            requests_for(math.ceil(rest * points_per_twin), page_size) if rest else 0
        )

    if math.ceil(twins / size) * days >= streams:
        return size
    best = size
    for groups in range(math.ceil(twins / size) + 1, min(twins, math.ceil(streams / days)) + 1):
        candidate = math.ceil(twins / groups)
        if cost(candidate) <= cost(size):
            best = candidate
    return best


def day_windows(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end] cut at UTC midnights."""
    windows = []
    cursor = start.astimezone(dt.UTC)
    stop = end.astimezone(dt.UTC)
    while True:
        midnight = dt.datetime.combine(cursor.date(), dt.time(), dt.UTC) + _DAY
        if midnight >= stop:
            windows.append((cursor, stop))
            return windows
        windows.append((cursor, midnight))
        cursor = midnight


def plan_export(
    twin_ids: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    page_size: int = EXPORT_PAGE_SIZE,
    points_per_day: float = DEFAULT_POINTS_PER_DAY,
    max_twins_per_request: int = TWIN_IDS_PER_REQUEST,
    streams: int = EXPORT_CONCURRENCY,
) -> ExportPlan:
    """The units (twin group × day) and the estimate for exporting [start, end]."""
    ids: Sequence[str] = list(dict.fromkeys(checked_ids(twin_ids, "twin_ids")))
    if not ids:
        raise InvalidRequestError("twin_ids must name at least one twin")
    start, end = aware(start, "start").astimezone(dt.UTC), aware(end, "end").astimezone(dt.UTC)
    if end <= start:
        raise InvalidRequestError("end must be after start")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise InvalidRequestError("page_size must be an integer of at least 1")
    if not math.isfinite(points_per_day) or points_per_day < 0:
        raise InvalidRequestError("points_per_day must be a finite number of at least 0")
    if max_twins_per_request < 1:
        raise InvalidRequestError("max_twins_per_request must be at least 1")
    if isinstance(streams, bool) or not isinstance(streams, int) or streams < 1:
        raise InvalidRequestError("concurrency must be an integer of at least 1")
    units: list[ExportUnit] = []
    windows = day_windows(start, end)
    # Grouping is decided for a whole day, so every day of a twin uses the same group (and query).
    size = group_size(points_per_day, page_size, max_twins_per_request)
    size = stream_groups(len(ids), size, len(windows), points_per_day, page_size, streams)
    groups = [tuple(ids[i : i + size]) for i in range(0, len(ids), size)]
    for group in groups:
        for window_start, window_end in windows:
            share = (window_end - window_start) / _DAY
            units.append(
                ExportUnit(
                    index=len(units),
                    twin_ids=group,
                    start=window_start,
                    end=window_end,
                    includes_end=window_end == end,
                    estimated_points=math.ceil(points_per_day * share * len(group)),
                )
            )
    return ExportPlan(tuple(ids), start, end, page_size, points_per_day, tuple(units))
