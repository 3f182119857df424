"""Shared fixtures: a real local Willow server on loopback, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from willow_ext import AsyncWillowClient, RetryPolicy, WillowClient
from willow_ext.testing import LocalWillow

#: Fast retries for tests: same decisions, tiny sleeps.
FAST_RETRY = RetryPolicy(backoff_initial=0.001, backoff_max=0.01, max_attempts=8, max_total_seconds=30)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "expect_rejections: the test sends requests the spec forbids on purpose")
    config.addinivalue_line("markers", "newer_server: the server answers outside the pinned spec on purpose")


def _check_contract(server: LocalWillow, request: pytest.FixtureRequest) -> None:
    stats = server.app.stats
    if request.node.get_closest_marker("newer_server") is None:
        assert stats.response_violations == [], "the local server answered outside the spec"
    if request.node.get_closest_marker("expect_rejections") is None:
        assert stats.rejected_requests == [], "the client sent requests the spec does not allow"


@pytest.fixture
def willow(request: pytest.FixtureRequest) -> Iterator[LocalWillow]:
    """A fresh seeded server per test; every request and response is checked against the spec."""
    with LocalWillow() as server:
        yield server
        _check_contract(server, request)


@pytest.fixture
def client(willow: LocalWillow) -> Iterator[WillowClient]:
    with WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as c:
        yield c


@pytest.fixture
async def aclient(willow: LocalWillow) -> AsyncIterator[AsyncWillowClient]:
    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as c:
        yield c
