"""Class 8: bulk work accounts for everything: interruptions, bad points, auth failures."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from willow_ext import AsyncWillowClient, AuthenticationError, RetryPolicy, aingest, ingest, partial_result

from .conftest import NO_RETRY, Reply, Seen, jreply


def _point(i: int, value: Any = 1.0) -> dict[str, Any]:
    return {"connectorId": "c", "dtId": f"T-{i}", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": value}


def _strict_sink(seen: Seen) -> Reply:
    """Refuses a batch that holds NaN/Infinity, like a strict JSON server."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        json.loads(seen.body, parse_constant=refuse)
    except ValueError:
        return jreply({"title": "Invalid JSON"}, 400)
    return Reply(204, b"")


def _sent_points(server: Any) -> int:
    return sum(len(s.json()) for s in server.api() if s.method == "POST" and s.body and s.json() is not None)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "minus-inf"])
def test_one_non_finite_value_is_refused_locally_and_its_batch_still_goes(serve: Any, value: float) -> None:
    server = serve(_strict_sink)
    with server.client() as client:
        report = ingest(client, [_point(0), _point(1, value), _point(2)], batch_size=10)
    assert report.sent == 2
    assert report.failed == 1
    assert report.failures[0].first_index == 1


def test_a_value_json_cannot_carry_is_refused_locally(serve: Any) -> None:
    server = serve(_strict_sink)
    with server.client() as client:
        report = ingest(client, [_point(0), _point(1, {"x": {1, 2}}), _point(2)], batch_size=10)
    assert report.sent == 2
    assert report.failed == 1


def test_invalid_points_are_reported_and_the_rest_sent(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""))
    points = [_point(0), {"scalarValue": 1}, _point(2), {**_point(3), "dtId": ""}, _point(4)]
    with server.client() as client:
        report = ingest(client, points, batch_size=2)
    assert report.sent == 3
    assert report.failed == 2
    assert sorted(f.first_index for f in report.failures) == [1, 3]
    assert _sent_points(server) == 3


def test_a_failing_batch_is_accounted_and_the_others_sent(serve: Any) -> None:
    def sink(seen: Seen) -> Reply:
        return jreply({"title": "boom"}, 500) if seen.json()[0]["dtId"] == "T-2" else Reply(204, b"")

    server = serve(sink)
    with server.client(retry=NO_RETRY) as client:
        report = ingest(client, [_point(i) for i in range(6)], batch_size=2, concurrency=2)
    assert report.sent == 4
    assert report.failed == 2
    assert "500" in report.failures[0].reason
    assert report.sent + report.failed == 6


def _failing_source(after: int, error: BaseException) -> Iterator[dict[str, Any]]:
    for i in range(after):
        yield _point(i)
    raise error


def test_a_source_error_raises_with_the_report_attached(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""))
    with server.client() as client, pytest.raises(Exception) as info:  # noqa: PT011
        ingest(client, _failing_source(5, RuntimeError("disk gone")), batch_size=2)
    assert isinstance(info.value, RuntimeError)  # the caller's own error, as raised
    report = partial_result(info.value)
    assert report.sent >= 2  # the first batch went; the second may have been cancelled before sending
    assert report.sent + report.failed + report.unsent == 5  # every point read is accounted for


def test_nothing_is_sent_after_ingest_raised_from_its_source(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b"", delay=0.1))
    with server.client() as client, pytest.raises(RuntimeError):
        ingest(client, _failing_source(8, RuntimeError("disk gone")), batch_size=2, concurrency=4)
    count = len(server.api())
    time.sleep(0.4)
    assert len(server.api()) == count


def test_keyboard_interrupt_from_the_source_propagates_and_stops_sending(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b"", delay=0.05))
    with server.client() as client, pytest.raises(KeyboardInterrupt):
        ingest(client, _failing_source(6, KeyboardInterrupt()), batch_size=2)
    count = len(server.api())
    time.sleep(0.3)
    assert len(server.api()) == count


async def test_async_source_error_raises_with_the_report_attached(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""))

    async def source() -> Any:
        for i in range(5):
            yield _point(i)
        raise RuntimeError("stream broke")

    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(Exception) as info:  # noqa: PT011
            await aingest(client, source(), batch_size=2)
    report = partial_result(info.value)
    assert report.sent == 4
    assert report.sent + report.failed + report.unsent == 5


def test_cancelling_aingest_leaves_no_task_sending(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"busy", delay=0.15))
    policy = RetryPolicy(max_attempts=6, backoff_initial=0.01, backoff_max=0.02, max_total_seconds=5)

    async def scenario() -> int:
        async with AsyncWillowClient(**server.kwargs(retry=policy)) as client:
            job = asyncio.ensure_future(aingest(client, [_point(i) for i in range(8)], batch_size=2, concurrency=4))
            await asyncio.sleep(0.25)
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
            # Batch tasks still alive after aingest was cancelled would keep sending (and retrying).
            orphans = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
            for task in orphans:  # clean up here, so no orphan runs while a failure is reported
                task.cancel()
            await asyncio.gather(*orphans, return_exceptions=True)
            return len(orphans)

    orphans = asyncio.run(scenario())
    # Collect now: a task finalizer that logs a traceback during pytest's own traceback formatting
    # re-enters ast.parse and trips CPython 3.11.7 ("AST constructor recursion depth mismatch").
    gc.collect()
    assert orphans == 0


def test_a_wrong_secret_costs_one_token_request_for_the_whole_job(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""), token=lambda s: jreply({"error": "invalid_client"}, 401))
    with server.client() as client, contextlib.suppress(AuthenticationError):
        ingest(client, [_point(i) for i in range(20)], batch_size=2, concurrency=4)
    assert len(server.tokens()) == 1
    assert not server.api()


def test_a_wrong_secret_stops_the_job_with_authentication_error(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""), token=lambda s: jreply({"error": "invalid_client"}, 401))
    with server.client() as client, pytest.raises(AuthenticationError):
        ingest(client, [_point(i) for i in range(20)], batch_size=2, concurrency=4)


async def test_async_wrong_secret_stops_the_job_with_authentication_error(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""), token=lambda s: jreply({"error": "invalid_client"}, 401))
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(AuthenticationError):
            await aingest(client, [_point(i) for i in range(20)], batch_size=2, concurrency=4)


async def test_async_every_point_is_accounted_with_a_flaky_server(serve: Any) -> None:
    calls = {"n": 0}

    def sink(seen: Seen) -> Reply:
        calls["n"] += 1
        return jreply({"title": "no"}, 400) if calls["n"] % 3 == 0 else Reply(204, b"")

    server = serve(sink)
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        report = await aingest(client, [_point(i) for i in range(30)], batch_size=3, concurrency=3)
    assert report.sent + report.failed == 30
    assert report.failed == 9
