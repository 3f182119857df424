"""Bulk helpers against the local server: chunked lookups, bounded ingest, streaming export."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FAST_RETRY
from tests.dual import bulk_export, bulk_get_twins, bulk_ingest
from willow_ext import (
    AsyncWillowClient,
    RetryPolicy,
    WillowClient,
    aexport_time_series,
    aget_twins,
    aingest,
    ingest,
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
