"""Time-series export: every point of many twins over a time range.

- :func:`aexport_time_series` streams the points page by page (one page in memory).
- ``export_to_files`` / ``aexport_to_files`` (defined here under a prefixed name) write them to CSV, JSON lines or
  Parquet files, resumably: the plan is in ``_export_plan``, the files and the checkpoint in
  ``_export_job``; this module only sends the requests, up to ``concurrency`` units at a time (a
  unit's pages follow each other: each needs the previous page's continuation token).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from willow_api_client.models import TimeSeriesPage, TimeSeriesPoint

from .._concurrency import async_run_each
from .._errors import NotFoundError, WillowError
from .._export_job import ExportJob, ExportProgress, ExportReport
from .._export_plan import (
    DEFAULT_POINTS_PER_DAY,
    EXPORT_CONCURRENCY,
    EXPORT_PAGE_SIZE,
    ExportPlan,
    ExportUnit,
    plan_export,
)
from .._outputs import format_for
from .._pagination import TWIN_IDS_PER_REQUEST, PageWalk
from .._partial import attach_partial, is_fatal
from .._requests import checked_ids, chunked

if TYPE_CHECKING:
    from ._client import AsyncWillowClient

__all__ = ["aexport_time_series", "async_export_to_files"]


async def aexport_time_series(
    client: AsyncWillowClient,
    twin_ids: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    page_size: int = EXPORT_PAGE_SIZE,
    ids_per_request: int = TWIN_IDS_PER_REQUEST,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[TimeSeriesPoint]:
    """Every point of ``twin_ids`` in [start, end], streamed page by page (one page in memory), in
    the server's order. ``progress(count)`` is called after each page and once at the end.
    For files, sorted output, checkpoints and resume, use ``export_to_files``."""
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


async def _page(client: AsyncWillowClient, plan: ExportPlan, unit: ExportUnit, token: str | None) -> TimeSeriesPage:
    if len(unit.twin_ids) == 1:
        return await client.time_series.page(
            unit.twin_ids[0], unit.start, unit.end, page_size=plan.page_size, continuation_token=token
        )
    return await client.time_series.page_many(
        unit.twin_ids, unit.start, unit.end, page_size=plan.page_size, continuation_token=token
    )


def _next_token(page: TimeSeriesPage) -> str | None:
    token = page.continuation_token
    return token if isinstance(token, str) and token else None


async def _export_unit(client: AsyncWillowClient, job: ExportJob, unit: ExportUnit) -> None:
    """Every page of one unit; a failed unit is reported (and left for a resume), not raised."""
    token = job.begin(unit)
    saved = token is not None
    walk = PageWalk(None)
    while not job.stopping:  # another unit failed: leave this one at its checkpoint
        try:
            page = await _page(client, job.plan, unit, token)
        except NotFoundError:
            job.not_found(unit)
            return
        except WillowError as exc:
            if is_fatal(exc):
                raise
            if saved:
                # A saved token can have expired with the server's stored result: start the unit over.
                saved = False
                job.restart(unit)
                token, walk = None, PageWalk(None)
                continue
            job.fail(unit, exc)
            return
        saved = False
        rows: list[dict[str, Any]] = [point.to_dict() for point in page.data or []]
        next_token = _next_token(page)
        try:
            walk.check(token, next_token, rows)
        except WillowError as exc:
            job.fail(unit, exc)
            return
        job.add_page(unit, rows, next_token)
        if next_token is None:
            job.complete(unit)
            return
        token = next_token


async def async_export_to_files(
    client: AsyncWillowClient,
    twin_ids: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    output: str | Path,
    *,
    format: str | None = None,
    partition: bool | None = None,
    resume: bool = False,
    checkpoint: str | Path | None = None,
    page_size: int = EXPORT_PAGE_SIZE,
    points_per_day: float = DEFAULT_POINTS_PER_DAY,
    max_twins_per_request: int = TWIN_IDS_PER_REQUEST,
    concurrency: int = EXPORT_CONCURRENCY,
    progress: ExportProgress | None = None,
) -> ExportReport:
    """Export every point of ``twin_ids`` in [start, end] to files, resumably.

    ``output``: a file (``.csv``, ``.jsonl``, ``.parquet``) or, with ``partition=True`` (the
    default when ``output`` has no suffix), a directory of ``twinId=<id>/date=<day>/part.<ext>``
    files. Rows are sorted by timestamp within each twin and day. ``checkpoint`` (default
    ``<output>.checkpoint.json``) is updated after every page; ``resume=True`` continues from it
    after an interruption, even a SIGKILL, to the same bytes an uninterrupted run writes.
    A failed unit is reported in ``ExportReport.failures`` (resume retries it); only an
    authentication or configuration error stops the export, raised with ``error.partial``.
    ``progress(points so far, estimated total)`` is called after each page.
    ``concurrency``: units fetched at a time, so one request's round-trip does not hold up the
    next (the rate limit, not the latency, sets the pace); the plan (and so a resume) does not
    depend on it.
    """
    plan = plan_export(
        twin_ids,
        start,
        end,
        page_size=page_size,
        points_per_day=points_per_day,
        max_twins_per_request=max_twins_per_request,
    )
    path = Path(output)
    job = ExportJob(
        plan,
        path,
        format_for(path, format),
        partitioned=partition if partition is not None else path.suffix == "",
        checkpoint=Path(checkpoint) if checkpoint is not None else None,
        resume=resume,
        progress=progress,
    )
    try:

        async def export_unit(unit: ExportUnit) -> None:
            await _export_unit(client, job, unit)

        def stop() -> None:
            job.stopping = True  # the units in flight stop at their next page

        await async_run_each(job.pending(), export_unit, concurrency, on_stop=stop)
        job.finish()
    except BaseException as exc:
        attach_partial(exc, job.report)
        raise
    return job.report
