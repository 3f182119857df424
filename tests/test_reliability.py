"""Reliability under a hostile network, bounded in time: 20% faults (429, 503, resets, timeouts)
and tokens that expire every few seconds. Nothing may be lost or duplicated."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.validating import api_transport
from willow_ext import (
    APITimeoutError,
    AsyncWillowClient,
    ResponseValidationError,
    RetryPolicy,
    WillowClient,
    aingest,
    ingest,
)
from willow_ext._redact import register_secret
from willow_ext.testing import FaultConfig, LocalWillow, add_insight_trees

HOSTILE = FaultConfig(
    error_rate=0.2,
    kinds={"429": 1, "503": 1, "reset": 1, "timeout": 1},
    # An injected "timeout" stalls well past the client's 1 s read timeout; the margin keeps a
    # loaded machine's ordinary slowness from passing for an injected fault.
    stall_seconds=2.0,
    token_lifetime=3.0,
    seed=20261125,
)
POLICY = RetryPolicy(backoff_initial=0.01, backoff_max=0.2, max_attempts=10, max_total_seconds=60)
BASE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def crowded_secret_registry() -> None:
    """The masking registry as a long-lived process leaves it: many earlier tokens and a few very
    long secrets. Run after the whole suite (which once registered a 1 MB bogus token), every token
    refresh took seconds inside the token lock and the 100k ingest stalled; alone it passed."""
    for _ in range(200):
        register_secret(secrets.token_urlsafe(32))
    for index in range(4):
        register_secret(f"long-{index}-" + "x/&é" * 50_000)


def stream(count: int, twins: int = 50) -> Iterator[dict[str, Any]]:
    for index in range(count):
        yield {
            "connectorId": "CON-REL",
            "dtId": f"PNT-REL-{index % twins}",
            "scalarValue": float(index),
            "sourceTimestamp": (BASE + dt.timedelta(seconds=index // twins)).isoformat(),
        }


def stored_points(willow: LocalWillow, twins: int = 50) -> list[tuple[str, float]]:
    return [(twin, key) for t in range(twins) for twin in [f"PNT-REL-{t}"] for key in willow.store.telemetry[twin][0]]


def test_ingest_of_100k_points_survives_faults_and_token_expiry() -> None:
    faults = FaultConfig(**{k: v for k, v in vars(HOSTILE).items() if not k.startswith("_")})
    with LocalWillow(seed=False, faults=faults, validate_responses=False) as willow:
        with WillowClient(**willow.client_kwargs(retry=POLICY, timeout=1.0)) as client:
            started = time.monotonic()
            report = ingest(client, stream(100_000), batch_size=1000, concurrency=4)
            elapsed = time.monotonic() - started
        points = stored_points(willow)
        stats = willow.app.stats
    print(
        f"\ningest: {report}; {elapsed:.1f}s; retries {client.retry_stats.by_reason}; "
        f"server faults {stats.faults}; token requests {stats.token_requests}"
    )
    assert report.ok, str(report)
    assert report.sent == 100_000
    assert len(points) == len(set(points)) == 100_000  # nothing lost, nothing duplicated
    assert sum(stats.faults.values()) > 10
    assert client.retry_stats.retries > 10
    assert stats.token_requests >= 2  # tokens expired and were renewed during the run


def test_full_insight_iteration_survives_faults_and_token_expiry() -> None:
    faults = FaultConfig(**{k: v for k, v in vars(HOSTILE).items() if not k.startswith("_")})
    with LocalWillow(seed=False, faults=faults) as willow:
        add_insight_trees(willow.store, roots=1500, children_per_root=[0, 2, 1, 4], prefix="REL")
        with WillowClient(**willow.client_kwargs(retry=POLICY, timeout=1.0)) as client:
            trees = []
            for tree in client.insights.iter_trees(page_size=50):
                trees.append(tree)
                if len(trees) % 500 == 0:
                    time.sleep(1.0)  # let tokens expire mid-iteration
            ids = [insight.id for tree in trees for insight in tree]
        stats = willow.app.stats
        assert stats.response_violations == []
    print(
        f"\ninsights: {len(ids)} in {len(trees)} trees; retries {client.retry_stats.by_reason}; "
        f"server faults {stats.faults}; token requests {stats.token_requests}"
    )
    assert len(trees) == 1500
    assert all(not tree.is_orphan for tree in trees)
    assert len(ids) == len(set(ids)) == len(willow.store.insights)
    assert client.retry_stats.retries > 5


async def test_async_ingest_survives_faults() -> None:
    faults = FaultConfig(**{k: v for k, v in vars(HOSTILE).items() if not k.startswith("_")})
    faults.seed = 7
    with LocalWillow(seed=False, faults=faults, validate_responses=False) as willow:
        async with AsyncWillowClient(**willow.client_kwargs(retry=POLICY, timeout=1.0)) as client:
            report = await aingest(client, stream(20_000), batch_size=500, concurrency=6)
        points = stored_points(willow)
    assert report.ok, str(report)
    assert len(points) == len(set(points)) == 20_000


# --------------------------------------------------------------------------- bad inputs


def test_a_token_endpoint_that_hangs_gives_a_typed_timeout_in_bounded_time() -> None:
    with LocalWillow(seed=True, faults=FaultConfig(stall_seconds=3.0)) as willow:
        willow.faults.queue[:] = ["timeout"] * 3
        with WillowClient(
            **willow.client_kwargs(retry=RetryPolicy(max_attempts=3, backoff_initial=0.01), timeout=0.3)
        ) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match="oauth2/token"):
                client.twins.get("AHU-1")
            assert time.monotonic() - started < 3
        assert willow.app.stats.token_requests == 0


def _serving(body: bytes, content_type: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    return api_transport(handler)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<?xml version='1.0'?><twins/>", "application/json"),
        (b'{"content": [{"id": "T", "modelId": "m"}], "continuationToken": nu', "application/json"),
        (b"<html>502 Bad Gateway</html>", "text/html"),
        (b'{"content": "not a list"}', "application/json"),
    ],
)
def test_wrong_content_or_broken_bodies_are_typed_errors(body: bytes, content_type: str) -> None:
    with (
        WillowClient(
            base_url="https://u.app.willowinc.com/api/v3",
            client_id="c",
            client_secret="s",
            transport=_serving(body, content_type),
        ) as client,
        pytest.raises(ResponseValidationError),
    ):
        list(client.twins.iter())


def test_json_with_a_wrong_content_type_is_still_read() -> None:
    body = b'{"content": [{"id": "T", "modelId": "m"}], "continuationToken": null}'
    with WillowClient(
        base_url="https://u.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=_serving(body, "text/plain"),
    ) as client:
        assert [t.id for t in client.twins.iter()] == ["T"]


def test_a_huge_page_is_read_in_one_piece() -> None:
    import json

    twins = [
        {"id": f"T-{i}", "modelId": "dtmi:com:willowinc:Room;1", "contents": {"name": "x" * 50}} for i in range(50_000)
    ]
    body = json.dumps({"content": twins, "continuationToken": None}).encode()
    with WillowClient(
        base_url="https://u.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=_serving(body, "application/json"),
    ) as client:
        assert sum(1 for _ in client.twins.iter()) == 50_000
