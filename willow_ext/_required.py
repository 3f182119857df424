"""Required fields that arrived null or with the wrong type.

The generated ``from_dict`` copies whatever the JSON holds, so ``{"id": null}`` would become a
``Twin`` with ``id=None`` (and de-duplication by id could then drop items). This check runs on
every parsed 2xx body: a required, non-nullable field must be present with its declared scalar
type. It is cheap (the rules of each model class are worked out once) and walks nested models
and lists of models a few levels deep.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

__all__ = ["first_violation"]

_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime.datetime": (dt.datetime,),
    "datetime.date": (dt.date,),
}
# (field name, accepted types or None for "any non-null value")
_Rules = tuple[tuple[str, tuple[type, ...] | None], ...]
_rules_by_class: dict[type, _Rules] = {}
MAX_DEPTH = 3


def _rules(cls: type) -> _Rules:
    rules = _rules_by_class.get(cls)
    if rules is None:
        found: list[tuple[str, tuple[type, ...] | None]] = []
        for field in attrs.fields(cls):
            annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
            if field.default is not attrs.NOTHING or "None" in annotation or not field.init:
                continue  # optional, nullable, or not from the wire (additional_properties)
            found.append((field.name, _SCALARS.get(annotation.strip())))
        rules = _rules_by_class[cls] = tuple(found)
    return rules


def _bad_type(value: object, accepted: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in accepted:
        return True  # JSON true is not a number
    return not isinstance(value, accepted)


def first_violation(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Where the first required field is null or mistyped (``"items[3].id is null"``), or None."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_violation(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    if not attrs.has(type(value)):
        return None
    for name, accepted in _rules(type(value)):
        field_value = getattr(value, name)
        where = f"{path}.{name}" if path else name
        if field_value is None:
            return f"{where} is null"
        if accepted is not None and _bad_type(field_value, accepted):
            return f"{where} is {type(field_value).__name__}, not {accepted[0].__name__}"
    for field in attrs.fields(type(value)):
        child = getattr(value, field.name)
        if isinstance(child, list) or attrs.has(type(child)):
            found = first_violation(child, f"{path}.{field.name}" if path else field.name, depth + 1)
            if found:
                return found
    return None
