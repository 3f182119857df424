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

from willow_ext import (
    AsyncWillowClient,
    AuthenticationError,
    RetryPolicy,
    aget_twins,
    aingest,
    get_twins,
    ingest,
    partial_result,
)

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


# ------------------------------------------------------------------ values the request encoder refuses


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


# Each passes the strict-JSON rules but orjson, which encodes the request body, refuses it: before
# the per-point check asked the encoder, the whole batch failed ("no response was received").
ENCODER_REFUSES: dict[str, tuple[dict[str, Any], str]] = {
    "lone-surrogate-connectorId": ({**_point(1), "connectorId": "\ud800"}, "connectorId"),
    "lone-surrogate-dtId": ({**_point(1), "dtId": "T-\udc00"}, "dtId"),
    "lone-surrogate-externalId": (
        {"externalId": "\ud800", "connectorId": "c", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1},
        "externalId",
    ),
    "lone-surrogate-extra-field": ({**_point(1), "unit": "\ud800"}, "unit"),
    "lone-surrogate-timestamp-separator": (
        {**_point(1), "sourceTimestamp": "2026-01-01\ud80000:00:00Z"},
        "sourceTimestamp",
    ),
    "lone-surrogate-nested-key": ({**_point(1), "properties": {"a": {"\udc00": 1}}}, "properties"),
    "non-string-top-level-key": ({**_point(1), 1: "x"}, "field name 1"),
    "300-deep-properties": ({**_point(1), "properties": _nested(300)}, "properties"),
    "1500-deep-properties": ({**_point(1), "properties": _nested(1500)}, "nested too deeply"),
}


@pytest.mark.parametrize("label", ENCODER_REFUSES)
def test_a_value_the_request_encoder_refuses_fails_only_its_point(serve: Any, label: str) -> None:
    bad, field_name = ENCODER_REFUSES[label]
    server = serve(lambda s: Reply(202, b""))
    with server.client(retry=NO_RETRY) as client:
        report = ingest(client, [_point(0), bad, _point(2)], batch_size=3)
    assert (report.sent, report.failed, report.requests) == (2, 1, 1), report
    assert report.failures[0].first_index == 1
    assert report.failures[0].reason.startswith("invalid point:")
    assert field_name in report.failures[0].reason
    assert _sent_points(server) == 2


@pytest.mark.parametrize("label", ["lone-surrogate-connectorId", "non-string-top-level-key", "300-deep-properties"])
async def test_async_a_value_the_request_encoder_refuses_fails_only_its_point(serve: Any, label: str) -> None:
    bad, field_name = ENCODER_REFUSES[label]
    server = serve(lambda s: Reply(202, b""))
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        report = await aingest(client, [_point(0), bad, _point(2)], batch_size=3)
    assert (report.sent, report.failed) == (2, 1), report
    assert field_name in report.failures[0].reason
    assert _sent_points(server) == 2


# ------------------------------------------------------------------ cancelled while waiting for in-flight work


def _breaks_on_second_call() -> Any:
    calls = {"n": 0}

    def progress(done: int, failed: int) -> None:
        calls["n"] += 1
        if calls["n"] >= 2:
            raise RuntimeError("progress bar broke")

    progress.calls = calls  # type: ignore[attr-defined]
    return progress


def _slow_503(seen: Seen) -> Reply:
    """T-0 is accepted; every other batch is answered 503 slowly, so it stays in flight, retrying."""
    return Reply(202, b"") if seen.json()[0]["dtId"] == "T-0" else Reply(503, b"busy", delay=0.3)


RETRY_LONG = RetryPolicy(max_attempts=8, backoff_initial=0.05, backoff_max=0.1, max_total_seconds=20)


def test_cancelling_aingest_while_it_waits_for_in_flight_batches_cancels_them(serve: Any) -> None:
    server = serve(_slow_503)

    async def source() -> Any:
        yield _point(0)
        await asyncio.sleep(0.2)  # batch 1 succeeds
        yield _point(1)
        await asyncio.sleep(0.1)  # batch 2 is in flight
        raise RuntimeError("source broke")

    async def scenario() -> tuple[BaseException, int, int, int]:
        async with AsyncWillowClient(**server.kwargs(retry=RETRY_LONG)) as client:
            job = asyncio.ensure_future(aingest(client, source(), batch_size=1, concurrency=2))
            await asyncio.sleep(0.6)  # the source has raised; aingest waits for batch 2
            job.cancel()
            try:
                await job
            except BaseException as exc:
                error = exc
            at_return = len(server.api())
            await asyncio.sleep(1.0)
            orphans = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
            for task in orphans:
                task.cancel()
            await asyncio.gather(*orphans, return_exceptions=True)
            return error, at_return, len(server.api()), len(orphans)

    error, at_return, later, orphans = asyncio.run(scenario())
    gc.collect()  # see test_cancelling_aingest_leaves_no_task_sending
    assert isinstance(error, asyncio.CancelledError)
    assert (orphans, later) == (0, at_return)  # nothing keeps sending after aingest raised
    report = partial_result(error)
    assert (report.sent, report.failed, report.unsent) == (1, 1, 0), report  # both points read are accounted
    assert "cancelled" in report.failures[0].reason


def test_cancelling_aget_twins_while_it_waits_for_in_flight_chunks_cancels_them(serve: Any) -> None:
    def api(seen: Seen) -> Reply:
        ids = seen.json()
        if ids in (["T-0"], ["T-1"]):
            return jreply([{"id": ids[0], "modelId": "dtmi:a;1"}])
        return Reply(503, b"busy", delay=0.3)

    server = serve(api)
    progress = _breaks_on_second_call()  # on T-1: the job stops and waits for T-2 and T-3 in flight

    async def scenario() -> tuple[BaseException, int, int, int]:
        async with AsyncWillowClient(**server.kwargs(retry=RETRY_LONG)) as client:
            ids = [f"T-{i}" for i in range(6)]
            job = asyncio.ensure_future(aget_twins(client, ids, chunk_size=1, concurrency=3, progress=progress))
            await asyncio.sleep(0.6)
            job.cancel()
            try:
                await job
            except BaseException as exc:
                error = exc
            at_return = len(server.api())
            await asyncio.sleep(1.0)
            orphans = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
            for task in orphans:
                task.cancel()
            await asyncio.gather(*orphans, return_exceptions=True)
            return error, at_return, len(server.api()), len(orphans)

    error, at_return, later, orphans = asyncio.run(scenario())
    gc.collect()
    assert isinstance(error, asyncio.CancelledError)
    assert (orphans, later) == (0, at_return)
    lookup = partial_result(error)
    assert sorted(lookup.found) == ["T-0", "T-1"]
    assert not lookup.missing  # cancelled chunks were never answered: not "left out by the server"
    assert progress.calls["n"] == 2  # a callback that raised is not called again


# ------------------------------------------------------------------ a progress callback that raises


def test_a_raising_progress_callback_stops_ingest_with_a_complete_report(serve: Any) -> None:
    server = serve(lambda s: Reply(202, b"", delay=0.05))
    read = {"n": 0}

    def points() -> Iterator[dict[str, Any]]:
        for i in range(40):
            read["n"] += 1
            yield _point(i)

    progress = _breaks_on_second_call()
    with server.client(retry=NO_RETRY) as client, pytest.raises(RuntimeError, match="progress bar broke") as info:
        ingest(client, points(), batch_size=1, concurrency=4, progress=progress)
    report = partial_result(info.value)
    count = len(server.api())
    time.sleep(0.3)
    assert len(server.api()) == count  # stopped: nothing sent after it raised
    assert report.sent == _sent_points(server)  # every point the server took is reported sent
    assert report.read == read["n"]  # every point read is accounted for
    assert progress.calls["n"] == 2


async def test_async_a_raising_progress_callback_stops_aingest_with_a_complete_report(serve: Any) -> None:
    server = serve(lambda s: Reply(202, b"", delay=0.05))
    progress = _breaks_on_second_call()
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        with pytest.raises(RuntimeError, match="progress bar broke") as info:
            await aingest(client, [_point(i) for i in range(40)], batch_size=1, concurrency=4, progress=progress)
    report = partial_result(info.value)
    assert report.sent == _sent_points(server)
    assert report.read == report.sent + report.failed + report.unsent
    assert report.sent + report.failed + report.unsent <= 40
    assert progress.calls["n"] == 2


def _twins_by_ids(seen: Seen) -> Reply:
    return jreply([{"id": i, "modelId": "dtmi:a;1"} for i in seen.json()])


def test_a_raising_progress_callback_loses_no_twin_of_get_twins(serve: Any) -> None:
    server = serve(_twins_by_ids)
    progress = _breaks_on_second_call()
    with server.client(retry=NO_RETRY) as client, pytest.raises(RuntimeError, match="progress bar broke") as info:
        get_twins(client, [f"T-{i}" for i in range(40)], chunk_size=1, concurrency=4, progress=progress)
    lookup = partial_result(info.value)
    answered = [i for s in server.api() for i in s.json()]
    assert sorted(lookup.found) == sorted(answered)  # every twin the server returned is found
    assert not lookup.missing
    assert len(lookup.found) + len(lookup.not_sent) == 40


async def test_async_a_raising_progress_callback_loses_no_twin_of_aget_twins(serve: Any) -> None:
    server = serve(_twins_by_ids)
    progress = _breaks_on_second_call()
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        with pytest.raises(RuntimeError, match="progress bar broke") as info:
            await aget_twins(client, [f"T-{i}" for i in range(40)], chunk_size=1, concurrency=4, progress=progress)
    lookup = partial_result(info.value)
    answered = [i for s in server.api() for i in s.json()]
    assert sorted(lookup.found) == sorted(answered)
    assert not lookup.missing
    assert len(lookup.found) + len(lookup.not_sent) == 40


def test_ctrl_c_landing_in_the_progress_callback_keeps_the_report_complete(serve: Any) -> None:
    """The callback runs on the calling thread, where Ctrl-C lands; the points already sent stay in the report."""
    server = serve(lambda s: Reply(202, b"", delay=0.05))
    calls = {"n": 0}

    def progress(done: int, failed: int) -> None:
        calls["n"] += 1
        if calls["n"] >= 2:  # a held Ctrl-C: every later call is interrupted too
            raise KeyboardInterrupt

    with server.client(retry=NO_RETRY) as client, pytest.raises(KeyboardInterrupt) as info:
        ingest(client, [_point(i) for i in range(40)], batch_size=1, concurrency=4, progress=progress)
    report = partial_result(info.value)
    count = len(server.api())
    time.sleep(0.3)
    assert len(server.api()) == count
    assert report.sent == _sent_points(server)
    assert report.sent + report.failed + report.unsent == report.read
    assert calls["n"] == 2  # the callback is not called again once it raised
