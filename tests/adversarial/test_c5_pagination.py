"""Class 5: pagination always ends: cycles, repeated pages and endless empty pages raise
PaginationError, never loop and never yield duplicates."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from willow_ext import AsyncWillowClient, PaginationError

from .conftest import Reply, Seen, jreply, twin

T = "2026-01-01T00:00:00Z"


def _event(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "name": "x",
        "startTime": T,
        "eventTypeId": 1,
        "payload": "{}",
        "payloadVersion": "1",
        "twinId": "S",
        "createdDate": T,
        "lastModifiedDate": T,
    }


def _twins_server(serve: Any, pages: dict[str | None, tuple[list[str], str | None]]) -> Any:
    """``pages[token] = (twin ids, next token)``; an unknown token repeats the last known page."""

    def api(seen: Seen) -> Reply:
        token = seen.json().get("continuationToken") if seen.body else None
        ids, nxt = pages.get(token, pages[None])
        return jreply({"content": [twin(i) for i in ids], "continuationToken": nxt})

    return serve(api)


def _drain(iterator: Any, limit: int = 60) -> list[Any]:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= limit:
            pytest.fail(f"pagination did not end after {limit} items")
    return out


def test_a_token_repeated_immediately_raises(serve: Any) -> None:
    server = _twins_server(serve, {None: (["A1"], "A"), "A": (["A2"], "A")})
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.twins.iter(page_size=1))
    assert len(server.api()) <= 3


def test_a_token_cycle_a_b_a_raises(serve: Any) -> None:
    server = _twins_server(serve, {None: (["X"], "A"), "A": (["Y"], "B"), "B": (["Z"], "A")})
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.twins.iter(page_size=1))


def test_a_longer_cycle_a_b_c_a_raises(serve: Any) -> None:
    server = _twins_server(serve, {None: (["X"], "A"), "A": (["Y"], "B"), "B": (["Z"], "C"), "C": (["W"], "A")})
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.twins.iter(page_size=1))


def test_a_cycle_back_to_the_first_pages_token_raises(serve: Any) -> None:
    server = _twins_server(serve, {None: (["X"], "A"), "A": (["Y"], "B"), "B": (["Z"], "A0"), "A0": (["X"], "A")})
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.twins.iter(page_size=1))


def test_endless_empty_pages_that_claim_more_raise(serve: Any) -> None:
    counter = {"n": 0}

    def api(seen: Seen) -> Reply:
        counter["n"] += 1
        if counter["n"] > 60:  # a bounded attack: the test must end either way
            return jreply({"title": "attack over"}, 400)
        return jreply({"content": [], "continuationToken": f"more-{counter['n']}"})

    server = serve(api)
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.twins.iter(page_size=1))
    assert counter["n"] <= 60


def test_a_few_empty_pages_before_data_are_followed(serve: Any) -> None:
    pages = {None: ([], "e1"), "e1": ([], "e2"), "e2": (["T-9"], None)}
    server = _twins_server(serve, pages)
    with server.client() as client:
        assert [t.id for t in _drain(client.twins.iter(page_size=1))] == ["T-9"]


@pytest.mark.parametrize("end", [None, ""], ids=["null", "empty-string"])
def test_a_normal_chain_ends_on_null_or_empty_token_without_duplicates(serve: Any, end: str | None) -> None:
    server = _twins_server(serve, {None: (["A", "B"], "t1"), "t1": (["C"], "t2"), "t2": (["D"], end)})
    with server.client() as client:
        assert [t.id for t in _drain(client.twins.iter(page_size=2))] == ["A", "B", "C", "D"]


async def test_async_immediate_token_repeat_raises(serve: Any) -> None:
    server = _twins_server(serve, {None: (["A1"], "A"), "A": (["A2"], "A")})
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(PaginationError):
            async for _ in client.twins.iter(page_size=1):
                pass


async def test_async_token_cycle_raises(serve: Any) -> None:
    server = _twins_server(serve, {None: (["X"], "A"), "A": (["Y"], "B"), "B": (["Z"], "A")})
    async with AsyncWillowClient(**server.kwargs()) as client:

        async def drain() -> None:
            seen = 0
            async for _ in client.twins.iter(page_size=1):
                seen += 1
                assert seen < 60, "did not end"

        with pytest.raises(PaginationError):
            await asyncio.wait_for(drain(), 10)


# ------------------------------------------------------------------ offset pages (events)


def _events_server(serve: Any, pages: dict[int, list[str]], total: int = 1000) -> Any:
    def api(seen: Seen) -> Reply:
        page = int(seen.json().get("page", 1))
        ids = pages[(page - 1) % len(pages) + 1]  # past the last page: start over (a cycle)
        return jreply({"items": [_event(i) for i in ids], "total": total, "before": 0, "after": total})

    return serve(api)


def test_offset_server_ignoring_page_raises(serve: Any) -> None:
    server = _events_server(serve, {1: ["e1", "e2"]})
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.events.iter(page_size=2))


def test_offset_page_three_repeating_page_one_raises(serve: Any) -> None:
    server = _events_server(serve, {1: ["e1", "e2"], 2: ["e3", "e4"]})
    with server.client() as client, pytest.raises(PaginationError):
        _drain(client.events.iter(page_size=2))


def test_offset_pages_alternating_never_yield_duplicates(serve: Any) -> None:
    server = _events_server(serve, {1: ["e1", "e2"], 2: ["e3", "e4"], 3: ["e5", "e6"]})
    with server.client() as client:
        items: list[str] = []
        try:
            for event in client.events.iter(page_size=2):
                items.append(event.id)
                assert len(items) < 60
        except PaginationError:
            pass
    assert len(items) == len(set(items))


def test_offset_empty_page_that_claims_more_ends_the_stream(serve: Any) -> None:
    server = _events_server(serve, {1: ["e1"], 2: [], 3: ["e1"]}, total=50)
    with server.client() as client:
        assert [e.id for e in _drain(client.events.iter(page_size=1))] == ["e1"]
    assert len(server.api()) == 2


def test_max_items_stops_an_endless_but_honest_looking_stream(serve: Any) -> None:
    counter = {"n": 0}

    def api(seen: Seen) -> Reply:
        counter["n"] += 1
        return jreply({"content": [twin(f"T-{counter['n']}")], "continuationToken": f"t{counter['n']}"})

    server = serve(api)
    with server.client() as client:
        assert len(list(client.twins.iter(page_size=1, max_items=5))) == 5
    assert counter["n"] == 5


# ------------------------------------- never an item twice: rotating, sliding and stale pages

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)


def _collect(server: Any, mode: str, make: Callable[[Any], Any], limit: int = 60) -> tuple[list[Any], Any]:
    """Iterate ``make(client)`` with the sync or the async client: ``(items yielded, error or None)``."""
    items: list[Any] = []

    def add(item: Any) -> None:
        items.append(item)
        if len(items) >= limit:
            pytest.fail(f"pagination did not end after {limit} items")

    if mode == "sync":
        with server.client() as client:
            try:
                for item in make(client):
                    add(item)
            except PaginationError as exc:
                return items, exc
        return items, None

    async def drain() -> Any:
        async with AsyncWillowClient(**server.kwargs()) as client:
            try:
                async for item in make(client):
                    add(item)
            except PaginationError as exc:
                return exc
        return None

    return items, asyncio.run(drain())


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def _ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


def _paged_events(serve: Any, page_of: Callable[[int], tuple[list[str], dict[str, Any]]]) -> Any:
    """An events server: ``page_of(page number) -> (event ids, envelope counters)``."""

    def api(seen: Seen) -> Reply:
        ids, counters = page_of(int(seen.json().get("page", 1)))
        return jreply({"items": [_event(i) for i in ids], **counters})

    return serve(api)


@MODES
def test_offset_pages_rotating_their_items_raise_before_any_duplicate(serve: Any, mode: str) -> None:
    # page 1: e1 e2 e3; page 2: e2 e3 e1; ... every later page brings nothing new
    ring = ["e1", "e2", "e3"]
    server = _paged_events(serve, lambda n: (ring[(n - 1) % 3 :] + ring[: (n - 1) % 3], {"total": 1000, "after": 1000}))
    items, error = _collect(server, mode, lambda c: c.events.iter(page_size=3))
    assert isinstance(error, PaginationError)
    assert _ids(items) == ["e1", "e2", "e3"]
    assert len(server.api()) == 2


@MODES
def test_a_sliding_window_ends_on_the_envelope_without_duplicates(serve: Any, mode: str) -> None:
    # page n = [e_n, e_n+1], total 10, `after` counts down: the overlap is skipped, `after=0` ends it
    def page(n: int) -> tuple[list[str], dict[str, Any]]:
        return [f"e{n}", f"e{n + 1}"], {"total": 10, "before": n - 1, "after": max(0, 8 - n)}

    server = _paged_events(serve, page)
    items, error = _collect(server, mode, lambda c: c.events.iter(page_size=2))
    assert error is None
    assert _ids(items) == [f"e{n}" for n in range(1, 10)]
    assert len(server.api()) == 8


@MODES
def test_a_sliding_window_without_counters_ends_in_pagination_error(serve: Any, mode: str) -> None:
    server = _paged_events(serve, lambda n: ([f"e{n}", f"e{n + 1}"], {}))
    items, error = _collect(server, mode, lambda c: c.events.iter(page_size=2))
    assert isinstance(error, PaginationError)
    assert len(_ids(items)) == len(set(_ids(items)))
    assert len(server.api()) <= 25


def test_a_full_page_ends_when_after_says_nothing_remains(serve: Any) -> None:
    server = _paged_events(serve, lambda n: (["e1", "e2"], {"total": 2, "before": 0, "after": 0}))
    with server.client() as client:
        assert _ids(_drain(client.events.iter(page_size=2))) == ["e1", "e2"]
    assert len(server.api()) == 1


@MODES
def test_an_offset_page_shifted_back_by_an_insert_skips_the_repeat(serve: Any, mode: str) -> None:
    # an event inserted before the cursor pushes e2 onto page 2 again: skipped, counted, nothing lost
    pages = {1: ["e1", "e2"], 2: ["e2", "e3"], 3: ["e4"]}
    server = _paged_events(serve, lambda n: (pages[n], {"total": 5, "before": 2 * (n - 1), "after": 5 - 2 * n}))
    items, error = _collect(server, mode, lambda c: c.events.iter(page_size=2))
    assert error is None
    assert _ids(items) == ["e1", "e2", "e3", "e4"]


@MODES
def test_a_token_page_repeating_an_earlier_twin_raises_before_yielding_it(serve: Any, mode: str) -> None:
    # fresh tokens, but page 2 brings T-2 again: continuation paging never shifts, so it is a server bug
    server = _twins_server(serve, {None: (["T-1", "T-2"], "a"), "a": (["T-3", "T-2"], "b"), "b": (["T-4"], None)})
    items, error = _collect(server, mode, lambda c: c.twins.iter(page_size=2))
    assert isinstance(error, PaginationError)
    assert _ids(items) == ["T-1", "T-2"]  # nothing of the bad page, so T-2 only once


@MODES
def test_time_series_pages_repeating_under_fresh_tokens_raise(serve: Any, mode: str) -> None:
    # points have no id: the same content under a new token each time would loop forever
    counter = {"n": 0}

    def api(seen: Seen) -> Reply:
        counter["n"] += 1
        point = {"timestamp": T, "value": 1.0, "dtId": "X"}
        return jreply({"data": [point], "continuationToken": f"tok{counter['n']}"})

    server = serve(api)
    items, error = _collect(server, mode, lambda c: c.time_series.iter("X", START, END))
    assert isinstance(error, PaginationError)
    assert len(items) == 1
    assert counter["n"] == 2


@MODES
def test_insight_pages_rotating_their_roots_never_yield_an_insight_twice(serve: Any, mode: str) -> None:
    def insight(insight_id: str) -> dict[str, Any]:
        return {"id": insight_id, "twinId": "S", "name": "x", "scenarioId": None}

    ring = ["i1", "i2", "i3"]

    def api(seen: Seen) -> Reply:
        k = (int(seen.json().get("page", 1)) - 1) % 3
        return jreply({"items": [insight(i) for i in ring[k:] + ring[:k]], "total": 1000, "after": 1000})

    server = serve(api)
    items, error = _collect(server, mode, lambda c: c.insights.iter(page_size=3))
    assert isinstance(error, PaginationError)
    assert _ids(items) == ["i1", "i2", "i3"]
