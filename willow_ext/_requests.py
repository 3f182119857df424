"""Pure builders that turn friendly arguments into the generated request models.

Shared by the sync and async resources, so the two only differ in how they send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from willow_api_client.models import (
    BatchRequest,
    FilterSpecification,
    GetTwinsRequest,
    JsonPatchOperation,
    SortSpecification,
    TicketPatchOperation,
    TimeSeriesWrite,
)
from willow_api_client.types import UNSET, Unset

from ._errors import InvalidRequestError

__all__ = [
    "as_batch",
    "as_model",
    "as_models",
    "aware",
    "chunked",
    "json_patch",
    "missing_twin_reference",
    "replace_ops",
    "telemetry_points",
    "twin_query",
]

M = TypeVar("M")

#: POST /tickets allows up to 1000 per page (docs); insights and events document no maximum.
MAX_PAGE_SIZE = {"tickets": 1000, "insights": 1000, "events": 1000, "metadata": 1000}


def as_model(value: M | Mapping[str, Any], cls: type[M]) -> M:
    """Accept the generated model or a plain dict in wire (camelCase) form."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls.from_dict(dict(value))  # type: ignore[attr-defined, no-any-return]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"not a valid {cls.__name__}: {type(exc).__name__}: {exc}") from exc
    raise InvalidRequestError(f"expected {cls.__name__} or a dict, got {type(value).__name__}")


def as_models(values: Iterable[M | Mapping[str, Any]], cls: type[M]) -> list[M]:
    return [as_model(value, cls) for value in values]


def aware(value: dt.datetime, name: str) -> dt.datetime:
    """Willow timestamps are UTC instants; a naive datetime would be sent without an offset."""
    if not isinstance(value, dt.datetime):
        raise InvalidRequestError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError(f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return value


def as_batch(
    filters: Sequence[FilterSpecification | Mapping[str, Any]] | None,
    sort: Sequence[SortSpecification | Mapping[str, Any]] | None,
    page: int | None,
    page_size: int | None,
) -> BatchRequest:
    """The shared ``{sortSpecifications, filterSpecifications, page, pageSize}`` body."""
    if page_size is not None and page_size < 1:
        raise InvalidRequestError("page_size must be at least 1")
    return BatchRequest(
        filter_specifications=as_models(filters, FilterSpecification) if filters else UNSET,
        sort_specifications=as_models(sort, SortSpecification) if sort else UNSET,
        page=page if page is not None else UNSET,
        page_size=page_size if page_size is not None else UNSET,
    )


def twin_query(
    query: GetTwinsRequest | Mapping[str, Any] | None, page_size: int | None, token: str | None
) -> GetTwinsRequest:
    """A copy of the twins query with this page's size and continuation token."""
    base = as_model(query or {}, GetTwinsRequest).to_dict()
    if page_size is not None:
        if not 1 <= page_size <= 1000:
            raise InvalidRequestError("page_size must be between 1 and 1000 for POST /twins")
        base["pageSize"] = page_size
    if token is not None:
        base["continuationToken"] = token
    else:
        base.pop("continuationToken", None)
    return GetTwinsRequest.from_dict(base)


def replace_ops(changes: Mapping[str, Any]) -> list[TicketPatchOperation]:
    """``{"/summary": "x"}`` or ``{"summary": "x"}`` -> JSON Patch ``replace`` operations (RFC 6902)."""
    return [
        TicketPatchOperation.from_dict(
            {"op": "replace", "path": path if path.startswith("/") else f"/{path}", "value": value}
        )
        for path, value in changes.items()
    ]


def json_patch(operations: Sequence[JsonPatchOperation | Mapping[str, Any]]) -> list[JsonPatchOperation]:
    if not operations:
        raise InvalidRequestError("a JSON Patch needs at least one operation")
    return as_models(operations, JsonPatchOperation)


def telemetry_points(points: Iterable[TimeSeriesWrite | Mapping[str, Any]]) -> list[TimeSeriesWrite]:
    """Validate points locally: the server silently drops a point with neither dtId nor externalId."""
    out: list[TimeSeriesWrite] = []
    for index, point in enumerate(points):
        model = as_model(point, TimeSeriesWrite)
        out.append(model)
        if not missing_twin_reference(model):
            continue
        raise InvalidRequestError(f"point {index} has neither dtId nor externalId; the server would drop it silently")
    return out


def missing_twin_reference(point: TimeSeriesWrite) -> bool:
    return not any(isinstance(v, str) and v for v in (point.dt_id, point.external_id, point.twin_id))


def chunked(values: Iterable[M], size: int) -> Iterable[list[M]]:
    chunk: list[M] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def unset_if_none(value: M | None) -> M | Unset:
    return UNSET if value is None else value
