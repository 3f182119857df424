"""Retry policy (pure decisions) and the wrapping transports, over MockTransport and real loopback."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import FAST_RETRY
from tests.validating import api_transport
from willow_ext import (
    APIConnectionError,
    AsyncWillowClient,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
    ThrottlePolicy,
    WillowClient,
)
from willow_ext._retry import backoff_delay, decide_retry, is_replay_safe, parse_retry_after
from willow_ext.testing import LocalWillow

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "Thu, 01 Jan 2026 12:00:30 GMT"}, 30.0),
        ({"retry-after": "Thu, 01 Jan 2026 11:00:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "junk", "retry-after": "2"}, 2.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers), now=NOW) == expected


@pytest.mark.parametrize(
    ("method", "path", "safe"),
    [
        ("GET", "/twins/x", True),
        ("POST", "/twins", True),
        ("POST", "/twins/ids", True),
        ("POST", "/insights", True),
        ("POST", "/time-series", True),
        ("PUT", "/twins", True),
        ("PUT", "/twins/relationships", True),
        ("PUT", "/events", True),
        ("DELETE", "/events", True),
        ("PATCH", "/tickets/T-1", True),
        ("PUT", "/tickets", False),
        ("PUT", "/tickets/categories", False),
        ("PATCH", "/twins/x", False),
        ("POST", "/events/files", False),
    ],
)
def test_replay_safety_per_operation(method: str, path: str, safe: bool) -> None:
    assert is_replay_safe(method, path) is safe


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {})


POLICY = RetryPolicy()


@pytest.mark.parametrize(
    ("kwargs", "retry"),
    [
        ({"response": _response(200)}, False),
        ({"response": _response(404)}, False),
        ({"response": _response(500)}, False),
        ({"response": _response(429)}, True),
        ({"response": _response(408)}, True),
        ({"response": _response(502)}, True),
        ({"response": _response(503)}, True),
        ({"response": _response(504)}, True),
        ({"response": _response(429, {"retry-after": "3600"})}, False),
        ({"response": _response(503), "replay_safe": False}, False),
        ({"response": _response(429), "replay_safe": False}, True),
        ({"error": httpx.ConnectError("refused")}, True),
        ({"error": httpx.ReadError("reset")}, True),
        ({"error": httpx.ReadTimeout("slow")}, True),
        ({"error": httpx.ReadError("reset"), "replay_safe": False}, False),
        ({"error": httpx.ConnectError("refused"), "replay_safe": False}, True),
        ({"error": httpx.PoolTimeout("busy"), "replay_safe": False}, True),
        ({"response": _response(503), "attempt": 8}, False),
        ({"response": _response(503), "elapsed": 59.9}, False),
    ],
)
def test_decide_retry_table(kwargs: dict[str, object], retry: bool) -> None:
    arguments: dict[str, object] = {"attempt": 1, "elapsed": 0.0, "replay_safe": True, **kwargs}
    assert decide_retry(POLICY, rand=lambda: 0.5, **arguments).retry is retry  # type: ignore[arg-type]


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert [backoff_delay(POLICY, n, rand=lambda: 0.5) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    low, high = backoff_delay(POLICY, 2, rand=lambda: 0.0), backoff_delay(POLICY, 2, rand=lambda: 1.0)
    assert (low, high) == (0.75, 1.25)


def test_retry_after_is_honoured_when_within_the_maximum() -> None:
    decision = decide_retry(
        POLICY, attempt=1, elapsed=0, replay_safe=True, response=_response(429, {"retry-after": "2"})
    )
    assert (decision.retry, decision.delay) == (True, 2.0)


# --------------------------------------------------------------------------- transport behaviour


def _scripted(
    statuses: list[int | Exception], headers: dict[str, str] | None = None
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler answering the scripted statuses for API calls, then 200 (use with api_transport)."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if statuses:
            outcome = statuses.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return httpx.Response(outcome, text="Rate limit exceeded for twins endpoint.", headers=headers or {})
        return httpx.Response(200, json={"id": "T-1", "modelId": "dtmi:x;1"})

    return handler, calls


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
    policy: RetryPolicy,
    sleeps: list[float],
    throttle: ThrottlePolicy | None = None,
) -> WillowClient:
    client = WillowClient(
        base_url="https://unit.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=api_transport(handler),
        retry=policy,
        # These tests are about retry decisions; the throttle is tested on its own and below.
        throttle=throttle or ThrottlePolicy.disabled(),
    )
    client.http_client._transport._sleep = sleeps.append  # type: ignore[attr-defined]
    return client


def test_a_storm_of_five_429s_then_success_completes_with_the_default_policy() -> None:
    handler, calls = _scripted([429] * 5)
    sleeps: list[float] = []
    with _client(handler, RetryPolicy(), sleeps) as client:
        assert client.twins.get("T-1").id == "T-1"
    assert len(calls) == 6
    assert len(sleeps) == 5
    # No Retry-After: exponential backoff that spans more than Willow's 10-second window.
    assert sum(sleeps) > 10
    # Each sleep at least 1.1x the last (2x nominal, jitter of +-25% can narrow it to exactly 1.2x).
    assert all(b >= a * 1.1 for a, b in itertools.pairwise(sleeps[:4]))
    assert client.retry_stats.retries == 5


def test_a_429_on_a_throttled_path_waits_for_the_next_window_instead_of_backing_off() -> None:
    handler, calls = _scripted([429] * 3)
    sleeps: list[float] = []
    window = 0.4
    throttle = ThrottlePolicy(limit=20, window=window)
    with _client(handler, RetryPolicy(), sleeps, throttle=throttle) as client:
        assert client.twins.get("T-1").id == "T-1"
    assert len(calls) == 4
    # The retry waits what the throttle says is left of its window, not 0.5, 1, 2 s of backoff.
    assert len(sleeps) == 3
    assert all(0 <= delay <= window + 1e-6 for delay in sleeps), sleeps
    assert client.throttle_stats.rate_limited == 3


def test_retry_after_3600_is_not_slept_on_and_the_429_is_raised_at_once() -> None:
    handler, calls = _scripted([429], {"retry-after": "3600"})
    sleeps: list[float] = []
    with _client(handler, RetryPolicy(), sleeps) as client, pytest.raises(RateLimitError) as info:
        client.twins.get("T-1")
    assert len(calls) == 1
    assert sleeps == []
    assert "Rate limit exceeded" in str(info.value)


def test_retry_after_ms_sets_the_sleep() -> None:
    handler, _ = _scripted([503], {"retry-after-ms": "120"})
    sleeps: list[float] = []
    with _client(handler, RetryPolicy(), sleeps) as client:
        client.twins.get("T-1")
    assert sleeps == [0.12]


def test_retries_give_up_after_max_attempts_and_raise_the_last_error() -> None:
    handler, calls = _scripted([503] * 20)
    sleeps: list[float] = []
    with _client(handler, RetryPolicy(max_attempts=4), sleeps) as client, pytest.raises(InternalServerError):
        client.twins.get("T-1")
    assert len(calls) == 4


def test_connection_errors_are_retried_then_raised_typed() -> None:
    handler, calls = _scripted([httpx.ConnectError("refused")] * 3)
    sleeps: list[float] = []
    with _client(handler, FAST_RETRY, sleeps) as client:
        assert client.twins.get("T-1").id == "T-1"
    handler, calls = _scripted([httpx.ConnectError("refused")] * 30)
    with _client(handler, RetryPolicy(max_attempts=3), []) as client, pytest.raises(APIConnectionError):
        client.twins.get("T-1")
    assert len(calls) == 3


# --------------------------------------------------------------------------- real HTTP on loopback


def test_connection_reset_mid_body_is_retried_for_a_get(willow: LocalWillow, client: WillowClient) -> None:
    client.twins.get("AHU-1")  # token first
    willow.faults.queue[:] = ["reset", "reset"]
    before = willow.app.stats.requests
    assert client.twins.get("AHU-1").id == "AHU-1"
    assert willow.app.stats.requests - before == 3
    assert willow.app.stats.faults["reset"] == 2


def test_a_create_is_not_replayed_after_a_503_or_a_reset(willow: LocalWillow, client: WillowClient) -> None:
    client.twins.get("AHU-1")
    count = len(willow.store.tickets)
    willow.faults.queue[:] = ["503"]
    with pytest.raises(InternalServerError):
        client.tickets.create({"summary": "Leak on level 2"})
    willow.faults.queue[:] = ["reset"]
    with pytest.raises(APIConnectionError):
        client.tickets.create({"summary": "Leak on level 2"})
    assert willow.app.stats.faults == {"503": 1, "reset": 1}
    # Both attempts reached the server exactly once each; a reset request may or may not have been stored.
    assert len(willow.store.tickets) - count <= 1
    willow.faults.queue[:] = ["429"]  # a 429 was rejected before processing: safe to retry even for a create
    assert client.tickets.create({"summary": "Leak on level 2"}).summary == "Leak on level 2"


def test_timeouts_are_retried_for_reads(willow: LocalWillow) -> None:
    willow.faults.stall_seconds = 1.0
    with WillowClient(**willow.client_kwargs(retry=FAST_RETRY, timeout=0.3)) as client:
        client.twins.get("AHU-1")
        willow.faults.queue[:] = ["timeout"]
        started = time.monotonic()
        assert client.twins.get("AHU-1").id == "AHU-1"
        assert time.monotonic() - started < 5


def test_no_connections_leak_after_retries(willow: LocalWillow, client: WillowClient) -> None:
    client.twins.get("AHU-1")
    willow.faults.queue[:] = ["503", "429", "reset", "503", "reset"]
    for _ in range(5):
        client.twins.get("AHU-1")
    # retries -> throttle -> body-size cap -> the network transport and its pool
    pool = client.http_client._transport._transport._transport._transport._pool  # type: ignore[attr-defined]
    assert all(connection.is_idle() or connection.is_closed() for connection in pool.connections)
    assert len(pool.connections) <= 2


async def test_async_client_rides_a_429_burst(willow: LocalWillow) -> None:
    willow.faults.burst_429 = 5
    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        twin = await client.twins.get("AHU-1")
    assert twin.id == "AHU-1"
    assert client.retry_stats.by_reason == {"HTTP 429": 5}
