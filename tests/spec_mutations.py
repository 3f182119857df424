"""A corpus of spec mutations, each with the verdict a client-side differ must reach.

Every case edits a copy of the pinned ``openapi/willow-api.yaml``: ``base`` (optional) first sets up
a starting point (e.g. a ``maxLength`` to tighten later), then ``change`` produces the new document.
The expectation is the verdict (breaking or not) and the side it is decided on: for a breaking case,
the side of every breaking change; for a non-breaking one, the side of every change. Used by
tests/test_spec_diff_corpus.py and bench/spec_differs.py (which runs other differs on it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CASES", "Case", "documents", "pinned_spec"]

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "willow-api.yaml"

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]


@cache
def _pinned() -> Doc:
    doc: Doc = yaml.safe_load(SPEC.read_text())
    return doc


def pinned_spec() -> Doc:
    """A fresh copy of the pinned spec (parsed once)."""
    return copy.deepcopy(_pinned())


@dataclass(frozen=True)
class Case:
    name: str
    change: Mutation
    breaking: bool
    side: str | None  # "request" | "response" | "operation" | "component"; None: no change at all
    base: Mutation | None = None
    open_enums: bool = False


def documents(case: Case) -> tuple[Doc, Doc]:
    """(old, new) for one case."""
    old = pinned_spec()
    if case.base:
        case.base(old)
    new = copy.deepcopy(old)
    case.change(new)
    return old, new


# ----------------------------------------------------------------------------- helpers


def _schema(doc: Doc, name: str) -> Doc:
    schema: Doc = doc["components"]["schemas"][name]
    return schema


def _prop(doc: Doc, schema: str, field: str) -> Doc:
    prop: Doc = _schema(doc, schema)["properties"][field]
    return prop


def _op(doc: Doc, method: str, path: str) -> Doc:
    op: Doc = doc["paths"][path][method]
    return op


def _set(target: Callable[[Doc], Doc], **values: Any) -> Mutation:
    def apply(doc: Doc) -> None:
        target(doc).update(values)

    return apply


def _unset(target: Callable[[Doc], Doc], key: str) -> Mutation:
    return lambda doc: target(doc).pop(key) and None


def _prop_of(schema: str, field: str) -> Callable[[Doc], Doc]:
    return lambda doc: _prop(doc, schema, field)


def _required(schema: str, field: str, *, on: bool) -> Mutation:
    def apply(doc: Doc) -> None:
        required: list[str] = _schema(doc, schema).setdefault("required", [])
        if on:
            required.append(field)
        else:
            required.remove(field)

    return apply


def _add_field(schema: str, field: str, spec: Doc, *, required: bool) -> Mutation:
    def apply(doc: Doc) -> None:
        _schema(doc, schema)["properties"][field] = spec
        if required:
            _schema(doc, schema).setdefault("required", []).append(field)

    return apply


def _remove_field(schema: str, field: str) -> Mutation:
    return lambda doc: _schema(doc, schema)["properties"].pop(field) and None


def _enum(schema: str, *, add: str | None = None, remove: str | None = None) -> Mutation:
    def apply(doc: Doc) -> None:
        values: list[str] = _schema(doc, schema)["enum"]
        if add:
            values.append(add)
        if remove:
            values.remove(remove)

    return apply


def _rename_status(method: str, path: str, old: str, new: str) -> Mutation:
    def apply(doc: Doc) -> None:
        responses = _op(doc, method, path)["responses"]
        responses[new] = responses.pop(old)

    return apply


def _param(name: str, *, required: bool, kind: str = "string") -> Doc:
    return {"name": name, "in": "query", "required": required, "schema": {"type": kind}}


def _add_param(method: str, path: str, param: Doc) -> Mutation:
    return lambda doc: _op(doc, method, path).setdefault("parameters", []).append(param)


def _param_named(method: str, path: str, name: str) -> Callable[[Doc], Doc]:
    def find(doc: Doc) -> Doc:
        return next(p for p in _op(doc, method, path)["parameters"] if p.get("name") == name)

    return find


def _shared_param(name: str) -> Callable[[Doc], Doc]:
    return lambda doc: doc["components"]["parameters"][name]["schema"]


def _add_operation(doc: Doc) -> None:
    doc["paths"]["/twins/{id}/history"] = {
        "get": {
            "operationId": "TwinsV2_GetTwinHistory",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "History.",
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Twin"}}
                        }
                    },
                }
            },
        }
    }


def _remove_operation(doc: Doc) -> None:
    del doc["paths"]["/events"]["delete"]


def _remove_param(method: str, path: str, name: str) -> Mutation:
    def apply(doc: Doc) -> None:
        op = _op(doc, method, path)
        op["parameters"] = [p for p in op["parameters"] if p.get("name") != name]

    return apply


def _drop_response_body(doc: Doc) -> None:
    del _op(doc, "get", "/models/{id}")["responses"]["200"]["content"]


def _body_required(value: bool) -> Mutation:
    return lambda doc: _op(doc, "post", "/twins/count")["requestBody"].update(required=value)


def _token_media_to_json(doc: Doc) -> None:
    content = _op(doc, "post", "/oauth2/token")["requestBody"]["content"]
    content["application/json"] = content.pop("application/x-www-form-urlencoded")


def _models_items_to_twin(doc: Doc) -> None:
    schema = _op(doc, "get", "/models")["responses"]["200"]["content"]["application/json"]["schema"]
    schema["items"] = {"$ref": "#/components/schemas/Twin"}


def _reword_description(doc: Doc) -> None:
    _schema(doc, "Model")["description"] = "Reworded description, nothing else."
    _op(doc, "get", "/models")["summary"] = "List all the models"


def _add_unused_schema(doc: Doc) -> None:
    doc["components"]["schemas"]["Building"] = {"type": "object", "properties": {"id": {"type": "string"}}}


def _add_success_status(doc: Doc) -> None:
    responses = _op(doc, "post", "/tickets")["responses"]
    responses["201"] = copy.deepcopy(responses["200"])


def _remove_error_status(doc: Doc) -> None:
    del _op(doc, "post", "/tickets")["responses"]["403"]


def _both(*mutations: Mutation) -> Mutation:
    def apply(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)

    return apply


_summary = _prop_of("CreateTicketRequest", "summary")

CASES: list[Case] = [
    # --- the four the issue names
    Case("response status 200 -> 201", _rename_status("get", "/twins/{id}", "200", "201"), True, "response"),
    Case(
        "request maxLength tightened 256 -> 64",
        _set(_summary, maxLength=64),
        True,
        "request",
        base=_set(_summary, maxLength=256),
    ),
    Case(
        "response field required -> optional (Twin.modelId)", _required("Twin", "modelId", on=False), True, "response"
    ),
    Case(
        "new required response field",
        _add_field("Model", "version", {"type": "integer"}, required=True),
        False,
        "response",
    ),
    # --- request side
    Case(
        "request maxLength loosened 64 -> 256",
        _set(_summary, maxLength=256),
        False,
        "request",
        base=_set(_summary, maxLength=64),
    ),
    Case("request maxLength added", _set(_summary, maxLength=80), True, "request"),
    Case(
        "request maxLength removed",
        _unset(_summary, "maxLength"),
        False,
        "request",
        base=_set(_summary, maxLength=80),
    ),
    Case("request minimum raised", _set(_prop_of("GetTwinsRequest", "pageSize"), minimum=10), True, "request"),
    Case(
        "request pattern added",
        _set(_prop_of("TokenRequest", "grant_type"), pattern="^client_credentials$"),
        True,
        "request",
    ),
    Case(
        "new required request field",
        _add_field("TimeSeriesWrite", "unit", {"type": "string"}, required=True),
        True,
        "request",
    ),
    Case(
        "new optional request field",
        _add_field("CreateTicketRequest", "priority", {"type": "integer"}, required=False),
        False,
        "request",
    ),
    Case("request field removed", _remove_field("CreateTicketRequest", "notes"), True, "request"),
    Case("request field optional -> required", _required("CreateTicketRequest", "summary", on=True), True, "request"),
    Case("request field required -> optional", _required("TimeSeriesWrite", "connectorId", on=False), False, "request"),
    Case(
        "request field type integer -> string",
        _set(_prop_of("GetTwinsRequest", "pageSize"), type="string"),
        True,
        "request",
    ),
    Case(
        "request field no longer nullable",
        _set(_prop_of("GetTwinsRequest", "continuationToken"), nullable=False),
        True,
        "request",
    ),
    Case(
        "request field becomes nullable",
        _set(_prop_of("TimeSeriesWrite", "connectorId"), nullable=True),
        False,
        "request",
    ),
    Case("request enum value removed", _enum("FilterOperator", remove="like"), True, "request"),
    Case("request enum value added", _enum("FilterOperator", add="between"), False, "request"),
    Case(
        "new required query parameter", _add_param("get", "/models", _param("tenant", required=True)), True, "request"
    ),
    Case(
        "new optional query parameter", _add_param("get", "/models", _param("search", required=False)), False, "request"
    ),
    Case("query parameter removed", _remove_param("get", "/models", "includeModelDefinitions"), True, "request"),
    Case(
        "query parameter optional -> required",
        _set(_param_named("get", "/models", "rootModel"), required=True),
        True,
        "request",
    ),
    Case(
        "shared parameter type integer -> string",
        _set(_shared_param("TimeSeriesPageSize"), type="string"),
        True,
        "request",
    ),
    Case(
        "shared parameter maximum lowered",
        _set(_shared_param("TimeSeriesPageSize"), maximum=100),
        True,
        "request",
        base=_set(_shared_param("TimeSeriesPageSize"), maximum=1000),
    ),
    Case("request body optional -> required", _body_required(True), True, "request", base=_body_required(False)),
    Case("request body required -> optional", _body_required(False), False, "request", base=_body_required(True)),
    Case("request media type replaced", _token_media_to_json, True, "request"),
    # --- response side
    Case("response field removed", _remove_field("Model", "uploadTime"), True, "response"),
    Case("response field optional -> required", _required("Model", "displayName", on=True), False, "response"),
    Case(
        "new optional response field",
        _add_field("TwinPage", "totalCount", {"type": "integer"}, required=False),
        False,
        "response",
    ),
    Case(
        "response field type integer -> string", _set(_prop_of("Insight", "priority"), type="string"), True, "response"
    ),
    Case("response field becomes nullable", _set(_prop_of("Model", "id"), nullable=True), True, "response"),
    Case(
        "response field no longer nullable", _set(_prop_of("Model", "displayName"), nullable=False), False, "response"
    ),
    Case("response maxLength added", _set(_prop_of("Model", "id"), maxLength=64), False, "response"),
    Case("response enum value added (closed enum)", _enum("InsightStatus", add="archived"), True, "response"),
    Case(
        "response enum value added (open enums)",
        _enum("InsightStatus", add="archived"),
        False,
        "response",
        open_enums=True,
    ),
    Case("response enum value removed", _enum("InsightStatus", remove="deleted"), False, "response"),
    Case("response success status added", _add_success_status, False, "response"),
    Case("response error status removed", _remove_error_status, False, "response"),
    Case("response body removed", _drop_response_body, True, "response"),
    Case("response array item type changed", _models_items_to_twin, True, "response"),
    # --- operations and components
    Case("operation added", _add_operation, False, "operation"),
    Case("operation removed", _remove_operation, True, "operation"),
    Case("unused schema added", _add_unused_schema, False, "component"),
    Case("descriptions reworded only", _reword_description, False, None),
]
