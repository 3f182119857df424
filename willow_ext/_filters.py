"""Build ``filterSpecifications`` / ``sortSpecifications`` without hand-writing dicts.

>>> where("type").equals("fault")
>>> where("priority").le(2, combine="Or")
>>> where("lastStatus").in_(["open", "new"])
>>> sort_by("occurredDate").desc()

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
    """A filter on one field, or on several at once (matched if any matches: ``where("name", "twinName")``)."""
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
    """A sort key; always send ``asc`` or ``desc`` (a null ``sort`` breaks the server's parser)."""
    if not field.strip():
        raise InvalidRequestError("sort_by() needs a field name")
    return SortRef(field)
