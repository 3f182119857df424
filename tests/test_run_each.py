"""``sync_run_each`` / ``async_run_each`` (``willow_ext._concurrency``): every item once, at most
``limit`` at a time; after a failure no new item starts, the ones in flight finish, the first
failure is raised."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from willow_ext._concurrency import async_run_each, sync_run_each


class BoomError(Exception):
    pass


@pytest.mark.parametrize("limit", [1, 3])
def test_sync_runs_every_item_once_within_the_limit(limit: int) -> None:
    done: list[int] = []
    running = peak = 0
    lock = threading.Lock()

    def work(item: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
            done.append(item)

    sync_run_each(range(12), work, limit)
    assert sorted(done) == list(range(12))
    assert peak <= limit
    assert limit == 1 or peak > 1


def test_sync_stops_starting_items_after_a_failure_and_raises_it() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> None:
        with lock:
            started.append(item)
        time.sleep(0.02)
        if item == 1:
            raise BoomError

    with pytest.raises(BoomError):
        sync_run_each(range(100), work, 3)
    assert len(started) < 10


def test_async_runs_every_item_once_within_the_limit_and_stops_after_a_failure() -> None:
    done: list[int] = []
    running = peak = 0

    async def work(item: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        if item == 50:
            raise BoomError
        done.append(item)

    asyncio.run(async_run_each(range(10), work, 3))
    assert sorted(done) == list(range(10))
    assert peak == 3

    done.clear()
    with pytest.raises(BoomError):
        asyncio.run(async_run_each(range(200), work, 3))
    assert 50 <= len(done) < 60  # the two in flight beside item 50 finished, nothing new started
