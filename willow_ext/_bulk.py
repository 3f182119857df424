"""Bulk helpers: many twins by id and telemetry ingest of any size.

Each keeps memory bounded (at most ``concurrency`` requests in flight) and accounts for every item:
done, failed with the error of its request, or never sent. Nothing finished is thrown away:

- a failed chunk or batch is reported and the job goes on;
- only an error that would fail every request alike (authentication, configuration, or a bug)
  stops the job, after the requests in flight have finished, and is raised with the report so far
  as ``error.partial`` (see ``_partial.py``). The same holds when the caller's point source raises,
  on ``KeyboardInterrupt`` and on task cancellation: in-flight requests are finished (threads) or
  cancelled (asyncio tasks) before the call raises, so nothing keeps sending afterwards. A
  ``progress`` callback that raises stops the job the same way; it is called only after the
  outcome it reports is booked, so its error loses nothing;
- until one request has succeeded only one is in flight (``in_flight_limit``), so a wrong secret
  costs one token request, not one per worker.

Hand-written twins, not generated from ``willow_ext/_async``: the two halves differ in how they
run work concurrently (a thread pool and ``concurrent.futures.wait`` against asyncio tasks and
``asyncio.wait``), which no word-for-word substitution can express. The per-batch and per-point
decisions they share are the pure functions and job classes at the top.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from willow_api_client.models import TimeSeriesWrite, Twin

from ._errors import InvalidRequestError
from ._jobs import JobState, in_flight_limit
from ._pagination import POINTS_PER_REQUEST, TWIN_IDS_PER_REQUEST
from ._partial import attach_partial
from ._redact import safe_text
from ._requests import WirePoint, checked_ids, chunked, telemetry_point

if TYPE_CHECKING:
    from ._async._client import AsyncWillowClient
    from ._sync._client import WillowClient

__all__ = [
    "ChunkFailure",
    "IngestFailure",
    "IngestReport",
    "TwinLookup",
    "aget_twins",
    "aingest",
    "get_twins",
    "ingest",
    "json_value_problem",
]

DEFAULT_CONCURRENCY = 4

Point = TimeSeriesWrite | Mapping[str, Any]
Progress = Callable[[int, int], None]  # (items done so far, items failed so far)
W = TypeVar("W")
R = TypeVar("R")

#: Why a batch read from the source was never sent.
NOT_SENT_INTERRUPTED = "not sent: the job was interrupted"
NOT_SENT_STOPPED = "not sent: the job stopped early"
CANCELLED_IN_FLIGHT = "cancelled in flight: the server may or may not have stored these points"


def _check_sizes(size: int, concurrency: int, size_name: str) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidRequestError(f"{size_name} must be an integer of at least 1")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError("concurrency must be an integer of at least 1")


# ------------------------------------------------------------------------------ drivers


def _run_in_threads(
    state: JobState,
    next_work: Callable[[], W | None],
    send: Callable[[W], R],
    settle: Callable[[W, R | None, BaseException | None], None],
    abandon: Callable[[W, str], None],
    concurrency: int,
    name: str,
) -> None:
    """Send work from ``next_work`` on a thread pool until it is exhausted or the job stops.

    Interrupted (the source raised, KeyboardInterrupt): queued requests are cancelled and the ones
    already running finish (a thread cannot be stopped mid-request) before the error propagates.
    """
    in_flight: dict[Future[R], W] = {}

    def collect(done: Iterable[Future[R]]) -> None:
        for future in done:
            work = in_flight.pop(future)
            if future.cancelled():
                abandon(work, NOT_SENT_INTERRUPTED)
            else:
                error = future.exception()
                settle(work, None if error is not None else future.result(), error)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name) as pool:
        try:
            exhausted = False
            while True:
                while (
                    not exhausted
                    and not state.stopped
                    and len(in_flight) < in_flight_limit(state.succeeded, concurrency)
                ):
                    work = next_work()
                    if work is None:
                        exhausted = True
                    else:
                        in_flight[pool.submit(send, work)] = work
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
        finally:
            for future in list(in_flight):
                future.cancel()
            collect(wait(in_flight).done)


async def _run_as_tasks(
    state: JobState,
    next_work: Callable[[], Awaitable[W | None]],
    send: Callable[[W], Awaitable[R]],
    settle: Callable[[W, R | None, BaseException | None], None],
    abandon: Callable[[W, str], None],
    concurrency: int,
) -> None:
    """The asyncio twin of :func:`_run_in_threads`. When the source raises, in-flight requests
    finish; when the caller's task is cancelled (or KeyboardInterrupt), even while waiting for them,
    they are cancelled. Either way they have ended, and are accounted for, before this returns or
    raises; a cancellation that arrived meanwhile is raised as ``CancelledError``."""
    in_flight: dict[asyncio.Task[R], W] = {}

    def collect(done: Iterable[asyncio.Task[R]]) -> None:
        for task in done:
            work = in_flight.pop(task)
            if task.cancelled() or not task.done():  # not done: it ignored its cancellation
                abandon(work, CANCELLED_IN_FLIGHT)
            else:
                error = task.exception()
                settle(work, None if error is not None else task.result(), error)

    async def call(work: W) -> R:
        return await send(work)

    interrupted = False
    try:
        exhausted = False
        while True:
            while (
                not exhausted and not state.stopped and len(in_flight) < in_flight_limit(state.succeeded, concurrency)
            ):
                work = await next_work()
                if work is None:
                    exhausted = True
                else:
                    in_flight[asyncio.ensure_future(call(work))] = work
            if not in_flight:
                return
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            collect(done)
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted = True
        raise
    finally:
        if in_flight:
            cancelled_meanwhile = await _end_tasks(list(in_flight), cancel=interrupted)
            collect(list(in_flight))
            if cancelled_meanwhile:
                raise asyncio.CancelledError  # the caller's cancellation wins over the source's error


#: How long cancelled requests get to end (a task that ignores its cancellation is then given up).
CANCEL_GRACE_SECONDS = 5.0


async def _end_tasks(tasks: list[asyncio.Task[Any]], *, cancel: bool) -> bool:
    """Wait until every task has ended: they finish, or they are cancelled first when ``cancel``
    or when the caller is cancelled while waiting (no request may leave after the job raised).
    True when the caller was cancelled meanwhile, so it can raise ``CancelledError`` afterwards."""
    cancelled_meanwhile = False
    deadline: float | None = None
    loop = asyncio.get_running_loop()
    while True:
        if cancel and deadline is None:
            for task in tasks:
                task.cancel()
            deadline = loop.time() + CANCEL_GRACE_SECONDS
        pending = [task for task in tasks if not task.done()]
        if not pending or (deadline is not None and loop.time() >= deadline):
            return cancelled_meanwhile
        try:
            await asyncio.wait(pending, timeout=None if deadline is None else deadline - loop.time())
        except asyncio.CancelledError:
            cancelled_meanwhile = cancel = True


def _stop_if_fatal(state: JobState, partial: object) -> None:
    if state.fatal is not None:
        raise attach_partial(state.fatal, partial)


# ------------------------------------------------------------------------------ twins by id


@dataclass
class ChunkFailure:
    """Ids whose request failed, with the error (a typed :class:`WillowError`)."""

    ids: list[str]
    error: BaseException

    @property
    def reason(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


@dataclass
class TwinLookup:
    """``found`` in request order; ``missing``: ids the server silently left out (no 404 is sent);
    ``failures``: chunks whose request failed, with the error, so they can be asked for again."""

    found: dict[str, Twin] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    failures: list[ChunkFailure] = field(default_factory=list)
    #: Ids never asked for because the job stopped early.
    not_sent: list[str] = field(default_factory=list)

    @property
    def failed_ids(self) -> list[str]:
        return [twin_id for failure in self.failures for twin_id in failure.ids]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.not_sent

    def __str__(self) -> str:
        return (
            f"{len(self.found)} twins found, {len(self.missing)} missing, "
            f"{len(self.failed_ids)} failed, {len(self.not_sent)} not asked for"
        )


class _TwinJob:
    """Pure bookkeeping of a ``get_twins`` run."""

    def __init__(self, requested: list[str], chunk_size: int, progress: Progress | None) -> None:
        self.state = JobState()
        self.requested = requested
        self._chunks = iter(list(chunked(requested, chunk_size)))
        self._twins: dict[str, Twin] = {}
        self._asked: set[str] = set()
        self._failures: list[ChunkFailure] = []
        self._progress = progress
        self._done = 0

    def next_work(self) -> list[str] | None:
        chunk = next(self._chunks, None)
        if chunk is not None:
            self._asked.update(chunk)
        return chunk

    async def anext_work(self) -> list[str] | None:
        return self.next_work()

    def settle(self, chunk: list[str], twins: list[Twin] | None, error: BaseException | None) -> None:
        self.state.judge(error)
        if error is not None:
            self._failures.append(ChunkFailure(chunk, error))
        for twin in twins or []:
            self._twins.setdefault(twin.id, twin)
        self._done += len(chunk)
        if self._progress is not None:
            failed = len(self.failed)
            self.state.tell(self._progress, self._done - failed, failed)

    @property
    def failed(self) -> list[str]:
        return [i for f in self._failures for i in f.ids]

    def abandon(self, chunk: list[str], reason: str) -> None:
        self._asked.difference_update(chunk)

    def result(self) -> TwinLookup:
        failed = set(self.failed)
        answered = self._asked - failed
        return TwinLookup(
            found={i: self._twins[i] for i in self.requested if i in self._twins},
            missing=[i for i in self.requested if i in answered and i not in self._twins],
            failures=list(self._failures),
            not_sent=[i for i in self.requested if i not in self._asked],
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
    progress: Progress | None = None,
) -> TwinLookup:
    """Fetch any number of twins with ``POST /twins/ids`` in chunks, ``concurrency`` at a time.

    Never raises midway: a failed chunk lands in ``failures``. Only an authentication or
    configuration error stops the job, raised with the lookup so far as ``error.partial``.
    ``progress(ids answered, ids failed)`` is called after each chunk (like ``ingest``'s).
    """
    _check_sizes(chunk_size, concurrency, "chunk_size")
    job = _TwinJob(_unique(ids), chunk_size, progress)
    try:
        _run_in_threads(
            job.state,
            job.next_work,
            lambda chunk: client.twins.get_by_ids(chunk, include_relationships=include_relationships),
            job.settle,
            job.abandon,
            concurrency,
            "willow-twins",
        )
    except BaseException as exc:
        attach_partial(exc, job.result())
        raise
    _stop_if_fatal(job.state, job.result())
    return job.result()


async def aget_twins(
    client: AsyncWillowClient,
    ids: Iterable[str],
    *,
    include_relationships: bool = False,
    chunk_size: int = TWIN_IDS_PER_REQUEST,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> TwinLookup:
    """The asyncio twin of :func:`get_twins`."""
    _check_sizes(chunk_size, concurrency, "chunk_size")
    job = _TwinJob(_unique(ids), chunk_size, progress)
    try:
        await _run_as_tasks(
            job.state,
            job.anext_work,
            lambda chunk: client.twins.get_by_ids(chunk, include_relationships=include_relationships),
            job.settle,
            job.abandon,
            concurrency,
        )
    except BaseException as exc:
        attach_partial(exc, job.result())
        raise
    _stop_if_fatal(job.state, job.result())
    return job.result()


# ------------------------------------------------------------------------------ ingest


@dataclass
class IngestFailure:
    """Points that were not accepted (or never sent), with why. ``first_index`` is the position of
    the first one in the input, so a caller can find them again; the points are kept for a retry."""

    reason: str
    first_index: int
    points: list[TimeSeriesWrite | Mapping[str, Any]]


@dataclass
class IngestReport:
    """Every point read from the source is in exactly one of: ``sent`` (accepted, 202),
    ``failures`` (refused locally or by the server, with the reason) or ``not_sent`` (read, but
    the job stopped or was interrupted before sending them)."""

    sent: int = 0
    requests: int = 0
    failures: list[IngestFailure] = field(default_factory=list)
    not_sent: list[IngestFailure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(len(failure.points) for failure in self.failures)

    @property
    def unsent(self) -> int:
        return sum(len(item.points) for item in self.not_sent)

    @property
    def read(self) -> int:
        return self.sent + self.failed + self.unsent

    @property
    def ok(self) -> bool:
        return not self.failures and not self.not_sent

    def __str__(self) -> str:
        text = f"{self.sent} points sent in {self.requests} requests, {self.failed} failed"
        if self.not_sent:
            text += f", {self.unsent} read but not sent"
        reasons = {f.reason for f in self.failures}
        return text + (f" ({'; '.join(sorted(reasons))[:300]})" if reasons else "")


@dataclass
class _Batch:
    first_index: int
    points: list[TimeSeriesWrite | WirePoint]


def _serializer_problem(wire: Mapping[Any, Any]) -> str | None:
    """Why orjson, which encodes the request body (``post_telemetry``), refuses the point, naming
    the field, or None. Asking the serializer itself keeps its limits (lone surrogates, non-string
    keys, nesting past 254 levels, integers over 64 bits, unknown types) out of this module."""
    try:
        orjson.dumps(wire)
    except orjson.JSONEncodeError as whole:
        for key, item in wire.items():
            if not isinstance(key, str):
                return f"field name {repr(key)[:60]} is not a string"
            for name, part in ((f"field name {repr(key)[:60]}", key), (key[:60], item)):
                try:
                    orjson.dumps(part)
                except orjson.JSONEncodeError as exc:
                    return f"{safe_text(name, 80)} cannot be sent as JSON: {_serializer_reason(exc)}"
        return f"cannot be sent as JSON: {_serializer_reason(whole)}"
    return None


def _serializer_reason(error: Exception) -> str:
    text = str(error)
    if "surrogates not allowed" in text:
        return "it holds a lone surrogate (not valid Unicode text)"
    if "Recursion limit" in text:
        return "nested too deeply for the JSON encoder"
    return safe_text(text, 100)


def json_value_problem(point: TimeSeriesWrite | Mapping[str, Any]) -> str | None:
    """Why the point cannot travel as JSON, or None: what the request serializer refuses (see
    :func:`_serializer_problem`), and NaN or Infinity, which it would silently write as ``null``
    (and Python's json as a bare ``NaN``, not JSON, RFC 8259 §6): the server would refuse or
    misread the whole batch for one point."""
    wire: Mapping[Any, Any] = point.to_dict() if isinstance(point, TimeSeriesWrite) else point
    problem = _serializer_problem(wire)
    if problem is not None:
        return problem
    value, properties = wire.get("scalarValue"), wire.get("properties")
    if type(value) is float and not math.isfinite(value):
        return f"scalarValue {value!r} cannot be sent as JSON"
    for name, item in (("scalarValue", value), ("properties", properties)):
        if item is None or type(item) in (int, float, str, bool):
            continue
        try:
            json.dumps(item, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            return f"{name} cannot be sent as JSON: {type(exc).__name__}: {safe_text(exc, 100)}"
    return None


_PLAIN_NUMBERS = (float, int)


class _IngestJob:
    """Pure bookkeeping of an ingest run: reads points lazily, checks each, cuts batches."""

    def __init__(self, batch_size: int, progress: Progress | None) -> None:
        self.state = JobState()
        self.report = IngestReport()
        self._batch_size = batch_size
        self._progress = progress
        self._pending: list[TimeSeriesWrite | WirePoint] = []
        self._first = 0
        self._index = 0

    def add(self, raw: Point) -> _Batch | None:
        """Take the next point of the input; a full batch when one is ready."""
        index = self._index
        self._index += 1
        try:
            point = telemetry_point(raw)
        except InvalidRequestError as exc:
            self.report.failures.append(IngestFailure(f"invalid point: {exc}", index, [raw]))
            return None
        except RecursionError:  # the strict-JSON check walks nested values recursively
            self.report.failures.append(IngestFailure("invalid point: nested too deeply for JSON", index, [raw]))
            return None
        # Fast path: telemetry_point already refused a non-finite or over-wide number, and a checked
        # wire point with four keys has no properties, so only the serializer's own limits (a lone
        # surrogate in an id) are left to ask about.
        if type(point) is WirePoint and len(point) == 4 and type(point["scalarValue"]) in _PLAIN_NUMBERS:
            problem = _serializer_problem(point)
        else:
            problem = json_value_problem(point)
        if problem is not None:
            self.report.failures.append(IngestFailure(f"invalid point: {problem}", index, [raw]))
            return None
        if not self._pending:
            self._first = index
        self._pending.append(point)
        return self.flush() if len(self._pending) >= self._batch_size else None

    def flush(self) -> _Batch | None:
        if not self._pending:
            return None
        batch = _Batch(self._first, self._pending)
        self._pending = []
        return batch

    def settle(self, batch: _Batch, result: object, error: BaseException | None) -> None:
        self.report.requests += 1
        self.state.judge(error)
        if error is None:
            self.report.sent += len(batch.points)
        else:
            self.report.failures.append(
                IngestFailure(f"{type(error).__name__}: {error}", batch.first_index, list(batch.points))
            )
        self.state.tell(self._progress, self.report.sent, self.report.failed)

    def abandon(self, batch: _Batch, reason: str) -> None:
        if reason == CANCELLED_IN_FLIGHT:
            self.report.requests += 1
            self.report.failures.append(IngestFailure(reason, batch.first_index, list(batch.points)))
        else:
            self.report.not_sent.append(IngestFailure(reason, batch.first_index, list(batch.points)))

    def close(self, interrupted: bool) -> None:
        """Account for the points read into a batch that was never cut (job stopped or interrupted)."""
        if self._pending:
            reason = NOT_SENT_INTERRUPTED if interrupted else NOT_SENT_STOPPED
            self.report.not_sent.append(IngestFailure(reason, self._first, list(self._pending)))
            self._pending = []

    def reader(self, points: Iterable[Point]) -> Callable[[], _Batch | None]:
        source = iter(points)

        def next_batch() -> _Batch | None:
            for raw in source:
                batch = self.add(raw)
                if batch is not None:
                    return batch
            return self.flush()

        return next_batch

    def async_reader(self, points: AsyncIterable[Point]) -> Callable[[], Awaitable[_Batch | None]]:
        source: AsyncIterator[Point] = aiter(points)

        async def next_batch() -> _Batch | None:
            async for raw in source:
                batch = self.add(raw)
                if batch is not None:
                    return batch
            return self.flush()

        return next_batch


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
    finishes (backpressure), so memory does not grow with the input. A bad point (no twin
    reference, NaN, ...) is refused locally with its reason and never fails its batch.
    ``progress(points sent, points failed)`` is called after each batch.
    """
    _check_sizes(batch_size, concurrency, "batch_size")
    job = _IngestJob(batch_size, progress)
    try:
        _run_in_threads(
            job.state,
            job.reader(points),
            lambda batch: client.time_series.write_checked(batch.points),
            job.settle,
            job.abandon,
            concurrency,
            "willow-ingest",
        )
    except BaseException as exc:
        job.close(interrupted=True)
        attach_partial(exc, job.report)
        raise
    job.close(interrupted=False)
    _stop_if_fatal(job.state, job.report)
    return job.report


async def aingest(
    client: AsyncWillowClient,
    points: Iterable[Point] | AsyncIterable[Point],
    *,
    batch_size: int = POINTS_PER_REQUEST,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> IngestReport:
    """The asyncio twin of :func:`ingest`; ``points`` may also be an async iterable."""
    _check_sizes(batch_size, concurrency, "batch_size")
    job = _IngestJob(batch_size, progress)
    if isinstance(points, AsyncIterable):
        read = job.async_reader(points)
    else:
        read_sync = job.reader(points)

        async def read() -> _Batch | None:
            return read_sync()

    try:
        await _run_as_tasks(
            job.state,
            read,
            lambda batch: client.time_series.write_checked(batch.points),
            job.settle,
            job.abandon,
            concurrency,
        )
    except BaseException as exc:
        job.close(interrupted=True)
        attach_partial(exc, job.report)
        raise
    job.close(interrupted=False)
    _stop_if_fatal(job.state, job.report)
    return job.report
