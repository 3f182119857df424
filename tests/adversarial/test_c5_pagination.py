"""Class 5: pagination always ends: cycles, repeated pages and endless empty pages raise
PaginationError, never loop and never yield duplicates."""

from __future__ import annotations

import asyncio
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
