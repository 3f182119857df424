"""Time-series export: every point of many twins over a time range, streamed page by page."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from willow_api_client.models import TimeSeriesPoint

from .._pagination import TIME_SERIES_PAGE_SIZE, TWIN_IDS_PER_REQUEST
from .._requests import checked_ids, chunked

if TYPE_CHECKING:
    from ._client import AsyncWillowClient

__all__ = ["aexport_time_series"]


async def aexport_time_series(
    client: AsyncWillowClient,
    twin_ids: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    page_size: int = TIME_SERIES_PAGE_SIZE,
    ids_per_request: int = TWIN_IDS_PER_REQUEST,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[TimeSeriesPoint]:
    """Every point of ``twin_ids`` in [start, end], streamed page by page (one page in memory).
    ``progress(count)`` is called after each page and once at the end."""
    count = 0
    for ids in chunked(list(dict.fromkeys(checked_ids(twin_ids))), ids_per_request):
        async for _, points in client.time_series.iter_many(ids, start, end, page_size=page_size).pages():
            for point in points:
                yield point
            count += len(points)
            if progress is not None:
                progress(count)
    if progress is not None:
        progress(count)
