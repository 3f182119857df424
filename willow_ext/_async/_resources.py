"""Typed methods per API group, over the generated operations. They raise typed errors instead of
returning error unions, check ids before sending, and page for you (``iter*`` methods).

Argument building lives in ``willow_ext._requests``; every generated call goes through
:class:`AsyncCaller`, whose ``ParamSpec`` signature lets mypy check each call's arguments.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from willow_api_client import Client as GeneratedClient
from willow_api_client.api.events import (
    delete_events,
    get_events_event_id,
    get_events_types,
    post_events,
    post_events_files,
    put_events,
)
from willow_api_client.api.insights import get_insights_insight_id, post_insights
from willow_api_client.api.models import models_v2_get_model, models_v2_get_models
from willow_api_client.api.relationships import (
    relationships_v2_get_incoming_relationships,
    relationships_v2_get_relationship,
    relationships_v2_get_relationships,
    relationships_v2_upsert_relationship,
)
from willow_api_client.api.ticket_metadata import (
    get_tickets_priorities,
    get_tickets_status,
    patch_tickets_categories_category_id,
    patch_tickets_job_types_job_type_id,
    patch_tickets_service_needed_service_needed_id,
    post_tickets_categories,
    post_tickets_job_types,
    post_tickets_service_needed,
    put_tickets_categories,
    put_tickets_job_types,
    put_tickets_service_needed,
)
from willow_api_client.api.tickets import (
    get_tickets_ticket_id,
    get_tickets_ticket_id_attachments_attachment_id,
    patch_tickets_ticket_id,
    post_tickets,
    put_tickets,
)
from willow_api_client.api.time_series import (
    get_time_series_by_id,
    get_time_series_by_id_latest,
    get_time_series_ids,
    get_time_series_ids_latest,
    post_telemetry,
)
from willow_api_client.api.twins import (
    twins_v2_create_or_replace_twin_async,
    twins_v2_get_twin_by_id_async,
    twins_v2_get_twin_graph,
    twins_v2_get_twins_async,
    twins_v2_get_twins_by_ids_async,
    twins_v2_get_twins_count,
    twins_v2_patch_twin,
)
from willow_api_client.models import (
    BatchRequest,
    CreateTicketMetadataRequest,
    CreateTicketRequest,
    DigitalTwinRelationship,
    Event,
    EventPage,
    EventsUpsertResult,
    FilterSpecification,
    GetTwinGraphRequest,
    Insight,
    InsightPage,
    JsonPatchOperation,
    Model,
    OpenObject,
    SortSpecification,
    Ticket,
    TicketCategory,
    TicketCategoryPage,
    TicketJobType,
    TicketJobTypePage,
    TicketPage,
    TicketPatchOperation,
    TicketPriority,
    TicketServiceNeeded,
    TicketServiceNeededPage,
    TicketStatus,
    TimeSeriesPage,
    TimeSeriesPoint,
    TimeSeriesWrite,
    Twin,
    TwinGraph,
    TwinPage,
)
from willow_api_client.types import UNSET, File
from willow_api_client.types import Response as GeneratedResponse

from .._errors import InvalidRequestError
from .._pagination import (
    BATCH_PAGE_SIZE,
    TIME_SERIES_PAGE_SIZE,
    TWINS_PAGE_SIZE,
    InsightTree,
    InsightTreeAssembler,
    PaginationError,
    continuation_extract,
    offset_extract,
)
from .._requests import (
    INT32_MAX,
    WirePoint,
    as_batch,
    as_model,
    as_models,
    aware,
    check_flag,
    check_id,
    check_text,
    check_token,
    check_whole,
    checked_ids,
    json_patch,
    replace_ops,
    telemetry_points,
    twin_query,
    unset_if_none,
)
from .._resource_common import Filters, MetadataKind, Sorts, TwinQuery, as_dict, check_metadata_kind, multipart_files
from ._caller import AsyncCaller
from ._pager import AsyncPager

__all__ = [
    "AsyncEvents",
    "AsyncInsights",
    "AsyncModels",
    "AsyncRelationships",
    "AsyncTicketMetadata",
    "AsyncTickets",
    "AsyncTimeSeries",
    "AsyncTwins",
]

C = TypeVar("C")
P = TypeVar("P")
T = TypeVar("T")


def _page_size(value: int) -> int:
    """A page size for the time-series and batch endpoints (no documented maximum; Int32 on the wire)."""
    return cast(int, check_whole(value, "page_size", minimum=1, maximum=INT32_MAX))


def _sent_back(token: str | None) -> str | None:
    """A server's continuation token, checked like a caller's before it goes back in a query string
    (a 70,000-character token would otherwise be a raw ``httpx.InvalidURL``)."""
    if token is None:
        return None
    try:
        return check_token(token, "the server's continuation token")
    except InvalidRequestError as exc:
        raise PaginationError(f"{exc}; paging cannot continue") from None


def _specs(filters: Filters, sort: Sorts) -> tuple[list[FilterSpecification] | None, list[SortSpecification] | None]:
    """Filters and sorts read once, as lists: a generator would be spent by the first page (or by
    the argument check), and every later page would go out unfiltered."""
    return (
        None if filters is None else as_models(filters, FilterSpecification, "filters"),
        None if sort is None else as_models(sort, SortSpecification, "sort"),
    )


P_co = TypeVar("P_co", covariant=True)


class _BatchPage(Protocol[P_co]):
    """One page of a ``POST`` batch query (events, tickets, ticket metadata)."""

    def __call__(self, *, filters: Filters, sort: Sorts, page: int, page_size: int | None) -> Awaitable[P_co]: ...


class _AsyncResource:
    def __init__(self, caller: AsyncCaller) -> None:
        self._call = caller
        self._generated = caller.generated

    def _pager(
        self,
        fetch: Callable[[C | None], Awaitable[P]],
        extract: Callable[[P, C | None], tuple[C | None, list[T]]],
        max_items: int | None = None,
        *,
        offset_pages: bool = False,
    ) -> AsyncPager[C, P, T]:
        check_whole(max_items, "max_items", maximum=None, optional=True)
        caller = self._call
        return AsyncPager(
            fetch, extract, max_items=max_items, raw_response=lambda: caller.last_response, offset_pages=offset_pages
        )

    def _batch_pager(
        self, page: _BatchPage[P], filters: Filters, sort: Sorts, page_size: int, max_items: int | None = None
    ) -> AsyncPager[int, P, Any]:
        """Every item of a batch query, page by page (offset pages)."""
        filters, sort = _specs(filters, sort)  # once, so every page sends the same filter
        as_batch(filters, sort, 1, page_size)  # refuse bad arguments now, not at the first page
        return self._pager(
            lambda number: page(filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
            max_items,
            offset_pages=True,
        )


class AsyncModels(_AsyncResource):
    async def list(self, *, root_model: str | None = None, include_model_definitions: bool = False) -> list[Model]:
        """``GET /models``: every model (DTDL interface), optionally under ``root_model``."""
        return await self._call(
            list,
            models_v2_get_models.asyncio_detailed,
            client=self._generated,
            root_model=unset_if_none(check_id(root_model, "root_model") if root_model is not None else None),
            include_model_definitions=check_flag(include_model_definitions, "include_model_definitions"),
        )

    async def get(self, model_id: str) -> Model:
        """``GET /models/{id}``."""
        return await self._call(
            Model, models_v2_get_model.asyncio_detailed, check_id(model_id, "model_id"), client=self._generated
        )


class AsyncTwins(_AsyncResource):
    async def get(self, twin_id: str, *, include_relationships: bool = False) -> Twin:
        """``GET /twins/{id}``."""
        return await self._call(
            Twin,
            twins_v2_get_twin_by_id_async.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            client=self._generated,
            include_relationships=check_flag(include_relationships, "include_relationships"),
        )

    async def upsert(self, twin: Twin | Mapping[str, Any]) -> Twin:
        """``PUT /twins``: create or replace a twin."""
        return await self._call(
            Twin,
            twins_v2_create_or_replace_twin_async.asyncio_detailed,
            client=self._generated,
            body=as_model(twin, Twin),
        )

    async def patch(self, twin_id: str, operations: Sequence[JsonPatchOperation | Mapping[str, Any]]) -> None:
        """``PATCH /twins/{id}`` with JSON Patch operations (RFC 6902)."""
        await self._call(
            None,
            twins_v2_patch_twin.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            client=self._generated,
            body=json_patch(operations),
        )

    async def query_page(
        self, query: TwinQuery = None, *, page_size: int | None = None, continuation_token: str | None = None
    ) -> TwinPage:
        """One page of ``POST /twins`` (continuation token in the body)."""
        return await self._call(
            TwinPage,
            twins_v2_get_twins_async.asyncio_detailed,
            client=self._generated,
            body=twin_query(query, page_size, continuation_token),
        )

    def iter(
        self, query: TwinQuery = None, *, page_size: int = TWINS_PAGE_SIZE, max_items: int | None = None
    ) -> AsyncPager[str, TwinPage, Twin]:
        """Every twin matching ``query``; continuation tokens handled for you."""
        twin_query(query, page_size, None)  # refuse a bad query or page size now, not at the first page
        return self._pager(
            lambda token: self.query_page(query, page_size=page_size, continuation_token=token),
            continuation_extract(lambda p: p.content or None, lambda p: p.continuation_token),
            max_items,
        )

    async def get_by_ids(self, twin_ids: Sequence[str], *, include_relationships: bool = False) -> list[Twin]:
        """One request. Unknown ids are silently left out by the server; see ``get_twins``."""
        result = await self._call(
            (list, TwinPage),
            twins_v2_get_twins_by_ids_async.asyncio_detailed,
            client=self._generated,
            body=checked_ids(twin_ids, "twin_ids"),
            include_relationships=check_flag(include_relationships, "include_relationships"),
        )
        return list(result.content or []) if isinstance(result, TwinPage) else cast(list[Twin], result)

    async def graph(self, request: GetTwinGraphRequest | Mapping[str, Any]) -> dict[str, Any]:
        """The graph response shape is undocumented: returned as plain JSON."""
        result = await self._call(
            TwinGraph,
            twins_v2_get_twin_graph.asyncio_detailed,
            client=self._generated,
            body=as_model(request, GetTwinGraphRequest),
        )
        return result.to_dict()

    async def count(self, query: TwinQuery = None) -> int | dict[str, Any]:
        """``POST /twins/count``: a number (the response shape is inferred, so an object is kept as JSON)."""
        result = await self._call(
            (int, OpenObject),
            twins_v2_get_twins_count.asyncio_detailed,
            client=self._generated,
            body=twin_query(query, None, None),
        )
        return result if isinstance(result, int) else result.to_dict()


class AsyncRelationships(_AsyncResource):
    async def upsert(self, relationship: DigitalTwinRelationship | Mapping[str, Any]) -> DigitalTwinRelationship:
        """``PUT /twins/relationships``: create or replace a relationship."""
        return await self._call(
            DigitalTwinRelationship,
            relationships_v2_upsert_relationship.asyncio_detailed,
            client=self._generated,
            body=as_model(relationship, DigitalTwinRelationship),
        )

    async def get(self, twin_id: str, relationship_id: str) -> DigitalTwinRelationship:
        """One relationship of a twin, by id."""
        return await self._call(
            DigitalTwinRelationship,
            relationships_v2_get_relationship.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            check_id(relationship_id, "relationship_id"),
            client=self._generated,
        )

    async def outgoing(self, twin_id: str) -> list[DigitalTwinRelationship]:
        """Relationships from ``twin_id`` to other twins."""
        return await self._call(
            list,
            relationships_v2_get_relationships.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            client=self._generated,
        )

    async def incoming(self, twin_id: str) -> list[DigitalTwinRelationship]:
        """Relationships from other twins to ``twin_id``."""
        return await self._call(
            list,
            relationships_v2_get_incoming_relationships.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            client=self._generated,
        )


class AsyncTimeSeries(_AsyncResource):
    async def write(self, points: Sequence[TimeSeriesWrite | Mapping[str, Any]]) -> None:
        """One ``POST /time-series`` (202). For any number of points use ``ingest``."""
        await self.write_checked(telemetry_points(points))

    async def write_checked(self, points: Sequence[TimeSeriesWrite | WirePoint]) -> None:
        """``POST /time-series`` with points already checked by ``telemetry_point`` (the bulk
        helpers check each point as they read it, so they send through here)."""
        if not points:
            raise InvalidRequestError("no points to write (the server answers 400 to an empty array)")
        # The generated body serialiser only calls item.to_dict(), which WirePoint provides.
        await self._call(
            None, post_telemetry.asyncio_detailed, client=self._generated, body=cast(list[TimeSeriesWrite], points)
        )

    async def page(
        self,
        twin_id: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        page_size: int = TIME_SERIES_PAGE_SIZE,
        continuation_token: str | None = None,
        include_data_quality: bool | None = None,
    ) -> TimeSeriesPage:
        """One page of ``GET /time-series/{twinId}``."""
        return await self._call(
            TimeSeriesPage,
            get_time_series_by_id.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            client=self._generated,
            start=aware(start, "start"),
            end=aware(end, "end"),
            page_size=_page_size(page_size),
            continuation_token=unset_if_none(
                check_token(continuation_token) if continuation_token is not None else None
            ),
            include_data_quality=unset_if_none(check_flag(include_data_quality, "include_data_quality", optional=True)),
        )

    def iter(
        self,
        twin_id: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        page_size: int = TIME_SERIES_PAGE_SIZE,
        include_data_quality: bool | None = None,
        max_items: int | None = None,
    ) -> AsyncPager[str, TimeSeriesPage, TimeSeriesPoint]:
        """All points of one twin in [start, end]; the order is the server's (not guaranteed)."""
        check_id(twin_id, "twin_id")
        _page_size(page_size)
        return self._pager(
            lambda token: self.page(
                twin_id,
                start,
                end,
                page_size=page_size,
                continuation_token=_sent_back(token),
                include_data_quality=include_data_quality,
            ),
            continuation_extract(lambda p: p.data or None, lambda p: p.continuation_token),
            max_items,
        )

    async def latest(
        self,
        twin_id: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        include_data_quality: bool | None = None,
    ) -> list[TimeSeriesPoint]:
        """The latest value(s) within the last hour; ``[]`` is a normal answer for a quiet point."""
        return await self._call(
            list,
            get_time_series_by_id_latest.asyncio_detailed,
            check_id(twin_id, "twin_id"),
            client=self._generated,
            start=aware(start, "start") if start is not None else UNSET,
            end=aware(end, "end") if end is not None else UNSET,
            include_data_quality=unset_if_none(check_flag(include_data_quality, "include_data_quality", optional=True)),
        )

    async def page_many(
        self,
        twin_ids: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        *,
        page_size: int = TIME_SERIES_PAGE_SIZE,
        continuation_token: str | None = None,
        include_data_quality: bool | None = None,
    ) -> TimeSeriesPage:
        """One page of ``POST /time-series/ids`` (several twins per request)."""
        return await self._call(
            TimeSeriesPage,
            get_time_series_ids.asyncio_detailed,
            client=self._generated,
            body=checked_ids(twin_ids, "twin_ids"),
            start=aware(start, "start"),
            end=aware(end, "end"),
            page_size=_page_size(page_size),
            # Published as required even on the first page, where it is empty.
            continuation_token=check_token(continuation_token) if continuation_token is not None else "",
            include_data_quality=unset_if_none(check_flag(include_data_quality, "include_data_quality", optional=True)),
        )

    def iter_many(
        self,
        twin_ids: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        *,
        page_size: int = TIME_SERIES_PAGE_SIZE,
        include_data_quality: bool | None = None,
        max_items: int | None = None,
    ) -> AsyncPager[str, TimeSeriesPage, TimeSeriesPoint]:
        """All points of several twins in [start, end], page by page."""
        ids = checked_ids(twin_ids, "twin_ids")
        _page_size(page_size)
        return self._pager(
            lambda token: self.page_many(
                ids,
                start,
                end,
                page_size=page_size,
                continuation_token=_sent_back(token),
                include_data_quality=include_data_quality,
            ),
            continuation_extract(lambda p: p.data or None, lambda p: p.continuation_token),
            max_items,
        )

    async def latest_many(
        self, twin_ids: Sequence[str], *, include_data_quality: bool | None = None
    ) -> list[TimeSeriesPoint]:
        """The latest value(s) of several twins (``POST /time-series/ids/latest``)."""
        return await self._call(
            list,
            get_time_series_ids_latest.asyncio_detailed,
            client=self._generated,
            body=checked_ids(twin_ids, "twin_ids"),
            include_data_quality=unset_if_none(check_flag(include_data_quality, "include_data_quality", optional=True)),
        )


class AsyncInsights(_AsyncResource):
    async def page(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page: int = 1,
        page_size: int | None = None,
        add_floor: bool = False,
    ) -> InsightPage:
        """One page of ``POST /insights``: ``page_size`` counts root insights; children come along."""
        return await self._call(
            InsightPage,
            post_insights.asyncio_detailed,
            client=self._generated,
            body=as_batch(filters, sort, page, page_size),
            add_floor=check_flag(add_floor, "add_floor"),
        )

    async def get(self, insight_id: str) -> Insight:
        """``GET /insights/{id}``."""
        return await self._call(
            Insight,
            get_insights_insight_id.asyncio_detailed,
            check_id(insight_id, "insight_id"),
            client=self._generated,
        )

    async def iter_trees(
        self, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE, add_floor: bool = False
    ) -> AsyncIterator[InsightTree[Insight]]:
        """``InsightTree(parent_id, root, children)`` groups, each insight exactly once."""
        filters, sort = _specs(filters, sort)  # once, so every page sends the same filter
        assembler: InsightTreeAssembler[Insight] = InsightTreeAssembler()
        pager: AsyncPager[int, InsightPage, Insight] = self._pager(
            lambda number: self.page(
                filters=filters, sort=sort, page=number or 1, page_size=page_size, add_floor=add_floor
            ),
            offset_extract(InsightTreeAssembler.root_count, page_size, counters_exact=False),
            offset_pages=True,
        )
        async for _, items in pager.pages():
            for tree in assembler.add_page(items):
                yield tree
        for tree in assembler.finish():
            yield tree

    async def iter(
        self, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE, add_floor: bool = False
    ) -> AsyncIterator[Insight]:
        """Every insight exactly once, each root followed by its children."""
        async for tree in self.iter_trees(filters=filters, sort=sort, page_size=page_size, add_floor=add_floor):
            for insight in tree:
                yield insight


class AsyncEvents(_AsyncResource):
    async def page(
        self, *, filters: Filters = None, sort: Sorts = None, page: int = 1, page_size: int | None = None
    ) -> EventPage:
        """One page of ``POST /events``."""
        return await self._call(
            EventPage,
            post_events.asyncio_detailed,
            client=self._generated,
            body=as_batch(filters, sort, page, page_size),
        )

    def iter(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page_size: int = BATCH_PAGE_SIZE,
        max_items: int | None = None,
    ) -> AsyncPager[int, EventPage, Event]:
        """Every event matching the filters, page by page."""
        return self._batch_pager(self.page, filters, sort, page_size, max_items)

    async def upsert(self, events: Sequence[Event | Mapping[str, Any]]) -> EventsUpsertResult:
        """``PUT /events``: create or replace events."""
        return await self._call(
            EventsUpsertResult,
            put_events.asyncio_detailed,
            client=self._generated,
            body=as_models(events, Event, "events"),
        )

    async def delete(self, event_ids: Sequence[str]) -> None:
        """``DELETE /events`` by id."""
        await self._call(
            None, delete_events.asyncio_detailed, client=self._generated, body=checked_ids(event_ids, "event_ids")
        )

    async def get(self, event_id: str) -> Event:
        """``GET /events/{id}``."""
        return await self._call(
            Event, get_events_event_id.asyncio_detailed, check_id(event_id, "event_id"), client=self._generated
        )

    async def types(self) -> list[dict[str, Any]]:
        """``GET /events/types`` as plain JSON objects."""
        return [
            as_dict(item) for item in await self._call(list, get_events_types.asyncio_detailed, client=self._generated)
        ]

    async def upload_files(self, files: Sequence[tuple[str, bytes, str]]) -> dict[str, Any]:
        """``files``: ``(file name, content, media type)`` triples."""
        result = await self._call(
            OpenObject, post_events_files.asyncio_detailed, client=self._generated, body=multipart_files(files)
        )
        return result.to_dict()


class AsyncTickets(_AsyncResource):
    async def page(
        self, *, filters: Filters = None, sort: Sorts = None, page: int = 1, page_size: int | None = None
    ) -> TicketPage:
        """One page of ``POST /tickets``."""
        return await self._call(
            TicketPage,
            post_tickets.asyncio_detailed,
            client=self._generated,
            body=as_batch(filters, sort, page, page_size),
        )

    def iter(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page_size: int = BATCH_PAGE_SIZE,
        max_items: int | None = None,
    ) -> AsyncPager[int, TicketPage, Ticket]:
        """Every ticket matching the filters, page by page."""
        return self._batch_pager(self.page, filters, sort, page_size, max_items)

    async def create(self, ticket: CreateTicketRequest | Mapping[str, Any]) -> Ticket:
        """``PUT /tickets`` creates a ticket (not retried unless it certainly was not sent)."""
        return await self._call(
            Ticket, put_tickets.asyncio_detailed, client=self._generated, body=as_model(ticket, CreateTicketRequest)
        )

    async def get(self, ticket_id: str) -> Ticket:
        """``GET /tickets/{id}``."""
        return await self._call(
            Ticket, get_tickets_ticket_id.asyncio_detailed, check_id(ticket_id, "ticket_id"), client=self._generated
        )

    async def update(self, ticket_id: str, changes: Mapping[str, Any]) -> Ticket:
        """Replace properties: ``{"summary": "New", "/description": "..."}`` (only ``replace`` is allowed)."""
        return await self._call(
            Ticket,
            patch_tickets_ticket_id.asyncio_detailed,
            check_id(ticket_id, "ticket_id"),
            client=self._generated,
            body=replace_ops(changes),
        )

    async def attachment(self, ticket_id: str, attachment_id: str) -> bytes:
        """The bytes of one ticket attachment."""
        result = await self._call(
            File,
            get_tickets_ticket_id_attachments_attachment_id.asyncio_detailed,
            check_id(ticket_id, "ticket_id"),
            check_id(attachment_id, "attachment_id"),
            client=self._generated,
        )
        return bytes(result.payload.read())


class _ListOp(Protocol):
    def __call__(self, *, client: GeneratedClient, body: BatchRequest) -> Awaitable[GeneratedResponse[Any]]: ...


class _CreateOp(Protocol):
    def __call__(
        self, *, client: GeneratedClient, body: CreateTicketMetadataRequest
    ) -> Awaitable[GeneratedResponse[Any]]: ...


class _UpdateOp(Protocol):
    def __call__(
        self, item_id: str, /, *, client: GeneratedClient, body: list[TicketPatchOperation]
    ) -> Awaitable[GeneratedResponse[Any]]: ...


class _MetadataOps(NamedTuple):
    list_op: _ListOp
    create_op: _CreateOp
    update_op: _UpdateOp
    page_type: type[Any]
    item_type: type[Any]


_METADATA: dict[MetadataKind, _MetadataOps] = {
    "categories": _MetadataOps(
        post_tickets_categories.asyncio_detailed,
        put_tickets_categories.asyncio_detailed,
        patch_tickets_categories_category_id.asyncio_detailed,
        TicketCategoryPage,
        TicketCategory,
    ),
    "job-types": _MetadataOps(
        post_tickets_job_types.asyncio_detailed,
        put_tickets_job_types.asyncio_detailed,
        patch_tickets_job_types_job_type_id.asyncio_detailed,
        TicketJobTypePage,
        TicketJobType,
    ),
    "service-needed": _MetadataOps(
        post_tickets_service_needed.asyncio_detailed,
        put_tickets_service_needed.asyncio_detailed,
        patch_tickets_service_needed_service_needed_id.asyncio_detailed,
        TicketServiceNeededPage,
        TicketServiceNeeded,
    ),
}


class AsyncTicketMetadata(_AsyncResource):
    """Categories, job types and services needed share one shape: pick one with ``kind``."""

    async def page(
        self,
        kind: MetadataKind,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page: int = 1,
        page_size: int | None = None,
    ) -> Any:
        """One page of ``POST /tickets/{kind}``."""
        ops = _METADATA[check_metadata_kind(kind)]
        return await self._call(
            ops.page_type, ops.list_op, client=self._generated, body=as_batch(filters, sort, page, page_size)
        )

    def iter(
        self, kind: MetadataKind, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE
    ) -> AsyncPager[int, Any, Any]:
        """Every item of one metadata kind, page by page."""
        check_metadata_kind(kind)
        return self._batch_pager(functools.partial(self.page, kind), filters, sort, page_size)

    async def create(self, kind: MetadataKind, name: str) -> Any:
        """``PUT /tickets/{kind}`` creates an item (not retried unless it certainly was not sent)."""
        ops = _METADATA[check_metadata_kind(kind)]
        return await self._call(
            ops.item_type,
            ops.create_op,
            client=self._generated,
            body=CreateTicketMetadataRequest(name=check_text(name, "name")),
        )

    async def update(self, kind: MetadataKind, item_id: str, changes: Mapping[str, Any]) -> Any:
        """Replace properties of one item (only ``replace`` operations are allowed)."""
        ops = _METADATA[check_metadata_kind(kind)]
        return await self._call(
            ops.item_type,
            ops.update_op,
            check_id(item_id, "item_id"),
            client=self._generated,
            body=replace_ops(changes),
        )

    async def statuses(self) -> list[TicketStatus]:
        """``GET /tickets/status``."""
        return await self._call(list, get_tickets_status.asyncio_detailed, client=self._generated)

    async def priorities(self) -> list[TicketPriority]:
        """``GET /tickets/priorities``."""
        return await self._call(list, get_tickets_priorities.asyncio_detailed, client=self._generated)
