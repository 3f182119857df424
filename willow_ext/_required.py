"""Required fields that arrived null or with the wrong type.

The generated ``from_dict`` copies whatever the JSON holds, so ``{"id": null}`` would become a
``Twin`` with ``id=None`` (and de-duplication by id could then drop items). This check runs on
every parsed 2xx body: a required, non-nullable field must be present with its declared scalar
type. It walks nested models and lists of models a few levels deep. An item of a ``list[Model]``
field that is not a ``Model`` (``{"data": [null]}``, or an object the generated parser could not
read, which its union fallback leaves as a raw dict) is a violation too.

It is cheap because everything about a model class is worked out once (:class:`_Plan`): the
required fields to check, and the few fields whose annotation names a model class (only those
can hold a nested model; a ``str`` or ``list[str]`` field is never walked). The path of a
violation (``items[3].id``) is built only when there is one.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
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
#: Names in a field annotation that can never be (or contain) a generated model.
_LEAF_NAMES = frozenset(
    {"None", "str", "int", "float", "bool", "bytes", "Unset", "Any", "datetime.datetime", "datetime.date"}
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9.]*")
_LIST_OF = re.compile(r"\blist\[([A-Za-z_][A-Za-z_0-9]*)\]")
# (field name, accepted types or None for "any non-null value")
_Rules = tuple[tuple[str, tuple[type, ...] | None], ...]
MAX_DEPTH = 3


@attrs.frozen
class _Plan:
    rules: _Rules
    #: Fields whose value may be a model or a list (of models): the only ones walked.
    children: tuple[str, ...]
    #: For a child annotated ``list[Model]``: the model class each of its items must be.
    item_types: dict[str, type]


_plans: dict[type, _Plan | None] = {}
_UNKNOWN = object()  # a class not planned yet
# A violation found below: the path parts from the inside out (field names, list indexes), and what is wrong.
_Found = tuple[list[str | int], str]


def _annotation(field: attrs.Attribute[Any]) -> str:
    return field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")


def _may_hold_models(cls: type, annotation: str) -> bool:
    """Whether a field so annotated can hold a model (or a list of them): it names a class that
    is an attrs class, or one that cannot be resolved (then it is walked, to be safe)."""
    if not annotation:
        return True
    module = sys.modules.get(cls.__module__)
    package = sys.modules.get(cls.__module__.rpartition(".")[0])
    for name in _NAME.findall(annotation):
        if name in _LEAF_NAMES or name in ("list", "dict", "Mapping"):
            continue
        found = getattr(module, name, None) or getattr(package, name, None)
        if not isinstance(found, type) or attrs.has(found):
            return True
    return False


def _list_item_type(cls: type, annotation: str) -> type | None:
    """``Model`` for a ``list[Model] | ...`` annotation naming one attrs class, else None."""
    names = _LIST_OF.findall(annotation)
    if len(names) != 1:
        return None
    module = sys.modules.get(cls.__module__)
    package = sys.modules.get(cls.__module__.rpartition(".")[0])
    found = getattr(module, names[0], None) or getattr(package, names[0], None)
    return found if isinstance(found, type) and attrs.has(found) else None


def _plan(cls: type) -> _Plan | None:
    """What to check on instances of ``cls`` (None: not an attrs class, nothing to check)."""
    try:
        return _plans[cls]
    except KeyError:
        pass
    plan: _Plan | None = None
    if attrs.has(cls):
        rules: list[tuple[str, tuple[type, ...] | None]] = []
        children: list[str] = []
        item_types: dict[str, type] = {}
        for field in attrs.fields(cls):
            annotation = _annotation(field)
            if _may_hold_models(cls, annotation):
                children.append(field.name)
                item_type = _list_item_type(cls, annotation)
                if item_type is not None:
                    item_types[field.name] = item_type
            if field.default is not attrs.NOTHING or "None" in annotation or not field.init:
                continue  # optional, nullable, or not from the wire (additional_properties)
            rules.append((field.name, _SCALARS.get(annotation.strip())))
        if rules or children:  # else nothing can ever be wrong in it: None, as for a non-model
            plan = _Plan(tuple(rules), tuple(children), item_types)
    _plans[cls] = plan
    return plan


def _bad_type(value: object, accepted: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in accepted:
        return True  # JSON true is not a number
    return not isinstance(value, accepted)


def _find(value: Any, depth: int) -> _Found | None:
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        if depth + 1 > MAX_DEPTH:
            return None  # every item would be past the depth limit
        for index, item in enumerate(value):
            found = _find(item, depth + 1)
            if found:
                found[0].append(index)
                return found
        return None
    cls = type(value)
    plan = _plans[cls] if cls in _plans else _plan(cls)
    if plan is None:
        return None
    for name, accepted in plan.rules:
        field_value = getattr(value, name)
        if field_value is None:
            return [name], "is null"
        if accepted is not None and type(field_value) not in accepted and _bad_type(field_value, accepted):
            return [name], f"is {type(field_value).__name__}, not {accepted[0].__name__}"
    child_depth = depth + 1
    for name in plan.children:
        child = getattr(value, name)
        if isinstance(child, list):
            item_type = plan.item_types.get(name)
            if item_type is not None:
                for index, item in enumerate(child):
                    if type(item) is not item_type:
                        return [index, name], f"is {_json_kind(item)}, not {item_type.__name__}"
            if child_depth + 1 > MAX_DEPTH:
                continue  # its items would be past the depth limit
        elif _plans.get(type(child), _UNKNOWN) is None:
            continue  # UNSET, None, a scalar, or a model with nothing to check: no call needed
        found = _find(child, child_depth)
        if found:
            found[0].append(name)
            return found
    return None


def _json_kind(value: object) -> str:
    if isinstance(value, dict):  # the generated parser gave up on the list (maybe on another item)
        return "an object left unparsed"
    return "null" if value is None else type(value).__name__


def first_violation(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Where the first required field is null or mistyped (``"items[3].id is null"``), or None."""
    found = _find(value, depth)
    if found is None:
        return None
    parts, problem = found
    where = path
    for part in reversed(parts):
        where = f"{where}[{part}]" if isinstance(part, int) else f"{where}.{part}" if where else part
    return f"{where} {problem}"
