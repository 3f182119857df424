"""Run sync-style client tests against the async client too (parity by construction).

``AsyncAsSync`` drives an :class:`AsyncWillowClient` on a private event loop thread and presents
the synchronous surface: awaited methods return their result, async pagers and async generators
become ordinary iterators, and ``call(op.sync_detailed, ...)`` is sent as ``op.asyncio_detailed``.
The ``client`` fixture in ``conftest.py`` runs every test that uses it once per mode, so each
public async method is exercised exactly as often as its sync twin.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import datetime as dt
import importlib
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar, cast

from willow_ext import (
    AsyncPager,
    AsyncWillowClient,
    IngestReport,
    TwinLookup,
    WillowClient,
    aexport_time_series,
    aget_twins,
    aingest,
    export_time_series,
    get_twins,
    ingest,
)

T = TypeVar("T")


class LoopThread:
    """One event loop on a daemon thread; ``run(coro)`` blocks until it completes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # One context for every coroutine run here, as if they were awaited one after another in
        # one task: context variables (the client's ``last_response``) carry from call to call.
        self.context = contextvars.copy_context()
        self._thread = threading.Thread(target=self.loop.run_forever, name="dual-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = self.loop.create_task(coroutine, context=self.context)
            asyncio.futures._chain_future(task, done)  # type: ignore[attr-defined]

        self.loop.call_soon_threadsafe(start)
        return done.result(timeout=300)

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        async def step() -> tuple[bool, T | None]:
            try:
                return True, await iterator.__anext__()
            except StopAsyncIteration:
                return False, None

        while True:
            more, item = self.run(step())
            if not more:
                return
            yield cast(T, item)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class _SyncPager:
    """An :class:`AsyncPager` seen through the sync ``Pager`` surface."""

    def __init__(self, pager: AsyncPager[Any, Any, Any], runner: LoopThread) -> None:
        self._pager = pager
        self._runner = runner

    def __iter__(self) -> Iterator[Any]:
        return self._runner.iterate(self._pager.__aiter__())

    def pages(self) -> Iterator[tuple[Any, list[Any]]]:
        return self._runner.iterate(self._pager.pages())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pager, name)


def _wrap(value: Any, runner: LoopThread) -> Any:
    if isinstance(value, AsyncPager):
        return _SyncPager(value, runner)
    if inspect.isasyncgen(value):
        return runner.iterate(value)
    if inspect.iscoroutine(value):
        return _wrap(runner.run(value), runner)
    return value


class _SyncResource:
    def __init__(self, resource: Any, runner: LoopThread) -> None:
        self._resource = resource
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._resource, name)
        if not callable(attribute):
            return attribute

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attribute(*args, **kwargs), self._runner)

        return method


RESOURCES = ("models", "twins", "relationships", "time_series", "insights", "events", "tickets", "ticket_metadata")


class AsyncAsSync:
    """The async client, presented with the sync client's surface (see the module docstring)."""

    mode = "async"

    def __init__(self, client: AsyncWillowClient, runner: LoopThread) -> None:
        self.async_client = client
        self.runner = runner
        for name in RESOURCES:
            setattr(self, name, _SyncResource(getattr(client, name), runner))
        #: The underlying httpx.AsyncClient, its requests run to completion.
        self.http_client = _SyncResource(client.http_client, runner)

    def with_options(self, **options: Any) -> AsyncAsSync:
        return AsyncAsSync(self.async_client.with_options(**options), self.runner)

    @property
    def last_response(self) -> Any:
        return self.runner.context.run(lambda: self.async_client.last_response)

    def call(self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        module = importlib.import_module(operation.__module__)
        return self.runner.run(self.async_client.call(module.asyncio_detailed, *args, **kwargs))

    def close(self) -> None:
        self.runner.run(self.async_client.aclose())

    def __enter__(self) -> AsyncAsSync:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.async_client, name)


def mode_of(client: object) -> str:
    return "async" if isinstance(client, AsyncAsSync) else "sync"


# ----------------------------------------------------------------- bulk helpers in either mode


def bulk_get_twins(client: WillowClient | AsyncAsSync, ids: Iterable[str], **kwargs: Any) -> TwinLookup:
    if isinstance(client, AsyncAsSync):
        return client.runner.run(aget_twins(client.async_client, ids, **kwargs))
    return get_twins(client, ids, **kwargs)


def bulk_ingest(client: WillowClient | AsyncAsSync, points: Iterable[Any], **kwargs: Any) -> IngestReport:
    if isinstance(client, AsyncAsSync):
        return client.runner.run(aingest(client.async_client, points, **kwargs))
    return ingest(client, points, **kwargs)


def bulk_export(
    client: WillowClient | AsyncAsSync, twin_ids: Iterable[str], start: dt.datetime, end: dt.datetime, **kwargs: Any
) -> Iterator[Any]:
    if isinstance(client, AsyncAsSync):
        return client.runner.iterate(aexport_time_series(client.async_client, twin_ids, start, end, **kwargs))
    return export_time_series(client, twin_ids, start, end, **kwargs)
