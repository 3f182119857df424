"""Typed methods per API group, over the generated operations. They raise typed errors instead of
returning error unions, check ids before sending, and page for you (``iter_*`` methods).

Sync classes first, then their async twins; argument building lives in ``_requests`` so the two
differ only in how they send.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

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
    CreateTicketMetadataRequest,
    CreateTicketRequest,
    DigitalTwinRelationship,
    Event,
    EventFilesUpload,
    EventPage,
    EventsUpsertResult,
    FilterSpecification,
    GetTwinGraphRequest,
    GetTwinsRequest,
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

from ._errors import InvalidRequestError
from ._pagination import AsyncPager, InsightTree, InsightTreeAssembler, Pager, continuation_extract, offset_extract
from ._requests import (
    WirePoint,
    as_batch,
    as_model,
    as_models,
    aware,
    check_id,
    checked_ids,
    json_patch,
    replace_ops,
    telemetry_points,
    twin_query,
    unset_if_none,
)

if TYPE_CHECKING:
    from ._client import AsyncWillowClient, WillowClient

__all__ = [
    "AsyncEvents",
    "AsyncInsights",
    "AsyncModels",
    "AsyncRelationships",
    "AsyncTicketMetadata",
    "AsyncTickets",
    "AsyncTimeSeries",
    "AsyncTwins",
    "Events",
    "Insights",
    "MetadataKind",
    "Models",
    "Relationships",
    "TicketMetadata",
    "Tickets",
    "TimeSeries",
    "Twins",
]

T = TypeVar("T")
C = TypeVar("C")
P = TypeVar("P")
Filters = Sequence[FilterSpecification | Mapping[str, Any]] | None
Sorts = Sequence[SortSpecification | Mapping[str, Any]] | None
TwinQuery = GetTwinsRequest | Mapping[str, Any] | None
MetadataKind = Literal["categories", "job-types", "service-needed"]

#: Default page sizes: the documented maximum where one exists (tickets 1000, twins 1000).
TWINS_PAGE_SIZE = 1000
BATCH_PAGE_SIZE = 1000
#: The time-series endpoints take pageSize with no documented maximum; the reference advises 100.
TIME_SERIES_PAGE_SIZE = 100

_METADATA = {
    "categories": (
        post_tickets_categories,
        put_tickets_categories,
        patch_tickets_categories_category_id,
        TicketCategoryPage,
        TicketCategory,
    ),
    "job-types": (
        post_tickets_job_types,
        put_tickets_job_types,
        patch_tickets_job_types_job_type_id,
        TicketJobTypePage,
        TicketJobType,
    ),
    "service-needed": (
        post_tickets_service_needed,
        put_tickets_service_needed,
        patch_tickets_service_needed_service_needed_id,
        TicketServiceNeededPage,
        TicketServiceNeeded,
    ),
}


def _metadata(kind: str) -> tuple[Any, Any, Any, type[Any], type[Any]]:
    try:
        return _METADATA[kind]
    except KeyError:
        raise InvalidRequestError(f"ticket metadata kind must be one of {sorted(_METADATA)}, got {kind!r}") from None


def _as_dict(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


def _files(files: Sequence[tuple[str, bytes, str]]) -> EventFilesUpload:
    return EventFilesUpload(
        files=[File(payload=io.BytesIO(data), file_name=name, mime_type=mime) for name, data, mime in files]
    )


class _Resource:
    def __init__(self, client: WillowClient) -> None:
        self._client = client

    @overload
    def _call(self, kind: type[T], operation: Any, /, *args: Any, **kwargs: Any) -> T: ...
    @overload
    def _call(self, kind: tuple[type[Any], ...] | None, operation: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def _call(self, kind: Any, operation: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Send ``operation`` (a generated module); the result must be an instance of ``kind``."""
        return self._client._call(kind, operation.sync_detailed, *args, **kwargs)

    def _pager(
        self,
        fetch: Callable[[C | None], P],
        extract: Callable[[P, C | None], tuple[C | None, list[T]]],
        max_items: int | None = None,
    ) -> Pager[C, P, T]:
        return Pager(fetch, extract, max_items=max_items, raw_response=lambda: self._client.last_response)


class _AsyncResource:
    def __init__(self, client: AsyncWillowClient) -> None:
        self._client = client

    @overload
    async def _call(self, kind: type[T], operation: Any, /, *args: Any, **kwargs: Any) -> T: ...
    @overload
    async def _call(self, kind: tuple[type[Any], ...] | None, operation: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    async def _call(self, kind: Any, operation: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await self._client._call(kind, operation.asyncio_detailed, *args, **kwargs)

    def _pager(
        self,
        fetch: Callable[[C | None], Awaitable[P]],
        extract: Callable[[P, C | None], tuple[C | None, list[T]]],
        max_items: int | None = None,
    ) -> AsyncPager[C, P, T]:
        return AsyncPager(fetch, extract, max_items=max_items, raw_response=lambda: self._client.last_response)


# ================================================================================== sync


class Models(_Resource):
    def list(self, *, root_model: str | None = None, include_model_definitions: bool = False) -> list[Model]:
        return self._call(
            list,
            models_v2_get_models,
            root_model=unset_if_none(root_model),
            include_model_definitions=include_model_definitions,
        )

    def get(self, model_id: str) -> Model:
        return self._call(Model, models_v2_get_model, check_id(model_id, "model_id"))


class Twins(_Resource):
    def get(self, twin_id: str, *, include_relationships: bool = False) -> Twin:
        return self._call(
            Twin,
            twins_v2_get_twin_by_id_async,
            check_id(twin_id, "twin_id"),
            include_relationships=include_relationships,
        )

    def upsert(self, twin: Twin | Mapping[str, Any]) -> Twin:
        return self._call(Twin, twins_v2_create_or_replace_twin_async, body=as_model(twin, Twin))

    def patch(self, twin_id: str, operations: Sequence[JsonPatchOperation | Mapping[str, Any]]) -> None:
        self._call(None, twins_v2_patch_twin, check_id(twin_id, "twin_id"), body=json_patch(operations))

    def query_page(
        self, query: TwinQuery = None, *, page_size: int | None = None, continuation_token: str | None = None
    ) -> TwinPage:
        return self._call(TwinPage, twins_v2_get_twins_async, body=twin_query(query, page_size, continuation_token))

    def iter(
        self, query: TwinQuery = None, *, page_size: int = TWINS_PAGE_SIZE, max_items: int | None = None
    ) -> Pager[str, TwinPage, Twin]:
        """Every twin matching ``query``; continuation tokens handled for you."""
        return self._pager(
            lambda token: self.query_page(query, page_size=page_size, continuation_token=token),
            continuation_extract(lambda p: p.content or None, lambda p: p.continuation_token),
            max_items,
        )

    def get_by_ids(self, twin_ids: Sequence[str], *, include_relationships: bool = False) -> list[Twin]:
        """One request. Unknown ids are silently left out by the server; see ``bulk.get_twins``."""
        result = self._call(
            (list, TwinPage),
            twins_v2_get_twins_by_ids_async,
            body=checked_ids(twin_ids, "twin_ids"),
            include_relationships=include_relationships,
        )
        return list(result.content or []) if isinstance(result, TwinPage) else result

    def graph(self, request: GetTwinGraphRequest | Mapping[str, Any]) -> dict[str, Any]:
        """The graph response shape is undocumented: returned as plain JSON."""
        return self._call(TwinGraph, twins_v2_get_twin_graph, body=as_model(request, GetTwinGraphRequest)).to_dict()

    def count(self, query: TwinQuery = None) -> int | dict[str, Any]:
        result = self._call((int, OpenObject), twins_v2_get_twins_count, body=twin_query(query, None, None))
        return result if isinstance(result, int) else result.to_dict()


class Relationships(_Resource):
    def upsert(self, relationship: DigitalTwinRelationship | Mapping[str, Any]) -> DigitalTwinRelationship:
        return self._call(
            DigitalTwinRelationship,
            relationships_v2_upsert_relationship,
            body=as_model(relationship, DigitalTwinRelationship),
        )

    def get(self, twin_id: str, relationship_id: str) -> DigitalTwinRelationship:
        return self._call(
            DigitalTwinRelationship,
            relationships_v2_get_relationship,
            check_id(twin_id, "twin_id"),
            check_id(relationship_id, "relationship_id"),
        )

    def outgoing(self, twin_id: str) -> list[DigitalTwinRelationship]:
        return self._call(list, relationships_v2_get_relationships, check_id(twin_id, "twin_id"))

    def incoming(self, twin_id: str) -> list[DigitalTwinRelationship]:
        return self._call(list, relationships_v2_get_incoming_relationships, check_id(twin_id, "twin_id"))


class TimeSeries(_Resource):
    def write(self, points: Sequence[TimeSeriesWrite | Mapping[str, Any]]) -> None:
        """One ``POST /time-series`` (202). For any number of points use ``bulk.ingest``."""
        self._send(telemetry_points(points))

    def _send(self, checked: Sequence[TimeSeriesWrite | WirePoint]) -> None:
        """POST points already checked by ``telemetry_points`` (``bulk.ingest`` checks as it reads)."""
        if not checked:
            raise InvalidRequestError("no points to write (the server answers 400 to an empty array)")
        # The generated body serialiser only calls item.to_dict(), which WirePoint provides.
        self._call(None, post_telemetry, body=cast(list[TimeSeriesWrite], checked))

    def page(
        self,
        twin_id: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        page_size: int = TIME_SERIES_PAGE_SIZE,
        continuation_token: str | None = None,
        include_data_quality: bool | None = None,
    ) -> TimeSeriesPage:
        return self._call(
            TimeSeriesPage,
            get_time_series_by_id,
            check_id(twin_id, "twin_id"),
            start=aware(start, "start"),
            end=aware(end, "end"),
            page_size=page_size,
            continuation_token=unset_if_none(continuation_token),
            include_data_quality=unset_if_none(include_data_quality),
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
    ) -> Pager[str, TimeSeriesPage, TimeSeriesPoint]:
        """All points of one twin in [start, end]; the order is the server's (not guaranteed)."""
        return self._pager(
            lambda token: self.page(
                twin_id,
                start,
                end,
                page_size=page_size,
                continuation_token=token,
                include_data_quality=include_data_quality,
            ),
            continuation_extract(lambda p: p.data or None, lambda p: p.continuation_token),
            max_items,
        )

    def latest(
        self,
        twin_id: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        include_data_quality: bool | None = None,
    ) -> list[TimeSeriesPoint]:
        """The latest value(s) within the last hour; ``[]`` is a normal answer for a quiet point."""
        return self._call(
            list,
            get_time_series_by_id_latest,
            check_id(twin_id, "twin_id"),
            start=aware(start, "start") if start else UNSET,
            end=aware(end, "end") if end else UNSET,
            include_data_quality=unset_if_none(include_data_quality),
        )

    def page_many(
        self,
        twin_ids: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        *,
        page_size: int = TIME_SERIES_PAGE_SIZE,
        continuation_token: str | None = None,
        include_data_quality: bool | None = None,
    ) -> TimeSeriesPage:
        return self._call(
            TimeSeriesPage,
            get_time_series_ids,
            body=checked_ids(twin_ids, "twin_ids"),
            start=aware(start, "start"),
            end=aware(end, "end"),
            page_size=page_size,
            continuation_token=continuation_token or "",
            include_data_quality=unset_if_none(include_data_quality),
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
    ) -> Pager[str, TimeSeriesPage, TimeSeriesPoint]:
        ids = checked_ids(twin_ids, "twin_ids")
        return self._pager(
            lambda token: self.page_many(
                ids,
                start,
                end,
                page_size=page_size,
                continuation_token=token,
                include_data_quality=include_data_quality,
            ),
            continuation_extract(lambda p: p.data or None, lambda p: p.continuation_token),
            max_items,
        )

    def latest_many(
        self, twin_ids: Sequence[str], *, include_data_quality: bool | None = None
    ) -> list[TimeSeriesPoint]:
        return self._call(
            list,
            get_time_series_ids_latest,
            body=checked_ids(twin_ids, "twin_ids"),
            include_data_quality=unset_if_none(include_data_quality),
        )


class Insights(_Resource):
    def page(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page: int = 1,
        page_size: int | None = None,
        add_floor: bool = False,
    ) -> InsightPage:
        return self._call(
            InsightPage, post_insights, body=as_batch(filters, sort, page, page_size), add_floor=add_floor
        )

    def get(self, insight_id: str) -> Insight:
        return self._call(Insight, get_insights_insight_id, check_id(insight_id, "insight_id"))

    def _root_pager(
        self, filters: Filters, sort: Sorts, page_size: int, add_floor: bool
    ) -> Pager[int, InsightPage, Insight]:
        """Pages of root insights (the only ones the server counts) with their children."""
        return self._pager(
            lambda number: self.page(
                filters=filters, sort=sort, page=number or 1, page_size=page_size, add_floor=add_floor
            ),
            offset_extract(InsightTreeAssembler.root_count, page_size),
        )

    def iter_trees(
        self, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE, add_floor: bool = False
    ) -> Iterator[InsightTree[Insight]]:
        """``InsightTree(root, children)`` groups, each insight exactly once (see docs/insights.md)."""
        assembler: InsightTreeAssembler[Insight] = InsightTreeAssembler()
        for _, items in self._root_pager(filters, sort, page_size, add_floor).pages():
            yield from assembler.add_page(items)
        yield from assembler.finish()

    def iter(
        self, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE, add_floor: bool = False
    ) -> Iterator[Insight]:
        """Every insight exactly once, each root followed by its children."""
        for tree in self.iter_trees(filters=filters, sort=sort, page_size=page_size, add_floor=add_floor):
            yield from tree


class Events(_Resource):
    def page(
        self, *, filters: Filters = None, sort: Sorts = None, page: int = 1, page_size: int | None = None
    ) -> EventPage:
        return self._call(EventPage, post_events, body=as_batch(filters, sort, page, page_size))

    def iter(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page_size: int = BATCH_PAGE_SIZE,
        max_items: int | None = None,
    ) -> Pager[int, EventPage, Event]:
        return self._pager(
            lambda number: self.page(filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
            max_items,
        )

    def upsert(self, events: Sequence[Event | Mapping[str, Any]]) -> EventsUpsertResult:
        return self._call(EventsUpsertResult, put_events, body=as_models(events, Event))

    def delete(self, event_ids: Sequence[str]) -> None:
        self._call(None, delete_events, body=checked_ids(event_ids, "event_ids"))

    def get(self, event_id: str) -> Event:
        return self._call(Event, get_events_event_id, check_id(event_id, "event_id"))

    def types(self) -> list[dict[str, Any]]:
        return [_as_dict(item) for item in self._call(list, get_events_types)]

    def upload_files(self, files: Sequence[tuple[str, bytes, str]]) -> dict[str, Any]:
        """``files``: ``(file name, content, media type)`` triples."""
        return self._call(OpenObject, post_events_files, body=_files(files)).to_dict()


class Tickets(_Resource):
    def page(
        self, *, filters: Filters = None, sort: Sorts = None, page: int = 1, page_size: int | None = None
    ) -> TicketPage:
        return self._call(TicketPage, post_tickets, body=as_batch(filters, sort, page, page_size))

    def iter(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page_size: int = BATCH_PAGE_SIZE,
        max_items: int | None = None,
    ) -> Pager[int, TicketPage, Ticket]:
        return self._pager(
            lambda number: self.page(filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
            max_items,
        )

    def create(self, ticket: CreateTicketRequest | Mapping[str, Any]) -> Ticket:
        return self._call(Ticket, put_tickets, body=as_model(ticket, CreateTicketRequest))

    def get(self, ticket_id: str) -> Ticket:
        return self._call(Ticket, get_tickets_ticket_id, check_id(ticket_id, "ticket_id"))

    def update(self, ticket_id: str, changes: Mapping[str, Any]) -> Ticket:
        """Replace properties: ``{"summary": "New", "/description": "..."}`` (only ``replace`` is allowed)."""
        return self._call(Ticket, patch_tickets_ticket_id, check_id(ticket_id, "ticket_id"), body=replace_ops(changes))

    def attachment(self, ticket_id: str, attachment_id: str) -> bytes:
        result = self._call(
            File,
            get_tickets_ticket_id_attachments_attachment_id,
            check_id(ticket_id, "ticket_id"),
            check_id(attachment_id, "attachment_id"),
        )
        return bytes(result.payload.read())


class TicketMetadata(_Resource):
    """Categories, job types and services needed share one shape: pick one with ``kind``."""

    def page(
        self,
        kind: MetadataKind,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page: int = 1,
        page_size: int | None = None,
    ) -> Any:
        list_op, _, _, page_type, _ = _metadata(kind)
        return self._call(page_type, list_op, body=as_batch(filters, sort, page, page_size))

    def iter(
        self, kind: MetadataKind, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE
    ) -> Pager[int, Any, Any]:
        return self._pager(
            lambda number: self.page(kind, filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
        )

    def create(self, kind: MetadataKind, name: str) -> Any:
        _, create_op, _, _, item_type = _metadata(kind)
        return self._call(item_type, create_op, body=CreateTicketMetadataRequest(name=name))

    def update(self, kind: MetadataKind, item_id: str, changes: Mapping[str, Any]) -> Any:
        _, _, update_op, _, item_type = _metadata(kind)
        return self._call(item_type, update_op, check_id(item_id, "item_id"), body=replace_ops(changes))

    def statuses(self) -> list[TicketStatus]:
        return self._call(list, get_tickets_status)

    def priorities(self) -> list[TicketPriority]:
        return self._call(list, get_tickets_priorities)


# ================================================================================== async


class AsyncModels(_AsyncResource):
    async def list(self, *, root_model: str | None = None, include_model_definitions: bool = False) -> list[Model]:
        return await self._call(
            list,
            models_v2_get_models,
            root_model=unset_if_none(root_model),
            include_model_definitions=include_model_definitions,
        )

    async def get(self, model_id: str) -> Model:
        return await self._call(Model, models_v2_get_model, check_id(model_id, "model_id"))


class AsyncTwins(_AsyncResource):
    async def get(self, twin_id: str, *, include_relationships: bool = False) -> Twin:
        return await self._call(
            Twin,
            twins_v2_get_twin_by_id_async,
            check_id(twin_id, "twin_id"),
            include_relationships=include_relationships,
        )

    async def upsert(self, twin: Twin | Mapping[str, Any]) -> Twin:
        return await self._call(Twin, twins_v2_create_or_replace_twin_async, body=as_model(twin, Twin))

    async def patch(self, twin_id: str, operations: Sequence[JsonPatchOperation | Mapping[str, Any]]) -> None:
        await self._call(None, twins_v2_patch_twin, check_id(twin_id, "twin_id"), body=json_patch(operations))

    async def query_page(
        self, query: TwinQuery = None, *, page_size: int | None = None, continuation_token: str | None = None
    ) -> TwinPage:
        return await self._call(
            TwinPage, twins_v2_get_twins_async, body=twin_query(query, page_size, continuation_token)
        )

    def iter(
        self, query: TwinQuery = None, *, page_size: int = TWINS_PAGE_SIZE, max_items: int | None = None
    ) -> AsyncPager[str, TwinPage, Twin]:
        return self._pager(
            lambda token: self.query_page(query, page_size=page_size, continuation_token=token),
            continuation_extract(lambda p: p.content or None, lambda p: p.continuation_token),
            max_items,
        )

    async def get_by_ids(self, twin_ids: Sequence[str], *, include_relationships: bool = False) -> list[Twin]:
        result = await self._call(
            (list, TwinPage),
            twins_v2_get_twins_by_ids_async,
            body=checked_ids(twin_ids, "twin_ids"),
            include_relationships=include_relationships,
        )
        return list(result.content or []) if isinstance(result, TwinPage) else result

    async def graph(self, request: GetTwinGraphRequest | Mapping[str, Any]) -> dict[str, Any]:
        result = await self._call(TwinGraph, twins_v2_get_twin_graph, body=as_model(request, GetTwinGraphRequest))
        return result.to_dict()

    async def count(self, query: TwinQuery = None) -> int | dict[str, Any]:
        result = await self._call((int, OpenObject), twins_v2_get_twins_count, body=twin_query(query, None, None))
        return result if isinstance(result, int) else result.to_dict()


class AsyncRelationships(_AsyncResource):
    async def upsert(self, relationship: DigitalTwinRelationship | Mapping[str, Any]) -> DigitalTwinRelationship:
        return await self._call(
            DigitalTwinRelationship,
            relationships_v2_upsert_relationship,
            body=as_model(relationship, DigitalTwinRelationship),
        )

    async def get(self, twin_id: str, relationship_id: str) -> DigitalTwinRelationship:
        return await self._call(
            DigitalTwinRelationship,
            relationships_v2_get_relationship,
            check_id(twin_id, "twin_id"),
            check_id(relationship_id, "relationship_id"),
        )

    async def outgoing(self, twin_id: str) -> list[DigitalTwinRelationship]:
        return await self._call(list, relationships_v2_get_relationships, check_id(twin_id, "twin_id"))

    async def incoming(self, twin_id: str) -> list[DigitalTwinRelationship]:
        return await self._call(list, relationships_v2_get_incoming_relationships, check_id(twin_id, "twin_id"))


class AsyncTimeSeries(_AsyncResource):
    async def write(self, points: Sequence[TimeSeriesWrite | Mapping[str, Any]]) -> None:
        await self._send(telemetry_points(points))

    async def _send(self, checked: Sequence[TimeSeriesWrite | WirePoint]) -> None:
        if not checked:
            raise InvalidRequestError("no points to write (the server answers 400 to an empty array)")
        await self._call(None, post_telemetry, body=cast(list[TimeSeriesWrite], checked))

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
        return await self._call(
            TimeSeriesPage,
            get_time_series_by_id,
            check_id(twin_id, "twin_id"),
            start=aware(start, "start"),
            end=aware(end, "end"),
            page_size=page_size,
            continuation_token=unset_if_none(continuation_token),
            include_data_quality=unset_if_none(include_data_quality),
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
        return self._pager(
            lambda token: self.page(
                twin_id,
                start,
                end,
                page_size=page_size,
                continuation_token=token,
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
        return await self._call(
            list,
            get_time_series_by_id_latest,
            check_id(twin_id, "twin_id"),
            start=aware(start, "start") if start else UNSET,
            end=aware(end, "end") if end else UNSET,
            include_data_quality=unset_if_none(include_data_quality),
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
        return await self._call(
            TimeSeriesPage,
            get_time_series_ids,
            body=checked_ids(twin_ids, "twin_ids"),
            start=aware(start, "start"),
            end=aware(end, "end"),
            page_size=page_size,
            continuation_token=continuation_token or "",
            include_data_quality=unset_if_none(include_data_quality),
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
        ids = checked_ids(twin_ids, "twin_ids")
        return self._pager(
            lambda token: self.page_many(
                ids,
                start,
                end,
                page_size=page_size,
                continuation_token=token,
                include_data_quality=include_data_quality,
            ),
            continuation_extract(lambda p: p.data or None, lambda p: p.continuation_token),
            max_items,
        )

    async def latest_many(
        self, twin_ids: Sequence[str], *, include_data_quality: bool | None = None
    ) -> list[TimeSeriesPoint]:
        return await self._call(
            list,
            get_time_series_ids_latest,
            body=checked_ids(twin_ids, "twin_ids"),
            include_data_quality=unset_if_none(include_data_quality),
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
        return await self._call(
            InsightPage, post_insights, body=as_batch(filters, sort, page, page_size), add_floor=add_floor
        )

    async def get(self, insight_id: str) -> Insight:
        return await self._call(Insight, get_insights_insight_id, check_id(insight_id, "insight_id"))

    async def iter_trees(
        self, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE, add_floor: bool = False
    ) -> AsyncIterator[InsightTree[Insight]]:
        assembler: InsightTreeAssembler[Insight] = InsightTreeAssembler()
        pager: AsyncPager[int, InsightPage, Insight] = self._pager(
            lambda number: self.page(
                filters=filters, sort=sort, page=number or 1, page_size=page_size, add_floor=add_floor
            ),
            offset_extract(InsightTreeAssembler.root_count, page_size),
        )
        async for _, items in pager.pages():
            for tree in assembler.add_page(items):
                yield tree
        for tree in assembler.finish():
            yield tree

    async def iter(
        self, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE, add_floor: bool = False
    ) -> AsyncIterator[Insight]:
        async for tree in self.iter_trees(filters=filters, sort=sort, page_size=page_size, add_floor=add_floor):
            for insight in tree:
                yield insight


class AsyncEvents(_AsyncResource):
    async def page(
        self, *, filters: Filters = None, sort: Sorts = None, page: int = 1, page_size: int | None = None
    ) -> EventPage:
        return await self._call(EventPage, post_events, body=as_batch(filters, sort, page, page_size))

    def iter(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page_size: int = BATCH_PAGE_SIZE,
        max_items: int | None = None,
    ) -> AsyncPager[int, EventPage, Event]:
        return self._pager(
            lambda number: self.page(filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
            max_items,
        )

    async def upsert(self, events: Sequence[Event | Mapping[str, Any]]) -> EventsUpsertResult:
        return await self._call(EventsUpsertResult, put_events, body=as_models(events, Event))

    async def delete(self, event_ids: Sequence[str]) -> None:
        await self._call(None, delete_events, body=checked_ids(event_ids, "event_ids"))

    async def get(self, event_id: str) -> Event:
        return await self._call(Event, get_events_event_id, check_id(event_id, "event_id"))

    async def types(self) -> list[dict[str, Any]]:
        return [_as_dict(item) for item in await self._call(list, get_events_types)]

    async def upload_files(self, files: Sequence[tuple[str, bytes, str]]) -> dict[str, Any]:
        return (await self._call(OpenObject, post_events_files, body=_files(files))).to_dict()


class AsyncTickets(_AsyncResource):
    async def page(
        self, *, filters: Filters = None, sort: Sorts = None, page: int = 1, page_size: int | None = None
    ) -> TicketPage:
        return await self._call(TicketPage, post_tickets, body=as_batch(filters, sort, page, page_size))

    def iter(
        self,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page_size: int = BATCH_PAGE_SIZE,
        max_items: int | None = None,
    ) -> AsyncPager[int, TicketPage, Ticket]:
        return self._pager(
            lambda number: self.page(filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
            max_items,
        )

    async def create(self, ticket: CreateTicketRequest | Mapping[str, Any]) -> Ticket:
        return await self._call(Ticket, put_tickets, body=as_model(ticket, CreateTicketRequest))

    async def get(self, ticket_id: str) -> Ticket:
        return await self._call(Ticket, get_tickets_ticket_id, check_id(ticket_id, "ticket_id"))

    async def update(self, ticket_id: str, changes: Mapping[str, Any]) -> Ticket:
        return await self._call(
            Ticket, patch_tickets_ticket_id, check_id(ticket_id, "ticket_id"), body=replace_ops(changes)
        )

    async def attachment(self, ticket_id: str, attachment_id: str) -> bytes:
        result = await self._call(
            File,
            get_tickets_ticket_id_attachments_attachment_id,
            check_id(ticket_id, "ticket_id"),
            check_id(attachment_id, "attachment_id"),
        )
        return bytes(result.payload.read())


class AsyncTicketMetadata(_AsyncResource):
    async def page(
        self,
        kind: MetadataKind,
        *,
        filters: Filters = None,
        sort: Sorts = None,
        page: int = 1,
        page_size: int | None = None,
    ) -> Any:
        list_op, _, _, page_type, _ = _metadata(kind)
        return await self._call(page_type, list_op, body=as_batch(filters, sort, page, page_size))

    def iter(
        self, kind: MetadataKind, *, filters: Filters = None, sort: Sorts = None, page_size: int = BATCH_PAGE_SIZE
    ) -> AsyncPager[int, Any, Any]:
        return self._pager(
            lambda number: self.page(kind, filters=filters, sort=sort, page=number or 1, page_size=page_size),
            offset_extract(page_size=page_size),
        )

    async def create(self, kind: MetadataKind, name: str) -> Any:
        _, create_op, _, _, item_type = _metadata(kind)
        return await self._call(item_type, create_op, body=CreateTicketMetadataRequest(name=name))

    async def update(self, kind: MetadataKind, item_id: str, changes: Mapping[str, Any]) -> Any:
        _, _, update_op, _, item_type = _metadata(kind)
        return await self._call(item_type, update_op, check_id(item_id, "item_id"), body=replace_ops(changes))

    async def statuses(self) -> list[TicketStatus]:
        return await self._call(list, get_tickets_status)

    async def priorities(self) -> list[TicketPriority]:
        return await self._call(list, get_tickets_priorities)
