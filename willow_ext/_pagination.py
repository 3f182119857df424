"""Pagination for Willow's three paging styles, built from two small functions each:

- ``fetch(cursor) -> page``: one request (cursor ``None`` for the first page);
- ``extract(page, cursor) -> (next_cursor, items)``: ``next_cursor`` is ``None`` on the last page.

:class:`Pager` / :class:`AsyncPager` turn those into item iteration, page iteration, ``max_items``
and ``last_page``. Only one page is held at a time.

Insight trees (``POST /insights``) reuse the offset pager and add :class:`InsightTreeAssembler`, a
pure state machine: pages count root insights only (``scenarioId`` null), each page carries all
children of its roots, and a matching child comes with its parent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from ._errors import WillowError

__all__ = [
    "AsyncPager",
    "InsightTree",
    "InsightTreeAssembler",
    "Pager",
    "PaginationError",
    "continuation_extract",
    "offset_extract",
]

C = TypeVar("C")  # cursor
P = TypeVar("P")  # page object
T = TypeVar("T")  # item


class PaginationError(WillowError):
    """The server's paging is inconsistent (e.g. it handed back a token it already gave)."""


def _token(value: object) -> str | None:
    """A continuation token, or None when the stream has ended: null, "" or absent all end it."""
    return value if isinstance(value, str) and value != "" else None


def continuation_extract(
    items_of: Callable[[P], list[T] | None], token_of: Callable[[P], object]
) -> Callable[[P, str | None], tuple[str | None, list[T]]]:
    """``extract`` for continuation-token styles (twins body token, time-series query token)."""

    def extract(page: P, cursor: str | None) -> tuple[str | None, list[T]]:
        items = list(items_of(page) or [])
        next_token = _token(token_of(page))
        if next_token is not None and next_token == cursor:
            raise PaginationError(f"server returned the same continuation token again ({next_token[:40]!r}); stopping")
        return next_token, items

    return extract


def offset_extract(
    count_of: Callable[[list[Any]], int] = len, page_size: int | None = None
) -> Callable[[Any, int | None], tuple[int | None, list[Any]]]:
    """``extract`` for page-number styles (1-based pages). ``count_of`` tells how many items the
    server counted for paging (insights: only the roots).

    A page with nothing counted ends the stream. A *full* page (``page_size`` counted) always asks
    for the next one, whatever ``after`` says: what ``after`` counts is inferred, not documented
    (roots only, for insights?), and trusting a wrong count would silently drop the rest. Short
    pages end on ``after <= 0`` or ``before + counted >= total``, and continue when those say more
    remain (the server may cap the page below ``page_size``). A server that answers every page
    number with the same page raises :class:`PaginationError` instead of looping.
    """
    previous: list[tuple[object, object]] = []

    def extract(page: Any, cursor: int | None) -> tuple[int | None, list[Any]]:
        items = list(page.items) if isinstance(page.items, list) else []
        counted = count_of(items)
        if counted == 0:
            return None, items
        signature = (getattr(items[0], "id", None), getattr(items[-1], "id", None))
        if previous and signature == previous[-1] and signature != (None, None):
            raise PaginationError(f"page {cursor} repeats the previous page; the server seems to ignore 'page'")
        previous[:] = [signature]
        after, before, total = (_int(getattr(page, name, None)) for name in ("after", "before", "total"))
        if page_size is not None and counted >= page_size:
            more = True
        elif after is not None:
            more = after > 0
        elif before is not None and total is not None:
            more = before + counted < total
        else:
            more = page_size is None  # no totals: without a page size, only an empty page can end it
        return ((cursor or 1) + 1 if more else None), items

    return extract


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class _Budget:
    max_items: int | None
    yielded: int = 0

    def take(self, items: list[T]) -> list[T]:
        if self.max_items is None:
            return items
        room = max(0, self.max_items - self.yielded)
        taken = items[:room]
        self.yielded += len(taken)
        return taken

    @property
    def spent(self) -> bool:
        return self.max_items is not None and self.yielded >= self.max_items


class Pager(Generic[C, P, T]):
    """Iterate a paged operation: ``for item in pager`` or ``for page in pager.pages()``."""

    def __init__(
        self,
        fetch: Callable[[C | None], P],
        extract: Callable[[P, C | None], tuple[C | None, list[T]]],
        *,
        max_items: int | None = None,
        start: C | None = None,
        raw_response: Callable[[], httpx.Response | None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._extract = extract
        self._max_items = max_items
        self._start = start
        self._raw_response = raw_response
        #: The last page object fetched (the generated model), for totals and raw fields.
        self.last_page: P | None = None
        #: The raw httpx response of the last page (headers, status, bytes), when known.
        self.last_response: httpx.Response | None = None
        #: How many requests this pager has made.
        self.requests = 0

    def pages(self) -> Iterator[tuple[P, list[T]]]:
        """``(page, items)`` pairs, fetched lazily; items are capped by ``max_items``."""
        budget = _Budget(self._max_items)
        cursor = self._start
        while not budget.spent:
            page = self._fetch(cursor)
            self.requests += 1
            self.last_page = page
            self.last_response = self._raw_response() if self._raw_response else None
            next_cursor, items = self._extract(page, cursor)
            yield page, budget.take(items)
            if next_cursor is None:
                return
            cursor = next_cursor

    def __iter__(self) -> Iterator[T]:
        for _, items in self.pages():
            yield from items


class AsyncPager(Generic[C, P, T]):
    """The asyncio twin of :class:`Pager`: ``async for item in pager``."""

    def __init__(
        self,
        fetch: Callable[[C | None], Awaitable[P]],
        extract: Callable[[P, C | None], tuple[C | None, list[T]]],
        *,
        max_items: int | None = None,
        start: C | None = None,
        raw_response: Callable[[], httpx.Response | None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._extract = extract
        self._max_items = max_items
        self._start = start
        self._raw_response = raw_response
        self.last_page: P | None = None
        self.last_response: httpx.Response | None = None
        self.requests = 0

    async def pages(self) -> AsyncIterator[tuple[P, list[T]]]:
        budget = _Budget(self._max_items)
        cursor = self._start
        while not budget.spent:
            page = await self._fetch(cursor)
            self.requests += 1
            self.last_page = page
            self.last_response = self._raw_response() if self._raw_response else None
            next_cursor, items = self._extract(page, cursor)
            yield page, budget.take(items)
            if next_cursor is None:
                return
            cursor = next_cursor

    async def __aiter__(self) -> AsyncIterator[T]:
        async for _, items in self.pages():
            for item in items:
                yield item


# ------------------------------------------------------------------------------- insight trees


@dataclass
class InsightTree(Generic[T]):
    """A root insight and its children. ``root`` is None for an orphan group: children whose parent
    (``parent_id``) never arrived, or arrived on an earlier page and was already yielded."""

    parent_id: str
    root: T | None
    children: list[T] = field(default_factory=list)

    @property
    def is_orphan(self) -> bool:
        return self.root is None

    def __iter__(self) -> Iterator[T]:
        if self.root is not None:
            yield self.root
        yield from self.children


def _insight_id(item: Any) -> str:
    return str(item.id)


def _scenario_id(item: Any) -> str | None:
    value = getattr(item, "scenario_id", None)
    return value if isinstance(value, str) and value else None


class InsightTreeAssembler(Generic[T]):
    """Pure state for grouping paged insights into trees, each insight exactly once.

    Feed pages in order with :meth:`add_page`; it returns the trees that are complete. Call
    :meth:`finish` after the last page for the remaining orphans. Handled: a child before its
    parent on the page, a child whose parent is missing (held until the end, in case a shifted
    page brings the parent later), and insights repeated across pages (deduplicated by id).
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._yielded_roots: set[str] = set()
        self._pending: dict[str, list[T]] = {}  # parent id -> orphan children waiting for it
        self.duplicates = 0

    @staticmethod
    def root_count(items: Iterable[Any]) -> int:
        """How many items the server counted for paging: the roots."""
        return sum(1 for item in items if _scenario_id(item) is None)

    def add_page(self, items: Iterable[T]) -> list[InsightTree[T]]:
        roots: list[T] = []
        children: dict[str, list[T]] = {}
        for item in items:
            item_id = _insight_id(item)
            if item_id in self._seen:
                self.duplicates += 1
                continue
            self._seen.add(item_id)
            parent = _scenario_id(item)
            if parent is None:
                roots.append(item)
            else:
                children.setdefault(parent, []).append(item)
        trees: list[InsightTree[T]] = []
        for root in roots:
            root_id = _insight_id(root)
            kids = self._pending.pop(root_id, []) + children.pop(root_id, [])
            self._yielded_roots.add(root_id)
            trees.append(InsightTree(root_id, root, kids))
        for parent_id, kids in children.items():
            if parent_id in self._yielded_roots:
                # The parent was yielded on an earlier page (data shifted): deliver these now.
                trees.append(InsightTree(parent_id, None, kids))
            else:
                self._pending.setdefault(parent_id, []).extend(kids)
        return trees

    def finish(self) -> list[InsightTree[T]]:
        """Children whose parent never came, as orphan groups."""
        orphans = [InsightTree(parent_id, None, kids) for parent_id, kids in self._pending.items()]
        self._pending.clear()
        return orphans
