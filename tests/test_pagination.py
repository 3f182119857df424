"""Pagination: the generic pager, each paging style against a server that really pages, and the
insight parent/child rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import FAST_RETRY
from willow_ext import AsyncWillowClient, InsightTree, Pager, PaginationError, WillowClient, sort_by, where
from willow_ext._pagination import InsightTreeAssembler, PageWalk, continuation_extract, offset_extract
from willow_ext.testing import LocalWillow, add_insight_trees
from willow_ext.testing._store import iso

# --------------------------------------------------------------------------- the generic pager


@dataclass
class TokenPage:
    data: list[int] | None
    token: Any


def token_pager(pages: dict[str | None, TokenPage], **kwargs: Any) -> tuple[Pager[str, TokenPage, int], list[Any]]:
    asked: list[Any] = []

    def fetch(cursor: str | None) -> TokenPage:
        asked.append(cursor)
        return pages[cursor]

    return Pager(fetch, continuation_extract(lambda p: p.data, lambda p: p.token), **kwargs), asked


@pytest.mark.parametrize("last_token", [None, "", 0, False])
def test_continuation_ends_on_null_empty_or_absent_token(last_token: Any) -> None:
    pager, asked = token_pager({None: TokenPage([1, 2], "a"), "a": TokenPage([3], last_token)})
    assert list(pager) == [1, 2, 3]
    assert asked == [None, "a"]
    assert pager.requests == 2
    assert pager.last_page is not None
    assert pager.last_page.data == [3]


def test_a_repeated_token_raises_instead_of_looping() -> None:
    pager, _ = token_pager({None: TokenPage([1], "a"), "a": TokenPage([2], "a")})
    with pytest.raises(PaginationError, match="cursor seen before"):
        list(pager)


def test_max_items_stops_early_without_extra_requests() -> None:
    pager, asked = token_pager(
        {None: TokenPage([1, 2], "a"), "a": TokenPage([3, 4], "b"), "b": TokenPage([5], None)}, max_items=3
    )
    assert list(pager) == [1, 2, 3]
    assert asked == [None, "a"]


@dataclass
class OffsetPage:
    items: list[int] | None
    after: Any = None
    before: Any = None
    total: Any = None


def offset_pager(pages: list[OffsetPage]) -> tuple[Pager[int, OffsetPage, int], list[int | None]]:
    asked: list[int | None] = []

    def fetch(number: int | None) -> OffsetPage:
        asked.append(number)
        return pages[(number or 1) - 1]

    return Pager(fetch, offset_extract()), asked


@pytest.mark.parametrize(
    ("pages", "expected_requests"),
    [
        ([OffsetPage([1, 2], after=1), OffsetPage([3], after=0)], 2),  # after reaches 0
        ([OffsetPage([1, 2], before=0, total=3), OffsetPage([3], before=2, total=3)], 2),  # total reached
        ([OffsetPage([1, 2]), OffsetPage([3]), OffsetPage([])], 3),  # no totals: an empty page ends it
        ([OffsetPage([1, 2], after=5), OffsetPage(None, after=5)], 2),  # items null: stop, do not loop
    ],
)
def test_offset_paging_stop_conditions(pages: list[OffsetPage], expected_requests: int) -> None:
    pager, asked = offset_pager(pages)
    assert list(pager) == [x for p in pages for x in (p.items or [])]
    assert asked == list(range(1, expected_requests + 1)) or asked == [None, *range(2, expected_requests + 1)]


# --------------------------------------------------------------------------- real paging on loopback


def test_twins_pages_by_body_continuation_token(willow: LocalWillow, client: WillowClient) -> None:
    for index in range(250):
        willow.store.upsert_twin({"id": f"BULK-{index:04d}", "modelId": "dtmi:com:willowinc:Room;1", "contents": {}})
    pager = client.twins.iter(
        {"modelFilter": {"modelIds": ["dtmi:com:willowinc:Room;1"], "exactModelMatch": True}}, page_size=40
    )
    ids = [twin.id for twin in pager]
    assert len(ids) == 250 + 12 == len(set(ids))
    assert pager.requests == 7


def test_time_series_pages_end_on_the_empty_string_token(willow: LocalWillow, client: WillowClient) -> None:
    now = dt.datetime.now(dt.UTC)
    pager = client.time_series.iter("PNT-AHU-1-SAT", now - dt.timedelta(days=2), now, page_size=10)
    points = list(pager)
    assert len(points) == 97  # a day at 15-minute intervals, both ends included
    assert pager.last_page is not None
    assert pager.last_page.continuation_token == ""
    many = list(
        client.time_series.iter_many(["PNT-AHU-1-SAT", "PNT-AHU-2-SAT"], now - dt.timedelta(days=2), now, page_size=33)
    )
    assert len(many) == 194
    assert len({(p.twin_id, p.source_timestamp) for p in many}) == 194


def test_events_tickets_and_metadata_page_by_number(willow: LocalWillow, client: WillowClient) -> None:
    now = iso(dt.datetime.now(dt.UTC))
    willow.store.upsert_events(
        [
            {
                "name": f"E{i}",
                "startTime": now,
                "eventTypeId": 1,
                "payload": None,
                "payloadVersion": None,
                "twinId": None,
                "createdDate": now,
                "lastModifiedDate": now,
            }
            for i in range(45)
        ]
    )
    pager = client.events.iter(page_size=10)
    assert len(list(pager)) == 47
    assert pager.requests == 5
    for index in range(30):
        willow.store.create_ticket({"summary": f"T{index}"})
    tickets = client.tickets.iter(page_size=7, filters=[where("summary").starts_with("T")])
    assert sorted(t.summary for t in tickets) == sorted(f"T{i}" for i in range(30))
    assert [c["name"] for c in (item.to_dict() for item in client.ticket_metadata.iter("categories", page_size=2))] == [
        "Electrical",
        "HVAC",
        "Plumbing",
    ]


def test_the_default_ticket_page_size_is_the_documented_maximum(willow: LocalWillow, client: WillowClient) -> None:
    pager = client.tickets.iter()
    list(pager)
    assert pager.last_page is not None
    # the server echoes nothing about size, but 2 seeded tickets in one request means pageSize >= 2; check the body
    assert willow.app.stats.by_operation["POST /tickets"] == 1


# --------------------------------------------------------------------------- insights: the card's semantics


def test_filters_match_parents_and_children(willow: LocalWillow, client: WillowClient) -> None:
    # A matching child comes with its parent (even though the parent does not match) and no siblings.
    trees = list(client.insights.iter_trees(filters=[where("name").contains("INS 2.1")]))
    assert len(trees) == 1
    assert trees[0].root is not None
    assert trees[0].root.name == "INS 2: comfort on AHU-1"
    assert [c.name for c in trees[0].children] == ["INS 2.1: diagnostic step 2"]
    # A matching parent comes with all its children.
    trees = list(client.insights.iter_trees(filters=[where("name").starts_with("INS 2:")]))
    assert [len(t.children) for t in trees] == [3]


def test_sorting_and_pages_count_roots_only(willow: LocalWillow, client: WillowClient) -> None:
    page = client.insights.page(page=1, page_size=2, sort=[sort_by("name").desc()])
    assert page.total == 6
    roots = [i for i in page.items or [] if not isinstance(i.scenario_id, str)]  # omitted (UNSET) or null
    assert [r.name for r in roots] == ["INS 5: predictive on AHU-2", "INS 4: dataQuality on AHU-1"]
    assert len(page.items or []) == 2 + 2  # INS 5 has two children; INS 4 none
    assert page.after == 4


def test_ten_thousand_roots_each_insight_exactly_once_with_its_parent() -> None:
    with LocalWillow(seed=False, validate_responses=False) as willow:
        add_insight_trees(willow.store, roots=10_000, children_per_root=[0, 1, 3, 2, 0, 5], prefix="BIG")
        expected_children = {
            root: [] for root in willow.store.insights if willow.store.insights[root]["scenarioId"] is None
        }
        for insight in willow.store.insights.values():
            if insight["scenarioId"] is not None:
                expected_children[insight["scenarioId"]].append(insight["id"])
        with WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
            trees = list(client.insights.iter_trees(page_size=700))
            flat = [insight.id for insight in client.insights.iter(page_size=1000)]
    assert len(trees) == 10_000
    assert all(not t.is_orphan for t in trees)
    assert {t.parent_id: sorted(c.id for c in t.children) for t in trees} == {
        k: sorted(v) for k, v in expected_children.items()
    }
    assert (
        len(flat)
        == len(set(flat))
        == len(willow.store.insights)
        == 10_000 + sum(len(v) for v in expected_children.values())
    )


# --------------------------------------------------------------------------- the assembler's edge cases


@dataclass
class FakeInsight:
    id: str
    scenario_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def trees_of(pages: list[list[FakeInsight]]) -> list[InsightTree[FakeInsight]]:
    assembler: InsightTreeAssembler[FakeInsight] = InsightTreeAssembler()
    out: list[InsightTree[FakeInsight]] = []
    for page in pages:
        out.extend(assembler.add_page(page))
    return out + assembler.finish()


def shape(trees: list[InsightTree[FakeInsight]]) -> list[tuple[str, str | None, list[str]]]:
    return [(t.parent_id, t.root.id if t.root else None, [c.id for c in t.children]) for t in trees]


def test_a_child_listed_before_its_parent_is_grouped_with_it() -> None:
    assert shape(trees_of([[FakeInsight("c1", "r1"), FakeInsight("r1"), FakeInsight("c2", "r1")]])) == [
        ("r1", "r1", ["c1", "c2"])
    ]


def test_a_child_whose_parent_never_comes_is_yielded_as_an_orphan() -> None:
    trees = trees_of([[FakeInsight("r1"), FakeInsight("c9", "ghost")], [FakeInsight("r2")]])
    assert shape(trees) == [("r1", "r1", []), ("r2", "r2", []), ("ghost", None, ["c9"])]
    assert trees[-1].is_orphan


def test_a_parent_arriving_on_a_later_page_collects_its_waiting_children() -> None:
    assert shape(trees_of([[FakeInsight("c1", "r2"), FakeInsight("r1")], [FakeInsight("r2")]])) == [
        ("r1", "r1", []),
        ("r2", "r2", ["c1"]),
    ]


def test_items_repeated_across_pages_are_yielded_once() -> None:
    # Offset paging under concurrent change: a new root pushed r2 onto the next page again.
    assembler: InsightTreeAssembler[FakeInsight] = InsightTreeAssembler()
    first = assembler.add_page([FakeInsight("r1"), FakeInsight("r2"), FakeInsight("c2", "r2")])
    second = assembler.add_page(
        [FakeInsight("r2"), FakeInsight("c2", "r2"), FakeInsight("c3", "r2"), FakeInsight("r3")]
    )
    assert shape(first) == [("r1", "r1", []), ("r2", "r2", ["c2"])]
    # r2 and c2 again are dropped; the new child c3 of the already-yielded r2 is still delivered.
    assert shape(second) == [("r3", "r3", []), ("r2", None, ["c3"])]
    assert assembler.duplicates == 2


def test_pages_whose_total_changes_still_terminate(willow: LocalWillow, client: WillowClient) -> None:
    seen: list[str] = []
    for tree in client.insights.iter_trees(page_size=2):
        seen.append(tree.parent_id)
        if len(seen) == 1:  # data changes between page requests: two more roots appear
            add_insight_trees(willow.store, roots=2, children_per_root=1, prefix="LATE")
    assert len(seen) == len(set(seen))
    assert len(seen) >= 6


async def test_async_insight_trees_and_pager(willow: LocalWillow, aclient: AsyncWillowClient) -> None:
    trees = [tree async for tree in aclient.insights.iter_trees(page_size=4)]
    assert [len(t.children) for t in trees] == [0, 2, 3, 1, 0, 2]
    flat = [i.id async for i in aclient.insights.iter(page_size=1)]
    assert len(flat) == len(set(flat)) == 14
    events = [e async for e in aclient.events.iter(page_size=1)]
    assert len(events) == 2


def test_pagers_expose_the_last_raw_response(willow: LocalWillow, client: WillowClient) -> None:
    pager = client.events.iter(page_size=1)
    assert next(iter(pager)) is not None
    assert pager.last_response is not None
    assert pager.last_response.request.url.path == "/api/v3/events"
    assert pager.last_response.headers["content-type"] == "application/json"
    assert client.last_response is pager.last_response
    client.twins.get("AHU-1")
    assert client.last_response is not None
    assert client.last_response.request.url.path == "/api/v3/twins/AHU-1"


@dataclass
class Item:
    id: str


def pages_of(count: int, size: int, after: Callable[[int, int], int]) -> list[OffsetPage]:
    """``count`` items served ``size`` per page, with an ``after`` the test chooses."""
    out = []
    for start in range(0, count, size):
        items = [Item(f"i{n}") for n in range(start, min(count, start + size))]
        out.append(OffsetPage(items, after=after(start, len(items)), before=start, total=count))  # type: ignore[arg-type]
    return [*out, OffsetPage([], after=0, before=count, total=count)]


def run(pages: list[OffsetPage], page_size: int, *, counters_exact: bool = True) -> tuple[list[str], int]:
    extract = offset_extract(page_size=page_size, counters_exact=counters_exact)
    pager: Pager[int, OffsetPage, Any] = Pager(lambda n: pages[(n or 1) - 1], extract)
    return [item.id for item in pager], pager.requests


def test_a_full_page_continues_even_if_after_is_miscounted() -> None:
    # insights: a server whose `after` counts children too goes negative while roots remain
    ids, _ = run(pages_of(25, 10, after=lambda start, n: -5), page_size=10, counters_exact=False)
    assert ids == [f"i{n}" for n in range(25)]


def test_a_full_page_ends_where_exact_counters_say_nothing_remains() -> None:
    # events, tickets: `after` is total - (before + count); a full last page needs no extra request
    ids, requests = run(pages_of(20, 10, after=lambda start, n: 20 - start - n), page_size=10)
    assert ids == [f"i{n}" for n in range(20)]
    assert requests == 2


def test_a_server_capping_the_page_size_is_followed_by_after() -> None:
    # we ask for 1000, the server sends 10 at a time and says how many remain
    ids, requests = run(pages_of(35, 10, after=lambda start, n: 35 - start - n), page_size=1000)
    assert ids == [f"i{n}" for n in range(35)]
    assert requests == 4


def test_a_short_last_page_ends_without_an_extra_request() -> None:
    ids, requests = run(pages_of(25, 10, after=lambda start, n: 25 - start - n), page_size=10)
    assert len(ids) == 25
    assert requests == 3


def test_a_server_ignoring_the_page_number_raises() -> None:
    same = OffsetPage([Item("a"), Item("b")], after=10, before=0, total=12)
    pager: Pager[int, OffsetPage, Any] = Pager(lambda n: same, offset_extract(page_size=2))
    with pytest.raises(PaginationError, match="repeats an earlier page"):
        list(pager)


@dataclass
class Point:  # a time-series point: no id
    timestamp: str
    value: float


def test_items_without_ids_are_judged_by_a_cheap_page_signature() -> None:
    walk = PageWalk(None)
    first = [Point(f"t{n}", 1.0) for n in range(10_000)]
    second = [Point(f"t{n}", 1.0) for n in range(10_000, 20_000)]
    assert walk.check(None, "a", first) == first
    assert walk.check("a", "b", second) == second
    with pytest.raises(PaginationError, match="repeats an earlier page"):
        walk.check("b", "c", [Point(p.timestamp, p.value) for p in first])  # equal content, fresh objects
