"""Bulk helpers against the local server: chunked lookups, bounded ingest, streaming export."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FAST_RETRY
from tests.dual import AsyncAsSync, LoopThread, bulk_export, bulk_get_twins, bulk_ingest
from willow_ext import (
    AsyncWillowClient,
    AuthenticationError,
    IngestReport,
    InvalidRequestError,
    RetryPolicy,
    TwinLookup,
    WillowClient,
    aexport_time_series,
    aget_twins,
    aingest,
    ingest,
    partial_result,
)
from willow_ext.testing import LocalWillow

BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def points(count: int, twins: int = 10, start: int = 0) -> Iterator[dict[str, Any]]:
    for index in range(start, start + count):
        yield {
            "connectorId": "CON-BULK",
            "dtId": f"PNT-BULK-{index % twins}",
            "sourceTimestamp": (BASE + dt.timedelta(seconds=index // twins)).isoformat(),
            "scalarValue": index,
        }


def test_get_twins_chunks_and_reports_the_ids_the_server_left_out(willow: LocalWillow, client: WillowClient) -> None:
    for index in range(230):
        willow.store.upsert_twin({"id": f"TW-{index}", "modelId": "dtmi:com:willowinc:Room;1", "contents": {}})
    wanted = [f"TW-{i}" for i in range(230)] + ["ghost-1", "TW-5", "ghost-2"]
    result = bulk_get_twins(client, wanted, chunk_size=50, concurrency=3)
    assert list(result.found) == [f"TW-{i}" for i in range(230)]
    assert result.missing == ["ghost-1", "ghost-2"]
    assert willow.app.stats.by_operation["POST /twins/ids"] == math.ceil(232 / 50)


def test_ingest_sends_everything_from_a_generator_once(willow: LocalWillow, client: WillowClient) -> None:
    report = bulk_ingest(client, points(20_000), batch_size=700, concurrency=4)
    assert report.ok, str(report)
    assert (report.sent, report.failed, report.requests) == (20_000, 0, math.ceil(20_000 / 700))
    stored = sum(len(willow.store.telemetry[f"PNT-BULK-{i}"][0]) for i in range(10))
    assert stored == 20_000


def test_ingest_applies_backpressure(willow: LocalWillow, client: WillowClient) -> None:
    consumed = 0
    lead: list[int] = []

    def watched() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for point in points(10_000):
            consumed += 1
            lead.append(consumed - willow.store.points_received)
            yield point

    report = bulk_ingest(client, watched(), batch_size=250, concurrency=3)
    assert report.sent == 10_000
    # Never more than the in-flight batches plus the one being built ahead of the server.
    assert max(lead) <= (3 + 1) * 250 + 1


@pytest.mark.expect_rejections
def test_ingest_reports_local_rejections_and_failed_batches(willow: LocalWillow) -> None:
    mixed: list[Any] = list(points(100))
    mixed[10] = {"connectorId": "C", "sourceTimestamp": BASE.isoformat(), "scalarValue": 1}  # no twin reference
    mixed[20] = {"connectorId": "C", "dtId": "X", "sourceTimestamp": "tomorrow", "scalarValue": 1}  # bad timestamp
    mixed[30] = "not a point"
    with WillowClient(**willow.client_kwargs(retry=RetryPolicy.disabled())) as client:
        client.twins.get("AHU-1")  # take the token before the fault
        willow.faults.queue[:] = ["503"]
        report = ingest(client, mixed, batch_size=40, concurrency=1)
    reasons = {f.first_index: f.reason for f in report.failures}
    assert "neither dtId nor externalId" in reasons[10]
    assert "'tomorrow' is not ISO 8601" in reasons[20]
    assert "expected TimeSeriesWrite or a dict" in reasons[30]
    assert reasons[0].startswith("InternalServerError")  # the first batch hit the injected 503
    assert report.sent + report.failed == 100
    assert report.failed == 3 + 40
    assert "failed" in str(report)


def test_export_streams_every_point_of_many_twins(willow: LocalWillow, client: WillowClient) -> None:
    capabilities = [t for t in willow.store.twins if t.startswith("PNT-")]
    now = dt.datetime.now(dt.UTC)
    seen: list[int] = []
    exported = list(
        bulk_export(
            client,
            capabilities,
            now - dt.timedelta(days=2),
            now,
            page_size=200,
            ids_per_request=5,
            progress=seen.append,
        )
    )
    assert len(capabilities) == 16
    assert len(exported) == 16 * 97
    assert seen[-1] == 16 * 97


async def test_async_bulk_helpers(willow: LocalWillow) -> None:
    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        lookup = await aget_twins(client, ["AHU-1", "nope", "AHU-2"], chunk_size=1)
        assert (list(lookup.found), lookup.missing) == (["AHU-1", "AHU-2"], ["nope"])

        async def stream() -> Any:
            for point in points(3_000):
                yield point

        report = await aingest(client, stream(), batch_size=500, concurrency=3)
        assert (report.sent, report.requests) == (3_000, 6)
        report = await aingest(client, points(1_000, start=3_000), batch_size=300)
        assert report.sent == 1_000
        exported = [
            p
            async for p in aexport_time_series(
                client, [f"PNT-BULK-{i}" for i in range(10)], BASE, BASE + dt.timedelta(hours=1), page_size=250
            )
        ]
    assert len(exported) == 4_000


async def test_async_ingest_reports_input_positions_across_chunks(willow: LocalWillow) -> None:
    async def stream() -> Any:
        for index, point in enumerate(points(1_000)):
            yield point if index != 777 else {**point, "dtId": None}  # no twin reference: refused locally

    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        report = await aingest(client, stream(), batch_size=100)
    assert [(f.first_index, len(f.points)) for f in report.failures] == [(777, 1)]
    assert report.sent == 999


# ------------------------------------------------------------------ nothing finished is discarded


def _clients(willow: LocalWillow, mode: str, **kwargs: Any) -> Any:
    """A sync client, or an async one behind the sync-looking facade (tests/dual.py)."""
    if mode == "sync":
        return WillowClient(**willow.client_kwargs(retry=FAST_RETRY, **kwargs))
    return AsyncAsSync(AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY, **kwargs)), LoopThread())


def _close(client: Any) -> None:
    client.close()
    if isinstance(client, AsyncAsSync):
        client.runner.stop()


def test_get_twins_reports_a_failed_chunk_and_keeps_the_rest(willow: LocalWillow, client: WillowClient) -> None:
    for index in range(230):
        willow.store.upsert_twin({"id": f"TW-{index}", "modelId": "dtmi:com:willowinc:Room;1", "contents": {}})
    client.twins.get("AHU-1")  # the token, before the fault
    willow.faults.queue[:] = ["503"]  # the first chunk fails for good (no retries below)
    seen: list[tuple[int, int]] = []
    result = bulk_get_twins(
        client.with_options(max_retries=0),
        [f"TW-{i}" for i in range(230)] + ["ghost"],
        chunk_size=50,
        concurrency=3,
        progress=lambda done, failed: seen.append((done, failed)),
    )
    assert [f.ids for f in result.failures] == [[f"TW-{i}" for i in range(50)]]
    assert type(result.failures[0].error).__name__ == "InternalServerError"
    assert "InternalServerError" in result.failures[0].reason
    assert list(result.found) == [f"TW-{i}" for i in range(50, 230)]
    assert result.missing == ["ghost"]  # left out by the server, not the failed chunk's ids
    assert result.failed_ids == [f"TW-{i}" for i in range(50)]
    assert not result.ok
    assert seen[-1] == (181, 50)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_auth_failure_stops_at_once_with_the_partial_result(willow: LocalWillow, mode: str) -> None:
    client = _clients(willow, mode, client_secret="wrong")
    try:
        with pytest.raises(AuthenticationError) as raised:
            bulk_get_twins(client, [f"TW-{i}" for i in range(1_000)], chunk_size=10, concurrency=8)
        lookup = partial_result(raised.value)
        assert isinstance(lookup, TwinLookup)
        assert len(lookup.failed_ids) == 10  # the one chunk sent (slow start), then nothing
        assert len(lookup.not_sent) == 990
        assert willow.app.stats.by_operation.get("POST /oauth2/token") == 1
        assert "POST /twins/ids" not in willow.app.stats.by_operation

        with pytest.raises(AuthenticationError) as raised:
            bulk_ingest(client, points(5_000), batch_size=100, concurrency=4)
        report = raised.value.partial  # type: ignore[attr-defined]
        assert isinstance(report, IngestReport)
        assert (report.sent, report.failed, report.unsent) == (0, 100, 0)  # only one batch was read
        # The refusal is remembered for a moment (no stampede of token requests): at most one more try.
        assert willow.app.stats.by_operation.get("POST /oauth2/token") in (1, 2)
    finally:
        _close(client)


class SourceBrokeError(Exception):
    pass


def test_ingest_accounts_for_every_point_when_the_source_raises(willow: LocalWillow, client: WillowClient) -> None:
    def broken() -> Iterator[dict[str, Any]]:
        yield from points(2_550)
        raise SourceBrokeError("disk gone")

    before = willow.store.points_received  # the seeded building's points
    with pytest.raises(SourceBrokeError) as raised:
        bulk_ingest(client, broken(), batch_size=500, concurrency=3)
    report = partial_result(raised.value)
    assert isinstance(report, IngestReport)
    # Five full batches were sent before the source broke; the 50 points read after are reported.
    assert (report.sent, report.failed, report.unsent) == (2_500, 0, 50)
    assert report.not_sent[0].first_index == 2_500
    assert report.read == 2_550
    received = willow.store.points_received - before
    assert received == 2_500
    time.sleep(0.2)
    assert willow.store.points_received - before == received  # nothing kept sending afterwards
    assert "partial result" in "".join(getattr(raised.value, "__notes__", []))


def test_sync_ingest_interrupted_by_keyboard_interrupt_finishes_in_flight_batches(willow: LocalWillow) -> None:
    willow.faults.slow_seconds = 0.05
    before = willow.store.points_received

    def interrupted() -> Iterator[dict[str, Any]]:
        for index, point in enumerate(points(3_000)):
            if index == 1_750:
                raise KeyboardInterrupt
            yield point

    with WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client, pytest.raises(KeyboardInterrupt) as raised:
        ingest(client, interrupted(), batch_size=250, concurrency=4)
    report = raised.value.partial  # type: ignore[attr-defined]
    assert report.read == 1_750
    assert report.sent + report.unsent == 1_750
    assert report.failed == 0
    assert willow.store.points_received - before == report.sent
    time.sleep(0.3)
    assert willow.store.points_received - before == report.sent


async def test_cancelled_aingest_cancels_in_flight_batches_and_reports(willow: LocalWillow) -> None:
    willow.faults.slow_seconds = 0.2
    before = willow.store.points_received
    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        await client.twins.get("AHU-1")
        job = asyncio.ensure_future(aingest(client, points(10_000), batch_size=100, concurrency=4))
        while willow.store.points_received - before < 300:  # noqa: ASYNC110 - polling the server's count
            await asyncio.sleep(0.02)
        job.cancel()
        with pytest.raises(asyncio.CancelledError) as raised:
            await job
    report = raised.value.partial  # type: ignore[attr-defined]
    assert isinstance(report, IngestReport)
    cancelled = sum(len(f.points) for f in report.failures if f.reason.startswith("cancelled in flight"))
    assert cancelled > 0
    assert report.sent + report.failed + report.unsent == report.read
    await asyncio.sleep(0.5)
    settled = willow.store.points_received - before
    # Every stored point is either reported sent or among the cancelled ones (a request already on
    # the wire may have landed); nothing else was sent.
    assert report.sent <= settled <= report.sent + cancelled
    await asyncio.sleep(0.5)
    assert willow.store.points_received - before == settled


def test_one_bad_value_is_refused_locally_and_never_fails_its_batch(willow: LocalWillow, client: WillowClient) -> None:
    mixed: list[Any] = list(points(50))
    mixed[3] = {**mixed[3], "scalarValue": math.nan}
    mixed[4] = {**mixed[4], "scalarValue": math.inf}
    mixed[5] = {**mixed[5], "scalarValue": -math.inf}
    mixed[6] = {**mixed[6], "scalarValue": {"nested": math.nan}}
    mixed[7] = {**mixed[7], "properties": {"when": object()}}
    mixed[8] = {**mixed[8], "dtId": None}
    before = willow.store.points_received
    report = bulk_ingest(client, mixed, batch_size=50)
    reasons = {f.first_index: f.reason for f in report.failures}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "nan" in reasons[3]
    assert "inf" in reasons[4]
    assert "JSON" in reasons[6]
    assert "properties" in reasons[7]
    assert (report.sent, report.requests) == (44, 1)
    assert willow.store.points_received - before == 44


def test_bad_arguments_are_typed_errors(client: WillowClient) -> None:
    for kwargs in ({"concurrency": 0}, {"batch_size": 0}, {"batch_size": True}):
        with pytest.raises(InvalidRequestError):
            bulk_ingest(client, points(1), **kwargs)
    with pytest.raises(InvalidRequestError):
        bulk_get_twins(client, ["AHU-1"], chunk_size=0)


@pytest.mark.parametrize(
    ("point", "named"),
    [
        ({"connectorId": "\ud800"}, "connectorId"),
        ({"unit": "x\udfff"}, "unit"),
        ({1: "x"}, "field name 1"),
        ({"properties": {"k": {"\ud800": 1}}}, "properties"),
    ],
)
def test_json_value_problem_asks_the_request_encoder_and_names_the_field(point: dict[Any, Any], named: str) -> None:
    from willow_ext._bulk import json_value_problem

    base = {"dtId": "T-1", "connectorId": "c", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1.0}
    problem = json_value_problem({**base, **point})
    assert problem is not None
    assert named in problem
    assert json_value_problem(base) is None
