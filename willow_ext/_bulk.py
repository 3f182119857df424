"""Bulk helpers: many twins by id and telemetry ingest of any size.

Each keeps memory bounded (at most ``concurrency`` batches in flight) and reports everything it
could not do instead of dropping it.

Hand-written twins, not generated from ``willow_ext/_async``: the two halves differ in how they
run work concurrently (a thread pool and ``concurrent.futures.wait`` against asyncio tasks and
``asyncio.wait``), which no word-for-word substitution can express. The per-batch and per-point
decisions they share are the pure functions at the top.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from willow_api_client.models import TimeSeriesWrite, Twin

from ._errors import InvalidRequestError, WillowError
from ._pagination import POINTS_PER_REQUEST, TWIN_IDS_PER_REQUEST
from ._requests import WirePoint, checked_ids, chunked, telemetry_point

if TYPE_CHECKING:
    from ._async._client import AsyncWillowClient
    from ._sync._client import WillowClient

__all__ = [
    "IngestFailure",
    "IngestReport",
    "TwinLookup",
    "aget_twins",
    "aingest",
    "get_twins",
    "ingest",
]

DEFAULT_CONCURRENCY = 4

Point = TimeSeriesWrite | Mapping[str, Any]
Progress = Callable[[int, int], None]  # (points sent so far, points failed so far)


# ------------------------------------------------------------------------------ twins by id


@dataclass
class TwinLookup:
    """``found`` in request order; ``missing``: ids the server silently left out (no 404 is sent)."""

    found: dict[str, Twin] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def _lookup_result(requested: list[str], twins: Iterable[Twin]) -> TwinLookup:
    by_id = {twin.id: twin for twin in twins}
    return TwinLookup(
        found={i: by_id[i] for i in requested if i in by_id}, missing=[i for i in requested if i not in by_id]
    )


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(checked_ids(ids)))


def get_twins(
    client: WillowClient,
    ids: Iterable[str],
    *,
    include_relationships: bool = False,
    chunk_size: int = TWIN_IDS_PER_REQUEST,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> TwinLookup:
    """Fetch any number of twins with ``POST /twins/ids`` in chunks, ``concurrency`` at a time."""
    requested = _unique(ids)
    chunks = list(chunked(requested, chunk_size))
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="willow-twins") as pool:
        pages = pool.map(lambda c: client.twins.get_by_ids(c, include_relationships=include_relationships), chunks)
        twins = [twin for page in pages for twin in page]
    return _lookup_result(requested, twins)


async def aget_twins(
    client: AsyncWillowClient,
    ids: Iterable[str],
    *,
    include_relationships: bool = False,
    chunk_size: int = TWIN_IDS_PER_REQUEST,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> TwinLookup:
    requested = _unique(ids)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(chunk: list[str]) -> list[Twin]:
        async with gate:
            return await client.twins.get_by_ids(chunk, include_relationships=include_relationships)

    pages = await asyncio.gather(*(one(chunk) for chunk in chunked(requested, chunk_size)))
    return _lookup_result(requested, [twin for page in pages for twin in page])


# ------------------------------------------------------------------------------ ingest


@dataclass
class IngestFailure:
    """Points that were not accepted, with why. ``first_index`` is the position of the first one
    in the input, so a caller can find them again; the points themselves are kept for a retry."""

    reason: str
    first_index: int
    points: list[TimeSeriesWrite | Mapping[str, Any]]


@dataclass
class IngestReport:
    sent: int = 0
    requests: int = 0
    failures: list[IngestFailure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(len(failure.points) for failure in self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        text = f"{self.sent} points sent in {self.requests} requests, {self.failed} failed"
        reasons = {f.reason for f in self.failures}
        return text + (f" ({'; '.join(sorted(reasons))[:300]})" if reasons else "")


@dataclass
class _Batch:
    first_index: int
    points: list[TimeSeriesWrite | WirePoint]


def _batches(points: Iterable[Point], batch_size: int, report: IngestReport, start: int = 0) -> Iterator[_Batch]:
    """Validate lazily and cut into batches; invalid points go straight into the report.
    ``start`` is the input position of the first point (for inputs read in chunks)."""
    if batch_size < 1:
        raise InvalidRequestError("batch_size must be at least 1")
    batch: list[TimeSeriesWrite | WirePoint] = []
    first = start
    for index, raw in enumerate(points, start):
        try:
            point = telemetry_point(raw)
        except InvalidRequestError as exc:
            report.failures.append(IngestFailure(f"invalid point: {exc}", index, [raw]))
            continue
        if not batch:
            first = index
        batch.append(point)
        if len(batch) >= batch_size:
            yield _Batch(first, batch)
            batch = []
    if batch:
        yield _Batch(first, batch)


def _settle(report: IngestReport, batch: _Batch, error: BaseException | None) -> None:
    report.requests += 1
    if error is None:
        report.sent += len(batch.points)
    elif isinstance(error, WillowError):
        report.failures.append(IngestFailure(f"{type(error).__name__}: {error}", batch.first_index, list(batch.points)))
    else:
        raise error


def ingest(
    client: WillowClient,
    points: Iterable[Point],
    *,
    batch_size: int = POINTS_PER_REQUEST,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> IngestReport:
    """Send any number of points (a generator is fine) with ``POST /time-series``.

    At most ``concurrency`` batches are in flight; reading from ``points`` pauses until one
    finishes (backpressure), so memory does not grow with the input.
    """
    report = IngestReport()
    in_flight: dict[Future[None], _Batch] = {}

    def collect(done: Iterable[Future[None]]) -> None:
        for future in done:
            _settle(report, in_flight.pop(future), future.exception())
        if progress is not None:
            progress(report.sent, report.failed)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="willow-ingest") as pool:
        for batch in _batches(points, batch_size, report):
            if len(in_flight) >= concurrency:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
            in_flight[pool.submit(client.time_series.write_checked, batch.points)] = batch
        collect(wait(in_flight).done)
    return report


async def aingest(
    client: AsyncWillowClient,
    points: Iterable[Point] | AsyncIterable[Point],
    *,
    batch_size: int = POINTS_PER_REQUEST,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> IngestReport:
    """The asyncio twin of :func:`ingest`; ``points`` may also be an async iterable."""
    report = IngestReport()
    in_flight: dict[asyncio.Task[None], _Batch] = {}

    def collect(done: Iterable[asyncio.Task[None]]) -> None:
        for task in done:
            _settle(report, in_flight.pop(task), task.exception())
        if progress is not None:
            progress(report.sent, report.failed)

    async def submit(batch: _Batch) -> None:
        if len(in_flight) >= concurrency:
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            collect(done)
        in_flight[asyncio.ensure_future(client.time_series.write_checked(batch.points))] = batch

    if isinstance(points, AsyncIterable):
        pending: list[Point] = []
        read = 0  # input position of pending[0]
        async for point in points:
            pending.append(point)
            if len(pending) >= batch_size:
                for batch in _batches(pending, batch_size, report, start=read):
                    await submit(batch)
                read += len(pending)
                pending = []
        for batch in _batches(pending, batch_size, report, start=read):
            await submit(batch)
    else:
        for batch in _batches(points, batch_size, report):
            await submit(batch)
    if in_flight:
        done, _ = await asyncio.wait(in_flight)
        collect(done)
    return report
