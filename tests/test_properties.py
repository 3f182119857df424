"""Property-based: bodies generated from the spec's response schemas (hypothesis-jsonschema) parse
through the generated models and willow_ext; arbitrary JSON gives a typed error, never a crash."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.validating import api_transport
from willow_ext import WillowClient, WillowError

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "willow-api.yaml").read_text())
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DROP = {"example", "readOnly", "description", "x-willow-provenance"}


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: nullable, local refs, formats JSON Schema lacks."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items() if key not in DROP and key != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if out.get("format") in ("int32", "double", "password", "binary"):
        del out["format"]
    if out.get("format") == "date-time":
        # Willow sends ISO 8601 instants; keep generated strings in that form.
        out["pattern"] = (
            r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$"
        )
        del out["format"]
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


DEFINITIONS = {name: to_json_schema(schema) for name, schema in SPEC["components"]["schemas"].items()}


def response_schema(method: str, path: str) -> dict[str, Any]:
    schema = SPEC["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    return {**to_json_schema(copy.deepcopy(schema)), "definitions": DEFINITIONS}


def client_answering(body: bytes) -> WillowClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return WillowClient(
        base_url="https://p.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=api_transport(handler),
    )


CALLS: list[tuple[str, str, Callable[[WillowClient], Any]]] = [
    ("get", "/models", lambda c: c.models.list()),
    ("get", "/twins/{id}", lambda c: c.twins.get("T")),
    ("post", "/twins", lambda c: c.twins.query_page()),
    ("post", "/twins/ids", lambda c: c.twins.get_by_ids(["T"])),
    ("post", "/twins/count", lambda c: c.twins.count()),
    ("get", "/twins/{twinId}/relationships/outgoing", lambda c: c.relationships.outgoing("T")),
    ("get", "/time-series/{twinId}", lambda c: c.time_series.page("T", NOW, NOW)),
    ("get", "/time-series/{twinId}/latest", lambda c: c.time_series.latest("T")),
    ("post", "/insights", lambda c: c.insights.page()),
    ("get", "/insights/{insightId}", lambda c: c.insights.get("I")),
    ("post", "/events", lambda c: c.events.page()),
    ("get", "/events/{eventId}", lambda c: c.events.get("E")),
    ("get", "/tickets/{ticketId}", lambda c: c.tickets.get("T")),
    ("post", "/tickets", lambda c: c.tickets.page()),
    ("get", "/tickets/priorities", lambda c: c.ticket_metadata.priorities()),
]

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize(("method", "path", "call"), CALLS, ids=[f"{m.upper()} {p}" for m, p, _ in CALLS])
def test_spec_conforming_bodies_parse(method: str, path: str, call: Callable[[WillowClient], Any]) -> None:
    @SETTINGS
    @given(from_schema(response_schema(method, path)))
    def check(body: Any) -> None:
        with client_answering(json.dumps(body).encode()) as client:
            result = call(client)
        assert result is not None

    check()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@pytest.mark.parametrize(("method", "path", "call"), CALLS, ids=[f"{m.upper()} {p}" for m, p, _ in CALLS])
def test_arbitrary_json_gives_a_result_or_a_typed_error(
    method: str, path: str, call: Callable[[WillowClient], Any]
) -> None:
    @SETTINGS
    @given(JSON | st.binary(max_size=40).map(lambda b: b))
    def check(body: Any) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        # A typed WillowError is fine; anything else (KeyError, TypeError, ...) fails the test.
        with client_answering(raw) as client, contextlib.suppress(WillowError):
            call(client)

    check()
