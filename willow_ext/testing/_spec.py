"""The pinned spec as the local server's contract: request and response validation (openapi-core)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import yaml
from openapi_core import OpenAPI

from ._spec_file import spec_path

__all__ = ["closed_request_schemas", "load_spec", "spec_path", "validator"]

API_ROOT = "/api/v3"


@functools.cache
def load_spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(spec_path().read_text())
    return loaded


def _request_schema_refs(spec: dict[str, Any]) -> set[str]:
    refs: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in refs:
                refs.add(ref)
                name = ref.rsplit("/", 1)[-1]
                collect(spec["components"]["schemas"].get(name))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                collect(op["requestBody"])
    return refs


def _schemas_within(schema: Any) -> Iterator[dict[str, Any]]:
    """``schema`` and every subschema it contains inline (not following ``$ref``)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for sub in (schema.get("properties") or {}).values():
        yield from _schemas_within(sub)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield from _schemas_within(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            yield from _schemas_within(sub)


def _close(schema: Any) -> None:
    for node in _schemas_within(schema):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False


def closed_request_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy where every request-body object schema that does not say otherwise rejects unknown
    members, so a misspelled field fails validation instead of being ignored. Schemas that are
    explicitly open (``additionalProperties: true``, e.g. Twin) stay open."""
    out = copy.deepcopy(spec)
    schemas = out["components"]["schemas"]
    names = {ref.rsplit("/", 1)[-1] for ref in _request_schema_refs(out)}
    for name in names:
        _close(schemas.get(name))
    for item in out["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                for media in op["requestBody"].get("content", {}).values():
                    _close(media.get("schema"))
    return out


@functools.cache
def validator(strict: bool = True) -> OpenAPI:
    """openapi-core over the pinned spec, with a relative server so any loopback host matches."""
    spec = closed_request_schemas(load_spec()) if strict else copy.deepcopy(load_spec())
    spec["servers"] = [{"url": API_ROOT}]
    # Tokens are checked by the app itself; openapi-core cannot check an oauth2 scheme (it warns).
    spec.pop("security", None)
    spec["components"].pop("securitySchemes", None)
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.pop("security", None)
    return OpenAPI.from_dict(spec)
