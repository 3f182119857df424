"""Iterate a paged operation built from ``fetch(cursor) -> page`` and ``extract(page, cursor)``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

import httpx

from .._pagination import PageWalk

__all__ = ["AsyncPager"]

C = TypeVar("C")  # cursor
P = TypeVar("P")  # page object
T = TypeVar("T")  # item


class AsyncPager(Generic[C, P, T]):
    """``async for item in pager`` or ``async for page, items in pager.pages()``.

    Each iteration starts from the first page with its own :class:`PageWalk`, so a pager can be
    iterated again, every iteration ends (a looping server raises ``PaginationError``) and no item
    is handed out twice. ``offset_pages``: items repeated by a shifting offset page (rows inserted
    on a live dataset) are skipped and counted in :attr:`duplicates` instead of raising; more than
    20 pages in a row bringing no more new items than repeated ones raise; see :class:`PageWalk`.
    """

    def __init__(
        self,
        fetch: Callable[[C | None], Awaitable[P]],
        extract: Callable[[P, C | None], tuple[C | None, list[T]]],
        *,
        max_items: int | None = None,
        start: C | None = None,
        raw_response: Callable[[], httpx.Response | None] | None = None,
        offset_pages: bool = False,
    ) -> None:
        self._fetch = fetch
        self._extract = extract
        self._max_items = max_items
        self._start = start
        self._raw_response = raw_response
        self._offset_pages = offset_pages
        #: The last page object fetched (the generated model), for totals and raw fields.
        self.last_page: P | None = None
        #: The raw httpx response of the last page (headers, status, bytes), when known.
        self.last_response: httpx.Response | None = None
        #: How many requests this pager has made (over all iterations).
        self.requests = 0
        #: Items the last iteration skipped as repeats of earlier pages (offset pages only).
        self.duplicates = 0

    async def pages(self) -> AsyncIterator[tuple[P, list[T]]]:
        """``(page, items)`` pairs, fetched lazily; items are capped by ``max_items``."""
        walk = PageWalk(self._max_items, skip_repeated_ids=self._offset_pages)
        self.duplicates = 0
        cursor = self._start
        while not walk.spent:
            page = await self._fetch(cursor)
            self.requests += 1
            self.last_page = page
            self.last_response = self._raw_response() if self._raw_response else None
            next_cursor, items = self._extract(page, cursor)
            items = walk.check(cursor, next_cursor, items)  # the whole page, before any item is yielded
            self.duplicates = walk.duplicates
            yield page, walk.take(items)
            if next_cursor is None:
                return
            cursor = next_cursor

    async def __aiter__(self) -> AsyncIterator[T]:
        async for _, items in self.pages():
            for item in items:
                yield item
