"""Shared fixtures: a real local Willow server on loopback, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import cast

import pytest

from tests.dual import AsyncAsSync, LoopThread
from willow_ext import AsyncWillowClient, RetryPolicy, WillowClient
from willow_ext.testing import LocalWillow

#: Fast retries for tests: same decisions, tiny sleeps.
FAST_RETRY = RetryPolicy(backoff_initial=0.001, backoff_max=0.01, max_attempts=8, max_total_seconds=30)


@pytest.fixture
def willow(local_willow: LocalWillow) -> LocalWillow:
    """A fresh seeded server per test, checked against the spec (willow_ext's pytest plugin)."""
    return local_willow


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, willow: LocalWillow) -> Iterator[WillowClient]:
    """Each test that takes ``client`` runs twice: with :class:`WillowClient`, and with
    :class:`AsyncWillowClient` driven through the same sync-looking surface (tests/dual.py)."""
    if request.param == "sync":
        with WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as c:
            yield c
        return
    runner = LoopThread()
    try:
        with AsyncAsSync(AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)), runner) as facade:
            yield cast(WillowClient, facade)
    finally:
        runner.stop()


@pytest.fixture
async def aclient(willow: LocalWillow) -> AsyncIterator[AsyncWillowClient]:
    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as c:
        yield c
