"""A readable summary of what changed between two OpenAPI documents, classified per side.

Used by ``scripts/regen.py`` before it replaces the pinned spec, and by ``willow spec diff``.
Only the parts that matter to a client are compared: operations, their parameters, bodies and
response statuses, and component schemas (fields, types, required and nullable flags, enum values,
length/range constraints). Every schema change is judged by the side it sits on, because the same
edit breaks one direction and not the other (the rules of oasdiff's breaking-changes checks,
https://github.com/oasdiff/oasdiff/blob/main/docs/BREAKING-CHANGES.md):

- request side (the client sends): a new required parameter or field, a removed field, a narrower
  type, enum or constraint (``maxLength`` down, ``minimum`` up, a new ``pattern``...) break callers;
- response side (the client receives): a removed field, a field going from required to optional or
  becoming nullable, a type change, a removed success status, and a new enum value (unless enums
  are opened by ``openapi/overrides.yaml``) break callers; additions, even required ones, do not.

A component schema used on both sides is judged once per side.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ChangeKind", "Side", "SpecChange", "diff_specs", "format_changes", "format_markdown"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_PREFIX = "#/components/schemas/"

ChangeKind = Literal["added", "removed", "changed"]
# "operation": a whole operation; "component": a schema no operation uses.
Side = Literal["request", "response", "operation", "component"]
_DataSide = Literal["request", "response"]

# Constraint -> True when a *larger* value is tighter (minLength) and False when smaller is (maxLength).
_LOWER_BOUNDS = {"minLength": True, "minimum": True, "minItems": True, "minProperties": True}
_UPPER_BOUNDS = {"maxLength": False, "maximum": False, "maxItems": False, "maxProperties": False}
_BOUNDS = {**_LOWER_BOUNDS, **_UPPER_BOUNDS}


@dataclass(frozen=True, slots=True)
class SpecChange:
    """One difference between the old and the new document."""

    kind: ChangeKind
    where: str
    what: str
    breaking: bool
    side: Side

    def __str__(self) -> str:
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        side = f" ({self.side})" if self.side in ("request", "response") else ""
        flag = "  [BREAKING]" if self.breaking else ""
        return f"{mark} {self.where}: {self.what}{side}{flag}"


# ----------------------------------------------------------------------------- reading a document


def _type_of(schema: Any) -> str:
    """A short, comparable description of a schema's type (without nullability)."""
    if not isinstance(schema, Mapping):
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return f"{combinator}[{', '.join(_type_of(s) for s in schema[combinator])}]"
    kind = schema.get("type")
    if kind == "array":
        return f"array[{_type_of(schema.get('items'))}]"
    if kind is None:
        return "object" if "properties" in schema else "any"
    text = str(kind)
    if "format" in schema:
        text += f"({schema['format']})"
    return text


def _resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """Follow local ``#/components/...`` references (parameters, responses, bodies are often shared)."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        ref = node["$ref"]
        if ref in seen or ref.startswith(_SCHEMA_PREFIX):
            return node  # schema references stay references: components are compared on their own
        seen.add(ref)
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node = target
    return node


def _operations(doc: Mapping[str, Any]) -> dict[str, tuple[Mapping[str, Any], list[Any]]]:
    """``"GET /path" -> (operation, path-level parameters)``."""
    ops: dict[str, tuple[Mapping[str, Any], list[Any]]] = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, Mapping):
                ops[f"{method.upper()} {path}"] = (op, list(item.get("parameters") or []))
    return ops


def _parameters(doc: Mapping[str, Any], op: Mapping[str, Any], shared: list[Any]) -> dict[str, Mapping[str, Any]]:
    params: dict[str, Mapping[str, Any]] = {}
    for raw in [*shared, *(op.get("parameters") or [])]:  # operation-level ones override path-level ones
        param = _resolve(doc, raw)
        if isinstance(param, Mapping) and "name" in param:
            params[f"{param.get('in', '?')}:{param['name']}"] = param
    return params


def _content(doc: Mapping[str, Any], holder: Any) -> dict[str, Any]:
    """``media type -> schema`` of a (resolved) request body or response."""
    holder = _resolve(doc, holder)
    content = holder.get("content") if isinstance(holder, Mapping) else None
    if not isinstance(content, Mapping):
        return {}
    return {
        str(media): (body or {}).get("schema") if isinstance(body, Mapping) else None for media, body in content.items()
    }


def _responses(doc: Mapping[str, Any], op: Mapping[str, Any]) -> dict[str, Any]:
    return {str(status): response for status, response in (op.get("responses") or {}).items()}


def _schema_refs(node: Any) -> Iterator[str]:
    """Names of every component schema referenced anywhere under ``node``."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_PREFIX):
            yield ref[len(_SCHEMA_PREFIX) :]
        for value in node.values():
            yield from _schema_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_refs(item)


def _usage(doc: Mapping[str, Any]) -> dict[str, set[_DataSide]]:
    """For each component schema, the sides (request/response) it is reachable from."""
    roots: dict[_DataSide, list[Any]] = {"request": [], "response": []}
    for op, shared in _operations(doc).values():
        roots["request"].extend(p.get("schema") for p in _parameters(doc, op, shared).values())
        roots["request"].extend(_content(doc, op.get("requestBody")).values())
        for response in _responses(doc, op).values():
            roots["response"].extend(_content(doc, response).values())
    schemas = _schemas(doc)
    usage: dict[str, set[_DataSide]] = {}
    for side, nodes in roots.items():
        todo = [name for node in nodes for name in _schema_refs(node)]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            usage.setdefault(name, set()).add(side)
            todo.extend(_schema_refs(schemas.get(name)))
    return usage


def _schemas(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return (doc.get("components") or {}).get("schemas") or {}


# ----------------------------------------------------------------------------- the rules


@dataclass(frozen=True, slots=True)
class _Rules:
    side: _DataSide
    open_enums: bool

    def change(self, kind: ChangeKind, where: str, what: str, *, request: bool, response: bool) -> SpecChange:
        """A change whose breaking-ness is given for each side; this rule set picks its own."""
        return SpecChange(kind, where, what, request if self.side == "request" else response, self.side)


def _bound_changes(where: str, old: Mapping[str, Any], new: Mapping[str, Any], rules: _Rules) -> Iterator[SpecChange]:
    for key, larger_is_tighter in _BOUNDS.items():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            tighter = True
        elif after is None:
            tighter = False
        else:
            tighter = (after > before) == larger_is_tighter
        what = f"{key} {before if before is not None else 'none'} -> {after if after is not None else 'none'}"
        # The client validates nothing it receives, so response constraints never break it.
        yield rules.change("changed", where, what, request=tighter, response=False)
    for key in ("pattern", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        if old.get(key) != new.get(key):
            added = new.get(key) not in (None, False)
            what = f"{key} {old.get(key)!r} -> {new.get(key)!r}"
            yield rules.change("changed", where, what, request=added, response=False)


def _diff_schema(where: str, old: Any, new: Any, rules: _Rules) -> Iterator[SpecChange]:
    """Changes inside one schema (inline parts recursively; ``$ref`` targets are compared on their own)."""
    old = old if isinstance(old, Mapping) else {}
    new = new if isinstance(new, Mapping) else {}
    before_t, after_t = _type_of(old), _type_of(new)
    if before_t != after_t:
        yield rules.change("changed", where, f"type {before_t} -> {after_t}", request=True, response=True)
        return
    if "$ref" in old or any(c in old for c in ("anyOf", "oneOf", "allOf")):
        return  # same reference or same combination: the components themselves are diffed separately
    if bool(old.get("nullable")) != bool(new.get("nullable")):
        now_nullable = bool(new.get("nullable"))
        what = "became nullable" if now_nullable else "no longer nullable"
        yield rules.change("changed", where, what, request=not now_nullable, response=now_nullable)
    yield from _bound_changes(where, old, new, rules)
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if isinstance(old_enum, list) and isinstance(new_enum, list):
        for value in [v for v in new_enum if v not in old_enum]:
            # A closed enum fails to parse an unknown value; an opened one keeps it as a plain str.
            yield rules.change(
                "added", where, f"enum value {value!r} added", request=False, response=not rules.open_enums
            )
        for value in [v for v in old_enum if v not in new_enum]:
            yield rules.change("removed", where, f"enum value {value!r} removed", request=True, response=False)
    elif isinstance(new_enum, list) and not isinstance(old_enum, list):
        yield rules.change("changed", where, "restricted to an enum", request=True, response=False)
    elif isinstance(old_enum, list):
        yield rules.change("changed", where, "no longer an enum", request=False, response=not rules.open_enums)
    if "items" in old or "items" in new:
        yield from _diff_schema(f"{where}[]", old.get("items"), new.get("items"), rules)
    yield from _diff_properties(where, old, new, rules)


def _diff_properties(where: str, old: Mapping[str, Any], new: Mapping[str, Any], rules: _Rules) -> Iterator[SpecChange]:
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_required = set(old.get("required") or [])
    new_required = set(new.get("required") or [])
    for field in sorted(new_props.keys() - old_props.keys()):
        required = field in new_required
        what = f"{'required' if required else 'optional'} field added"
        yield rules.change("added", f"{where}.{field}", what, request=required, response=False)
    for field in sorted(old_props.keys() - new_props.keys()):
        yield rules.change("removed", f"{where}.{field}", "field removed", request=True, response=True)
    for field in sorted(old_props.keys() & new_props.keys()):
        if field in new_required and field not in old_required:
            yield rules.change("changed", f"{where}.{field}", "became required", request=True, response=False)
        if field in old_required and field not in new_required:
            # The generated attribute turns from `T` into `T | Unset`: every reader breaks.
            yield rules.change("changed", f"{where}.{field}", "became optional", request=False, response=True)
        yield from _diff_schema(f"{where}.{field}", old_props[field], new_props[field], rules)
    old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
        yield from _diff_schema(f"{where}{{*}}", old_extra, new_extra, rules)


def _diff_content(where: str, old: dict[str, Any], new: dict[str, Any], rules: _Rules) -> Iterator[SpecChange]:
    for media in sorted(new.keys() - old.keys()):
        yield rules.change("added", where, f"media type {media} added", request=False, response=False)
    for media in sorted(old.keys() - new.keys()):
        yield rules.change("removed", where, f"media type {media} removed", request=True, response=True)
    for media in sorted(old.keys() & new.keys()):
        yield from _diff_schema(where, old[media], new[media], rules)


# ----------------------------------------------------------------------------- operations


def _diff_parameters(
    key: str, old: dict[str, Mapping[str, Any]], new: dict[str, Mapping[str, Any]], rules: _Rules
) -> Iterator[SpecChange]:
    for name in sorted(new.keys() - old.keys()):
        required = bool(new[name].get("required"))
        what = f"{'required' if required else 'optional'} parameter {name} added"
        yield rules.change("added", key, what, request=required, response=False)
    for name in sorted(old.keys() - new.keys()):
        yield rules.change("removed", key, f"parameter {name} removed", request=True, response=True)
    for name in sorted(old.keys() & new.keys()):
        was_required, is_required = bool(old[name].get("required")), bool(new[name].get("required"))
        if is_required != was_required:
            what = f"parameter {name} became {'required' if is_required else 'optional'}"
            yield rules.change("changed", key, what, request=is_required, response=False)
        yield from _diff_schema(f"{key} parameter {name}", old[name].get("schema"), new[name].get("schema"), rules)


def _diff_request_body(
    key: str, old_doc: Any, new_doc: Any, old_op: Any, new_op: Any, rules: _Rules
) -> Iterator[SpecChange]:
    old_body, new_body = _resolve(old_doc, old_op.get("requestBody")), _resolve(new_doc, new_op.get("requestBody"))
    where = f"{key} request body"
    if not old_body and not new_body:
        return
    if not old_body:
        required = bool(new_body.get("required"))
        what = f"{'required' if required else 'optional'} body added"
        yield rules.change("added", where, what, request=required, response=False)
        return
    if not new_body:
        yield rules.change("removed", where, "body removed", request=True, response=True)
        return
    was_required, is_required = bool(old_body.get("required")), bool(new_body.get("required"))
    if was_required != is_required:
        what = f"became {'required' if is_required else 'optional'}"
        yield rules.change("changed", where, what, request=is_required, response=False)
    yield from _diff_content(where, _content(old_doc, old_body), _content(new_doc, new_body), rules)


def _is_success(status: str) -> bool:
    return status.startswith("2") or status.upper() == "2XX" or status == "default"


def _diff_responses(
    key: str, old_doc: Any, new_doc: Any, old_op: Any, new_op: Any, rules: _Rules
) -> Iterator[SpecChange]:
    old_resp, new_resp = _responses(old_doc, old_op), _responses(new_doc, new_op)
    for status in sorted(new_resp.keys() - old_resp.keys()):
        yield rules.change("added", key, f"response status {status} added", request=False, response=False)
    for status in sorted(old_resp.keys() - new_resp.keys()):
        # The generated client parses only the statuses the spec lists; a vanished success status
        # becomes UnexpectedStatus (or None) for every caller.
        what = f"response status {status} removed"
        yield rules.change("removed", key, what, request=False, response=_is_success(status))
    for status in sorted(old_resp.keys() & new_resp.keys()):
        old_content = _content(old_doc, old_resp[status])
        new_content = _content(new_doc, new_resp[status])
        where = f"{key} response {status}"
        if old_content and not new_content:
            yield rules.change("removed", where, "body removed", request=False, response=True)
        elif new_content and not old_content:
            yield rules.change("added", where, "body added", request=False, response=False)
        else:
            yield from _diff_content(where, old_content, new_content, rules)


def _diff_operations(old: Mapping[str, Any], new: Mapping[str, Any], open_enums: bool) -> Iterator[SpecChange]:
    request, response = _Rules("request", open_enums), _Rules("response", open_enums)
    old_ops, new_ops = _operations(old), _operations(new)
    for key in sorted(new_ops.keys() - old_ops.keys()):
        yield SpecChange("added", key, "operation added", False, "operation")
    for key in sorted(old_ops.keys() - new_ops.keys()):
        yield SpecChange("removed", key, "operation removed", True, "operation")
    for key in sorted(old_ops.keys() & new_ops.keys()):
        (old_op, old_shared), (new_op, new_shared) = old_ops[key], new_ops[key]
        old_params, new_params = _parameters(old, old_op, old_shared), _parameters(new, new_op, new_shared)
        yield from _diff_parameters(key, old_params, new_params, request)
        yield from _diff_request_body(key, old, new, old_op, new_op, request)
        yield from _diff_responses(key, old, new, old_op, new_op, response)


# ----------------------------------------------------------------------------- components


def _diff_component(
    name: str, old: Mapping[str, Any], new: Mapping[str, Any], sides: set[_DataSide], open_enums: bool
) -> Iterator[SpecChange]:
    if sides:
        for side in sorted(sides):
            yield from _diff_schema(name, old, new, _Rules(side, open_enums))
        return
    # Used by no operation: only the generated model class can break, so either side's rule counts.
    by_change: dict[tuple[ChangeKind, str, str], bool] = {}
    for side in ("request", "response"):
        for change in _diff_schema(name, old, new, _Rules(side, open_enums)):
            key = (change.kind, change.where, change.what)
            by_change[key] = by_change.get(key, False) or change.breaking
    for (kind, where, what), breaking in by_change.items():
        yield SpecChange(kind, where, what, breaking, "component")


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any], *, open_enums: bool = False) -> list[SpecChange]:
    """Every client-relevant change from ``old`` to ``new``, operations first.

    ``open_enums``: the generated client keeps unknown enum values as plain strings (the
    ``open_enums`` override), so a new value in a response no longer breaks it.
    """
    changes = list(_diff_operations(old, new, open_enums))
    old_schemas, new_schemas = _schemas(old), _schemas(new)
    old_usage, new_usage = _usage(old), _usage(new)
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        changes.append(SpecChange("added", name, "schema added", False, "component"))
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        # Its generated model class disappears.
        changes.append(SpecChange("removed", name, "schema removed", True, "component"))
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        old_schema, new_schema = old_schemas[name], new_schemas[name]
        if isinstance(old_schema, Mapping) and isinstance(new_schema, Mapping):
            sides = old_usage.get(name, set()) | new_usage.get(name, set())
            changes.extend(_diff_component(name, old_schema, new_schema, sides, open_enums))
    return changes


# ----------------------------------------------------------------------------- reports


def format_changes(changes: list[SpecChange]) -> str:
    """A report for people: a headline count, then one line per change."""
    if not changes:
        return "No client-relevant changes."
    breaking = sum(change.breaking for change in changes)
    lines = [f"{len(changes)} change(s), {breaking} breaking:"]
    lines.extend(f"  {change}" for change in changes)
    return "\n".join(lines)


def format_markdown(changes: list[SpecChange]) -> str:
    """The same report as Markdown (a pull-request body): breaking changes first, flagged."""
    if not changes:
        return "No client-relevant changes."
    breaking = [c for c in changes if c.breaking]
    other = [c for c in changes if not c.breaking]
    lines = [f"**{len(changes)} change(s), {len(breaking)} breaking.**", ""]
    if breaking:
        lines += ["### :warning: Breaking changes", ""]
        lines += [f"- **BREAKING** `{c.where}`: {c.what} ({c.side})" for c in breaking]
        lines.append("")
    if other:
        lines += ["### Non-breaking changes", ""]
        lines += [f"- `{c.where}`: {c.what} ({c.side})" for c in other]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
