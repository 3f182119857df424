"""Build ``filterSpecifications`` / ``sortSpecifications`` without hand-writing dicts.

>>> where("Type").equals("fault")
>>> where("Priority").le(2, combine="Or")
>>> where("Status").in_(["open", "new"])
>>> sort_by("LastOccurredDate").desc()

Field names are the names of the service's *stored entity* properties, not the names in the
response body (reference: [src] Willow.Batch ``FilterSpecificationDto.BuildFieldExpression`` on
InsightCore's ``InsightEntity``; audit 06, N8/N9/A5). What is known:

- Insights: the current status is ``Status`` (the response calls it ``lastStatus``; the response's
  ``status`` is an obsolete mapping) and the last occurrence is ``LastOccurredDate`` (the response
  calls it ``occurredDate``). Only these two entity names are in the evidence; that response
  names such as ``type`` or ``priority`` also name entity properties is inferred, not verified.
  The lookup is .NET ``Expression.Property``, which probably ignores case (inferred).
- A filter whose field does not resolve is silently dropped (the results come back UNFILTERED), so
  ``where("lastStatus")`` filters nothing. A sort field that does not resolve probably fails the
  request with HTTP 500 (inferred), so ``sort_by("occurredDate")`` likely fails.
- Events, tickets and the ticket-metadata lists: their entity names are not in any stored evidence.
  Names that are also response fields (``name``, ``startTime``, ``createdDate`` ...) are the best
  guess; check a filtered count against an unfiltered one before relying on a filter.

The operator vocabulary is Willow.Batch's (reference: [src] ``FilterOperators``): no page of the
published docs lists it, so the strings below are the source's, sent verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from willow_api_client.models import FilterSpecification, SortSpecification

from ._errors import InvalidRequestError

__all__ = ["Combine", "FieldRef", "SortRef", "sort_by", "where"]

Combine = Literal["And", "Or"]


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A filterable field. Each method returns one ``FilterSpecification``."""

    name: str

    def _spec(self, operator: str, value: Any = None, combine: Combine | None = None) -> FilterSpecification:
        body: dict[str, Any] = {"field": self.name, "operator": operator, "value": value}
        if combine is not None:
            body["filterConditionOperator"] = combine
        return FilterSpecification.from_dict(body)

    def equals(self, value: Any, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("equals", value, combine)

    def not_equals(self, value: Any, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("!=", value, combine)

    def gt(self, value: Any, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec(">", value, combine)

    def ge(self, value: Any, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec(">=", value, combine)

    def lt(self, value: Any, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("<", value, combine)

    def le(self, value: Any, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("<=", value, combine)

    def contains(self, value: str, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("contains", value, combine)

    def not_contains(self, value: str, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("notcontains", value, combine)

    def starts_with(self, value: str, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("startsWith", value, combine)

    def ends_with(self, value: str, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("endsWith", value, combine)

    def like(self, value: str, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("like", value, combine)

    def in_(self, values: Sequence[Any], *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("in", _non_empty(values, "in"), combine)

    def not_in(self, values: Sequence[Any], *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("notin", _non_empty(values, "notin"), combine)

    def contained_in(self, values: Sequence[Any], *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("containedIn", _non_empty(values, "containedIn"), combine)

    def is_null(self, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("isNull", None, combine)

    def is_not_null(self, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("isNotNull", None, combine)

    def is_empty(self, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("isEmpty", None, combine)

    def is_not_empty(self, *, combine: Combine | None = None) -> FilterSpecification:
        return self._spec("isNotEmpty", None, combine)


def _non_empty(values: Sequence[Any], operator: str) -> list[Any]:
    # Willow.Batch rejects an empty collection for these operators; say so before sending.
    if isinstance(values, str) or not values:
        raise InvalidRequestError(f"{operator} needs a non-empty list of values")
    return list(values)


def where(*fields: str) -> FieldRef:
    """A filter on one entity property, or on several at once (matched if any matches).

    ``fields`` are the service's entity property names, not response names: for insights use
    ``Status`` (not ``lastStatus``) and ``LastOccurredDate`` (not ``occurredDate``). An unknown name
    is silently ignored by the server, which then returns unfiltered results (see the module doc).
    """
    if not fields or not all(isinstance(f, str) and f.strip() for f in fields):
        raise InvalidRequestError("where() needs at least one non-empty field name")
    return FieldRef(",".join(fields))


@dataclass(frozen=True, slots=True)
class SortRef:
    name: str

    def asc(self) -> SortSpecification:
        return SortSpecification(field=self.name, sort="asc")

    def desc(self) -> SortSpecification:
        return SortSpecification(field=self.name, sort="desc")


def sort_by(field: str) -> SortRef:
    """A sort key on an entity property name (insights: ``LastOccurredDate``, not ``occurredDate``).

    An unknown name probably fails the request with HTTP 500 (inferred from [src]). Always sends
    ``asc`` or ``desc`` (a null ``sort`` breaks the server's parser).
    """
    if not field.strip():
        raise InvalidRequestError("sort_by() needs a field name")
    return SortRef(field)
