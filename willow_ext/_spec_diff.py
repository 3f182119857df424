"""A readable summary of what changed between two OpenAPI documents.

Used by ``scripts/regen.sh`` before it replaces the pinned spec, and by ``willow spec diff``.
Only the parts that matter to a client are compared: operations, their parameters and bodies,
and component schemas (fields, types, required flags, enum values). Each change says whether it
can break existing callers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["SpecChange", "diff_specs", "format_changes"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class SpecChange:
    """One difference between the old and the new document."""

    kind: ChangeKind
    where: str
    what: str
    breaking: bool

    def __str__(self) -> str:
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        flag = "  [BREAKING]" if self.breaking else ""
        return f"{mark} {self.where}: {self.what}{flag}"


def _type_of(schema: Any) -> str:
    """A short, comparable description of a schema's type."""
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
    if schema.get("nullable"):
        text += "|null"
    return text


def _operations(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    ops: dict[str, Mapping[str, Any]] = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, Mapping):
                ops[f"{method.upper()} {path}"] = op
    return ops


def _resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """Follow one local ``#/components/...`` reference (parameters are often shared)."""
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return target
    return node


def _parameters(doc: Mapping[str, Any], op: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    params: dict[str, Mapping[str, Any]] = {}
    for raw in op.get("parameters") or []:
        param = _resolve(doc, raw)
        if isinstance(param, Mapping) and "name" in param:
            params[f"{param.get('in', '?')}:{param['name']}"] = param
    return params


def _body_type(op: Mapping[str, Any]) -> str | None:
    content = (op.get("requestBody") or {}).get("content") or {}
    for media in content.values():
        return _type_of(media.get("schema"))
    return None


def _response_types(op: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for status, response in (op.get("responses") or {}).items():
        content = response.get("content") if isinstance(response, Mapping) else None
        if isinstance(content, Mapping):
            for media in content.values():
                out[str(status)] = _type_of(media.get("schema"))
                break
    return out


def _diff_operations(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[SpecChange]:
    old_ops, new_ops = _operations(old), _operations(new)
    for key in sorted(new_ops.keys() - old_ops.keys()):
        yield SpecChange("added", key, "operation added", breaking=False)
    for key in sorted(old_ops.keys() - new_ops.keys()):
        yield SpecChange("removed", key, "operation removed", breaking=True)
    for key in sorted(old_ops.keys() & new_ops.keys()):
        old_op, new_op = old_ops[key], new_ops[key]
        old_params, new_params = _parameters(old, old_op), _parameters(new, new_op)
        for name in sorted(new_params.keys() - old_params.keys()):
            required = bool(new_params[name].get("required"))
            what = f"{'required' if required else 'optional'} parameter {name} added"
            yield SpecChange("added", key, what, breaking=required)
        for name in sorted(old_params.keys() - new_params.keys()):
            yield SpecChange("removed", key, f"parameter {name} removed", breaking=True)
        for name in sorted(old_params.keys() & new_params.keys()):
            before = _type_of(old_params[name].get("schema"))
            after = _type_of(new_params[name].get("schema"))
            if before != after:
                yield SpecChange("changed", key, f"parameter {name}: {before} -> {after}", breaking=True)
            if not old_params[name].get("required") and new_params[name].get("required"):
                yield SpecChange("changed", key, f"parameter {name} became required", breaking=True)
        old_body, new_body = _body_type(old_op), _body_type(new_op)
        if old_body != new_body:
            yield SpecChange("changed", key, f"request body: {old_body} -> {new_body}", breaking=True)
        old_resp, new_resp = _response_types(old_op), _response_types(new_op)
        for status in sorted(old_resp.keys() | new_resp.keys()):
            before_t, after_t = old_resp.get(status), new_resp.get(status)
            if before_t != after_t:
                breaking = before_t is not None and status.startswith("2")
                what = f"response {status}: {before_t} -> {after_t}"
                yield SpecChange("changed", key, what, breaking=breaking)


def _schemas(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return (doc.get("components") or {}).get("schemas") or {}


def _diff_schema(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[SpecChange]:
    before_t, after_t = _type_of(old), _type_of(new)
    if before_t != after_t and not ("properties" in old and "properties" in new):
        yield SpecChange("changed", name, f"type {before_t} -> {after_t}", breaking=True)
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_required = set(old.get("required") or [])
    new_required = set(new.get("required") or [])
    for field in sorted(new_props.keys() - old_props.keys()):
        # A new required field breaks request bodies that callers already build.
        yield SpecChange("added", f"{name}.{field}", "field added", breaking=field in new_required)
    for field in sorted(old_props.keys() - new_props.keys()):
        yield SpecChange("removed", f"{name}.{field}", "field removed", breaking=True)
    for field in sorted(old_props.keys() & new_props.keys()):
        before, after = _type_of(old_props[field]), _type_of(new_props[field])
        if before != after:
            yield SpecChange("changed", f"{name}.{field}", f"type {before} -> {after}", breaking=True)
        if field in new_required and field not in old_required:
            yield SpecChange("changed", f"{name}.{field}", "became required", breaking=True)
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if isinstance(old_enum, list) and isinstance(new_enum, list):
        for value in [v for v in new_enum if v not in old_enum]:
            yield SpecChange("added", name, f"enum value {value!r} added", breaking=False)
        for value in [v for v in old_enum if v not in new_enum]:
            yield SpecChange("removed", name, f"enum value {value!r} removed", breaking=True)


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SpecChange]:
    """Every client-relevant change from ``old`` to ``new``, operations first."""
    changes = list(_diff_operations(old, new))
    old_schemas, new_schemas = _schemas(old), _schemas(new)
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        changes.append(SpecChange("added", name, "schema added", breaking=False))
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        changes.append(SpecChange("removed", name, "schema removed", breaking=True))
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        old_schema, new_schema = old_schemas[name], new_schemas[name]
        if isinstance(old_schema, Mapping) and isinstance(new_schema, Mapping):
            changes.extend(_diff_schema(name, old_schema, new_schema))
    return changes


def format_changes(changes: list[SpecChange]) -> str:
    """A report for people: a headline count, then one line per change."""
    if not changes:
        return "No client-relevant changes."
    breaking = sum(change.breaking for change in changes)
    lines = [f"{len(changes)} change(s), {breaking} breaking:"]
    lines.extend(f"  {change}" for change in changes)
    return "\n".join(lines)
