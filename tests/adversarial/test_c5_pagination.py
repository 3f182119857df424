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
    assert len(server.api()) == 22  # page 1, then 21 overlapping pages in a row


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


# ------------------------------ a live newest-first dataset: inserts on every fetch are normal


def _live_events(serve: Any, rows: int, inserts_per_fetch: int) -> tuple[Any, list[str]]:
    """Newest-first events, ``inserts_per_fetch`` new rows arriving before each page is served
    (events and tickets on a busy site). Returns the server and the ids present at the start."""
    dataset = [f"old-{n:05d}" for n in range(rows)]
    original = list(dataset)
    fetches = {"n": 0}

    def api(seen: Seen) -> Reply:
        body = seen.json()
        fetches["n"] += 1
        dataset[:0] = [f"new-{fetches['n']:03d}-{k}" for k in range(inserts_per_fetch)]
        size, page = int(body["pageSize"]), int(body.get("page", 1))
        before = (page - 1) * size
        ids = dataset[before : before + size]
        total = len(dataset)
        return jreply(
            {"items": [_event(i) for i in ids], "total": total, "before": before, "after": total - before - len(ids)}
        )

    return serve(api), original


def _walk_live(server: Any, mode: str) -> tuple[list[str], int]:
    """Every id the iteration yielded (in order) and ``pager.duplicates``, sync or async."""
    if mode == "sync":
        with server.client() as client:
            pager = client.events.iter(page_size=50)
            return [event.id for event in pager], pager.duplicates

    async def drain() -> tuple[list[str], int]:
        async with AsyncWillowClient(**server.kwargs()) as client:
            pager = client.events.iter(page_size=50)
            return [event.id async for event in pager], pager.duplicates

    return asyncio.run(drain())


@MODES
@pytest.mark.parametrize("inserts", [1, 5])
def test_a_live_newest_first_dataset_is_read_whole_each_id_once(serve: Any, mode: str, inserts: int) -> None:
    # 1,500 rows, 30 pages of 50, `inserts` new rows before every fetch: each page repeats the last
    # `inserts` ids of the page before; those are skipped and counted, and every old row comes once
    server, original = _live_events(serve, 1500, inserts)
    ids, duplicates = _walk_live(server, mode)
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i.startswith("old-")] == original
    requests = len(server.api())
    assert requests >= 30
    # every page after the first repeats exactly `inserts` ids of the page before
    assert duplicates == inserts * (requests - 1) > 0
    assert len(ids) == 1500 + inserts  # the rows there at the first fetch; later ones are behind us


@MODES
def test_a_dataset_growing_a_page_per_fetch_ends_in_pagination_error(serve: Any, mode: str) -> None:
    # 50 inserts per fetch of 50: every page is the page before, the walk never advances: it must
    # end (more than 20 overlapping pages in a row), having yielded the first page only
    server, _ = _live_events(serve, 500, 50)
    items, error = _collect(server, mode, lambda c: c.events.iter(page_size=50), limit=1000)
    assert isinstance(error, PaginationError)
    assert len(_ids(items)) == len(set(_ids(items))) == 50
    assert len(server.api()) == 22


# ------------------------------------ filters given as a generator reach every page's request

FILTER = {"field": "Status", "operator": "equals", "value": "Open"}
SORT = {"field": "Name", "sort": "desc"}


def _two_pages(key: str, item: Callable[[str], dict[str, Any]]) -> Callable[[Seen], Reply]:
    """Two full offset pages of one item each, then an empty one."""

    def api(seen: Seen) -> Reply:
        page = int(seen.json().get("page", 1))
        items = [item(f"{key}{page}")] if page <= 2 else []
        return jreply({"items": items, "total": 2, "before": page - 1, "after": max(0, 2 - page)})

    return api


def _insight(insight_id: str) -> dict[str, Any]:
    return {"id": insight_id, "twinId": "S", "name": "x", "scenarioId": None}


FILTERED_ITERATIONS: dict[str, tuple[Callable[[Any, Any, Any], Any], Callable[[Seen], Reply]]] = {
    "events.iter": (lambda c, f, s: c.events.iter(filters=f, sort=s, page_size=1), _two_pages("e", _event)),
    "tickets.iter": (
        lambda c, f, s: c.tickets.iter(filters=f, sort=s, page_size=1),
        _two_pages("k", lambda i: {"id": i}),
    ),
    "ticket_metadata.iter": (
        lambda c, f, s: c.ticket_metadata.iter("categories", filters=f, sort=s, page_size=1),
        _two_pages("c", lambda i: {"id": i, "name": "x"}),
    ),
    "insights.iter_trees": (
        lambda c, f, s: c.insights.iter_trees(filters=f, sort=s, page_size=1),
        _two_pages("i", _insight),
    ),
    "insights.iter": (lambda c, f, s: c.insights.iter(filters=f, sort=s, page_size=1), _two_pages("i", _insight)),
}


@MODES
@pytest.mark.parametrize("method", list(FILTERED_ITERATIONS))
def test_filters_given_as_a_generator_are_sent_on_every_page(serve: Any, mode: str, method: str) -> None:
    make, api = FILTERED_ITERATIONS[method]
    server = serve(api)
    items, error = _collect(server, mode, lambda c: make(c, (f for f in [FILTER]), (s for s in [SORT])))
    assert error is None
    assert len(items) == 2
    bodies = [seen.json() for seen in server.api()]
    assert [body["page"] for body in bodies][:2] == [1, 2]
    for body in bodies:
        assert body["filterSpecifications"] == [FILTER]
        assert body["sortSpecifications"] == [SORT]
