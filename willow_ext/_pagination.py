"""Pagination for Willow's three paging styles, built from two small functions each:

- ``fetch(cursor) -> page``: one request (cursor ``None`` for the first page);
- ``extract(page, cursor) -> (next_cursor, items)``: ``next_cursor`` is ``None`` on the last page.

The pagers (``willow_ext/_async/_pager.py`` and its generated sync twin) turn those into item
iteration, page iteration, ``max_items`` and ``last_page``, with :class:`PageWalk` making sure
every iteration ends and no item is handed out twice. Only one page is held at a time (plus the
ids already handed out in the iteration).

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
    count_of: Callable[[list[Any]], int] = len, page_size: int | None = None, *, counters_exact: bool = True
) -> Callable[[Any, int | None], tuple[int | None, list[Any]]]:
    """``extract`` for page-number styles (1-based pages). ``count_of`` tells how many items the
    server counted for paging (insights: only the roots).

    A page with nothing counted ends the stream. Otherwise the envelope decides: the stream ends on
    ``after <= 0`` (Willow's ``after`` is ``total - (before + count)``) or, without ``after``, on
    ``before + counted >= total``, and continues when they say more remain (a server may cap the
    page below ``page_size``). Without counters, a full page asks for the next one and a short page
    ends (only an empty page ends when there is no ``page_size``).

    ``counters_exact=False`` (insights, whose counters may count children too: inferred, not
    documented) lets a *full* page always ask for the next one, whatever the counters say: trusting
    a wrong count would silently drop the rest. Repeated or overlapping pages are caught by
    :class:`PageWalk`.
    """

    def extract(page: Any, cursor: int | None) -> tuple[int | None, list[Any]]:
        items = list(page.items) if isinstance(page.items, list) else []
        counted = count_of(items)
        if counted == 0:
            return None, items
        after, before, total = (_int(getattr(page, name, None)) for name in ("after", "before", "total"))
        full = page_size is not None and counted >= page_size
        if after is not None:
            more = after > 0
        elif before is not None and total is not None:
            more = before + counted < total
        else:
            more = page_size is None or full  # no counters: a short page is the last
        if full and not counters_exact:
            more = True
        return ((cursor or 1) + 1 if more else None), items

    return extract


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _item_id(item: object) -> object:
    """An item's id for de-duplication, or None when it has none (time-series points; an event
    sent without one). A bool or an empty string is no id."""
    value = getattr(item, "id", None)
    if isinstance(value, str):
        return value or None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _content_key(items: list[Any]) -> int:
    """A cheap signature of a page of items without ids (time-series points): its length and its
    first and last items (generated models have a deterministic repr). Consecutive distinct pages
    differ in their first or last point; a server repeating a page under a fresh token does not.
    Hashing the repr of every item cost more than parsing the page."""
    return hash((len(items), repr(items[0]), repr(items[-1])))


class PageWalk:
    """Per-iteration bookkeeping that makes every iteration end and never yield an item twice
    (pure state, no I/O).

    A pager creates one per iteration, so a pager can be iterated twice. :meth:`check` judges a
    whole page before any of its items is handed out, and raises :class:`PaginationError` for:

    - a cursor seen before in this iteration (A→A or A→B→A);
    - for items without ids, a page with the same signature as an earlier page (time-series
      points under a fresh token each time);
    - more than ``max_empty_pages`` empty pages in a row that still claim more remain.

    Items repeated from earlier pages (by id) mean the server's paging moved under us. With
    continuation tokens that is never benign: any repeated id raises :class:`PaginationError`.
    Offset pages (``skip_repeated_ids``) shift on a live dataset: rows inserted before the cursor
    push later pages back (newest-first events and tickets do this on every fetch), so repeated
    items are skipped and counted in :attr:`duplicates`. A page that brings no more new ids than
    repeated ones (a fully repeated page included) is an *overlap*; more than ``max_empty_pages``
    overlaps in a row (a server ignoring ``page``, rotating its items, or a sliding window) raise.
    The ids handed out are remembered for the iteration: de-duplication costs memory per item,
    never a silently dropped or repeated item.
    """

    def __init__(
        self, max_items: int | None, max_empty_pages: int = MAX_EMPTY_PAGES, *, skip_repeated_ids: bool = False
    ) -> None:
        self.max_items = max_items
        self.max_empty_pages = max_empty_pages
        self.skip_repeated_ids = skip_repeated_ids
        self.yielded = 0
        #: Items skipped because an earlier page of this iteration already handed them out.
        self.duplicates = 0
        self._cursors: set[object] = set()
        self._ids: set[object] = set()
        self._contents: set[int] = set()
        self._empty_run = 0
        self._overlap_run = 0

    @property
    def spent(self) -> bool:
        return self.max_items is not None and self.yielded >= self.max_items

    def take(self, items: list[T]) -> list[T]:
        """The items to hand out, capped by ``max_items``."""
        if self.max_items is not None:
            items = items[: max(0, self.max_items - self.yielded)]
        self.yielded += len(items)
        return items

    def check(self, cursor: object, next_cursor: object, items: list[T]) -> list[T]:
        """Judge one page fetched at ``cursor``; raise if following ``next_cursor`` could loop.
        Returns the page's items that are new in this iteration (all of them, or raises, unless
        ``skip_repeated_ids``)."""
        if cursor is not None:
            self._cursors.add(cursor)
        items = self._new_items(cursor, items)
        if next_cursor is None:
            return items
        if next_cursor in self._cursors or next_cursor == cursor:
            raise PaginationError(f"server returned a cursor seen before ({_show(next_cursor)}); stopping")
        self._empty_run = self._empty_run + 1 if not items else 0
        if self._empty_run > self.max_empty_pages:
            raise PaginationError(f"{self._empty_run} empty pages in a row still claim more remain; stopping")
        return items

    def _new_items(self, cursor: object, items: list[T]) -> list[T]:
        if not items:
            return items
        ids = [_item_id(item) for item in items]
        if None in ids:  # some items without ids: the page's content must be new
            content = _content_key(items)
            if content in self._contents:
                raise PaginationError(f"page {_show(cursor)} repeats an earlier page of this iteration; stopping")
            self._contents.add(content)
        seen, fresh = self._ids, []
        page_ids: set[object] = set()
        for item, item_id in zip(items, ids, strict=True):
            if item_id is None:
                fresh.append(item)
            elif item_id not in seen and item_id not in page_ids:
                page_ids.add(item_id)
                fresh.append(item)
        repeated = len(items) - len(fresh)
        if not self.skip_repeated_ids:
            if repeated == len(items):
                raise PaginationError(f"page {_show(cursor)} repeats an earlier page of this iteration; stopping")
            if repeated:
                raise PaginationError(
                    f"page {_show(cursor)} repeats {repeated} item(s) already returned; the paging is not stable"
                )
        else:
            self.duplicates += repeated
            self._overlap_run = self._overlap_run + 1 if _is_overlap(len(fresh), repeated) else 0
            if self._overlap_run > self.max_empty_pages:
                raise PaginationError(
                    f"{self._overlap_run} pages in a row bring no more new items than repeated ones "
                    "(a server ignoring the page number, or a sliding window?); stopping"
                )
        seen.update(page_ids)
        return fresh


def _is_overlap(new: int, repeated: int) -> bool:
    """An offset page that moved more backwards than forwards: no more new items than repeated
    ones. A few repeats on a page of mostly new items are an insert on a live dataset."""
    return repeated > 0 and new <= repeated


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
