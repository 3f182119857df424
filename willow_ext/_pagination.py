"""Pagination for Willow's three paging styles, built from two small functions each:

- ``fetch(cursor) -> page``: one request (cursor ``None`` for the first page);
- ``extract(page, cursor) -> (next_cursor, items)``: ``next_cursor`` is ``None`` on the last page.

The pagers (``willow_ext/_async/_pager.py`` and its generated sync twin) turn those into item
iteration, page iteration, ``max_items`` and ``last_page``, with :class:`PageWalk` making sure
every iteration ends. Only one page is held at a time.

Insight trees (``POST /insights``) reuse the offset pager and add :class:`InsightTreeAssembler`, a
pure state machine: pages count root insights only (``scenarioId`` null), each page carries all
children of its roots, and a matching child comes with its parent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._errors import WillowError
from ._redact import safe_text

__all__ = [
    "BATCH_PAGE_SIZE",
    "MAX_EMPTY_PAGES",
    "POINTS_PER_REQUEST",
    "TIME_SERIES_PAGE_SIZE",
    "TWINS_PAGE_SIZE",
    "TWIN_IDS_PER_REQUEST",
    "InsightTree",
    "InsightTreeAssembler",
    "PageWalk",
    "PaginationError",
    "continuation_extract",
    "offset_extract",
]

C = TypeVar("C")  # cursor
P = TypeVar("P")  # page object
T = TypeVar("T")  # item


class PaginationError(WillowError):
    """The server's paging is inconsistent (e.g. it handed back a token it already gave)."""


#: Default page sizes, one per paging style: the documented maximum where one exists (twins and
#: tickets 1000); the time-series endpoints document no maximum and the reference advises 100.
TWINS_PAGE_SIZE = 1000
BATCH_PAGE_SIZE = 1000
TIME_SERIES_PAGE_SIZE = 100
#: No maximum is documented for the id lists of POST /twins/ids and POST /time-series/ids, nor
#: for the points of POST /time-series; these keep requests modest.
TWIN_IDS_PER_REQUEST = 100
POINTS_PER_REQUEST = 1000
#: Empty pages in a row that a pager follows before deciding the server is looping.
MAX_EMPTY_PAGES = 20


def _token(value: object) -> str | None:
    """A continuation token, or None when the stream has ended: null, "" or absent all end it."""
    return value if isinstance(value, str) and value != "" else None


def continuation_extract(
    items_of: Callable[[P], list[T] | None], token_of: Callable[[P], object]
) -> Callable[[P, str | None], tuple[str | None, list[T]]]:
    """``extract`` for continuation-token styles (twins body token, time-series query token)."""

    def extract(page: P, cursor: str | None) -> tuple[str | None, list[T]]:
        return _token(token_of(page)), list(items_of(page) or [])

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
    remain (the server may cap the page below ``page_size``). A page that repeats an earlier one of
    the same iteration is caught by :class:`PageWalk`.
    """

    def extract(page: Any, cursor: int | None) -> tuple[int | None, list[Any]]:
        items = list(page.items) if isinstance(page.items, list) else []
        counted = count_of(items)
        if counted == 0:
            return None, items
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


def _signature(items: list[Any]) -> tuple[object, object] | None:
    """What identifies a page's content: its first and last item ids (None when ids are unknown)."""
    if not items:
        return None
    first, last = getattr(items[0], "id", None), getattr(items[-1], "id", None)
    return None if first is None and last is None else (first, last)


class PageWalk:
    """Per-iteration bookkeeping that makes every iteration end (pure state, no I/O).

    A pager creates one per iteration, so a pager can be iterated twice. It raises
    :class:`PaginationError` when the server hands back a cursor seen before in this iteration
    (A→A or A→B→A), a non-empty page identical to an earlier one (a server ignoring ``page``), or
    more than ``max_empty_pages`` empty pages in a row that still claim more remain.
    """

    def __init__(self, max_items: int | None, max_empty_pages: int = MAX_EMPTY_PAGES) -> None:
        self.max_items = max_items
        self.max_empty_pages = max_empty_pages
        self.yielded = 0
        self._cursors: set[object] = set()
        self._signatures: set[tuple[object, object]] = set()
        self._empty_run = 0

    @property
    def spent(self) -> bool:
        return self.max_items is not None and self.yielded >= self.max_items

    def take(self, items: list[T]) -> list[T]:
        """The items to hand out, capped by ``max_items``."""
        if self.max_items is not None:
            items = items[: max(0, self.max_items - self.yielded)]
        self.yielded += len(items)
        return items

    def check(self, cursor: object, next_cursor: object, items: list[Any]) -> None:
        """Judge one page fetched at ``cursor``; raise if following ``next_cursor`` could loop."""
        if cursor is not None:
            self._cursors.add(cursor)
        signature = _signature(items)
        if signature is not None:
            if signature in self._signatures:
                raise PaginationError(f"page {_show(cursor)} repeats an earlier page of this iteration; stopping")
            self._signatures.add(signature)
        if next_cursor is None:
            return
        if next_cursor in self._cursors or next_cursor == cursor:
            raise PaginationError(f"server returned a cursor seen before ({_show(next_cursor)}); stopping")
        self._empty_run = self._empty_run + 1 if not items else 0
        if self._empty_run > self.max_empty_pages:
            raise PaginationError(f"{self._empty_run} empty pages in a row still claim more remain; stopping")


def _show(cursor: object) -> str:
    # Masked before it is cut: a cut first could keep most of a token a server put in a cursor.
    return safe_text(repr(cursor), 40)


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
    item_id = item.id
    return item_id if type(item_id) is str else str(item_id)


def _scenario_id(item: Any) -> str | None:
    try:
        value = item.scenario_id  # an attribute read, not getattr(): this runs for every insight
    except AttributeError:
        return None
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
        count = 0
        for item in items:
            try:
                parent = item.scenario_id
            except AttributeError:
                parent = None
            if not (isinstance(parent, str) and parent):
                count += 1
        return count

    def add_page(self, items: Iterable[T]) -> list[InsightTree[T]]:
        # The per-insight work is inlined (one attribute read each for id and scenario id): this
        # loop runs for every insight of every page.
        seen, seen_add = self._seen, self._seen.add
        roots: list[tuple[str, T]] = []
        children: dict[str, list[T]] = {}
        for item in items:
            item_id = item.id  # type: ignore[attr-defined]
            if type(item_id) is not str:
                item_id = str(item_id)
            if item_id in seen:
                self.duplicates += 1
                continue
            seen_add(item_id)
            try:
                parent = item.scenario_id  # type: ignore[attr-defined]
            except AttributeError:
                parent = None
            if isinstance(parent, str) and parent:
                kids = children.get(parent)
                if kids is None:
                    children[parent] = [item]
                else:
                    kids.append(item)
            else:
                roots.append((item_id, item))
        trees: list[InsightTree[T]] = []
        pending, yielded_roots = self._pending, self._yielded_roots
        for root_id, root in roots:
            kids = children.pop(root_id, [])
            if pending and root_id in pending:
                kids = pending.pop(root_id) + kids
            yielded_roots.add(root_id)
            trees.append(InsightTree(root_id, root, kids))
        for parent_id, kids in children.items():
            if parent_id in yielded_roots:
                # The parent was yielded on an earlier page (data shifted): deliver these now.
                trees.append(InsightTree(parent_id, None, kids))
            else:
                pending.setdefault(parent_id, []).extend(kids)
        return trees

    def finish(self) -> list[InsightTree[T]]:
        """Children whose parent never came, as orphan groups."""
        orphans = [InsightTree(parent_id, None, kids) for parent_id, kids in self._pending.items()]
        self._pending.clear()
        return orphans
