"""The few primitives whose sync and async forms differ only in name, so ``scripts/unasync.py``
can turn ``async_sleep`` in ``willow_ext/_async`` into ``sync_sleep`` in ``willow_ext/_sync``."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["async_deadline", "async_run_each", "async_sleep", "sync_deadline", "sync_run_each", "sync_sleep"]

T = TypeVar("T")


async def async_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def sync_sleep(seconds: float) -> None:
    time.sleep(seconds)


def async_deadline(seconds: float | None) -> contextlib.AbstractAsyncContextManager[object]:
    """A scope cancelled after ``seconds`` (raising TimeoutError); None: no limit."""
    return asyncio.timeout(seconds)


def sync_deadline(seconds: float | None) -> contextlib.AbstractContextManager[object]:
    # A different half on purpose: a thread blocked in a socket read cannot be cancelled from
    # outside. The sync transports are bounded by per-read timeouts (capped at what is left of the
    # budget) and by a deadline check between body chunks, so only a server that trickles its
    # *headers* can outlast the budget there (h11 caps headers at 100 KB).
    return contextlib.nullcontext()


async def async_run_each(
    items: Iterable[T], work: Callable[[T], Awaitable[None]], limit: int, on_stop: Callable[[], None] | None = None
) -> None:
    """``work(item)`` for every item, at most ``limit`` at a time (tasks). After a failure no new
    item is started; the others in flight finish; the first failure is raised. ``on_stop`` is
    called first thing on a failure, so work in flight can wind down early."""
    pending = iter(items)
    failures: list[BaseException] = []

    async def worker() -> None:
        for item in pending:  # one event loop: no two workers are ever inside next() at once
            if failures:
                return
            try:
                await work(item)
            except BaseException as exc:  # re-raised below, after the others finish
                failures.append(exc)
                if on_stop is not None:
                    on_stop()
                return

    await asyncio.gather(*(worker() for _ in range(max(1, limit))))
    if failures:
        raise failures[0]


def sync_run_each(
    items: Iterable[T], work: Callable[[T], None], limit: int, on_stop: Callable[[], None] | None = None
) -> None:
    """``work(item)`` for every item, at most ``limit`` at a time (threads; inline for 1). After a
    failure, or an interrupt of the calling thread, no new item is started; the ones in flight
    finish; the first failure is raised. ``on_stop`` is called first thing on a failure or an
    interrupt, so work in flight can wind down early."""
    items = list(items)
    if limit <= 1 or len(items) <= 1:
        # Inline in the calling thread: nothing to overlap, and Ctrl-C interrupts the work at once
        # (with threads, the calling thread would wait for the requests in flight to finish).
        for item in items:
            work(item)
        return
    pending = iter(items)
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []

    def worker() -> None:
        while not stop.is_set():
            with lock:
                item = next(pending, _DONE)
            if item is _DONE:
                return
            try:
                work(item)  # type: ignore[arg-type]
            except BaseException as exc:  # re-raised below, after the others finish
                failures.append(exc)
                stop.set()
                if on_stop is not None:
                    on_stop()

    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="willow-run-each") as pool:
        futures = [pool.submit(worker) for _ in range(limit)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stop.set()  # the pool's exit waits for the items in flight
            if on_stop is not None:
                on_stop()
            raise
    if failures:
        raise failures[0]


_DONE = object()
