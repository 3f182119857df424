"""Tolerant reading where the spec guesses, strict reading where it is published (pure functions)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from willow_api_client import Client
from willow_api_client.api.tickets import post_tickets, put_tickets
from willow_api_client.models import Ticket, TicketPage

from willow_ext._errors import ResponseValidationError
from willow_ext._operations import OPERATIONS, OperationFacts
from willow_ext._tolerant import Accepted, Readable, accept_unparsed, find_operation, read_success

INFERRED = [f for f in OPERATIONS if f.inferred_response]
STRICT = [f for f in OPERATIONS if not f.inferred_response]


def op(key: str) -> OperationFacts:
    found = find_operation(key)
    assert found is not None, key
    return found


def answer(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    request = httpx.Request(method, f"https://x.app.willowinc.com/api/v3{path}")
    if content is None and body is not None:
        content = json.dumps(body).encode()
        headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    return httpx.Response(status, content=content or b"", headers=headers, request=request)


def sample(facts: OperationFacts) -> Any:
    """A body of the spec's top-level shape with its required members (for inferred operations)."""
    if facts.shape == "array":
        return [{name: "x" for name in facts.item_required}]
    if facts.shape == "object":
        body: dict[str, Any] = {name: "x" for name in facts.required}
        if facts.envelope_key:
            body[facts.envelope_key] = [{name: "x" for name in facts.item_required}]
        return body
    return {}


# ------------------------------------------------------------------------------ lookup


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v3/twins/ids", "POST /twins/ids"),
        ("GET", "/api/v3/twins/AHU-1", "GET /twins/{id}"),
        ("GET", "/api/v3/tickets/status", "GET /tickets/status"),
        ("GET", "/api/v3/tickets/6f1c", "GET /tickets/{ticketId}"),
        ("PATCH", "/api/v3/tickets/categories/42", "PATCH /tickets/categories/{categoryId}"),
        ("GET", "/api/v3/twins/T1/relationships/incoming", "GET /twins/{twinId}/relationships/incoming"),
        ("GET", "/api/v3/twins/T1/relationships/R9", "GET /twins/{twinId}/relationships/{relationshipId}"),
        ("get", "/api/v3/time-series/P1/latest", "GET /time-series/{twinId}/latest"),
    ],
)
def test_find_operation_matches_concrete_paths_literal_segments_first(method: str, path: str, expected: str) -> None:
    found = find_operation(method, path, api_root="/api/v3")
    assert found is not None
    assert f"{found.method} {found.path}" == expected


def test_find_operation_by_operation_id_or_template_and_none_for_unknown() -> None:
    assert op("PostTelemetry").path == "/time-series"
    assert op("PUT /tickets").writes
    assert find_operation("GET", "/api/v3/nowhere", api_root="/api/v3") is None
    assert find_operation("NoSuchOperation") is None


def test_the_facts_table_has_all_43_operations_and_20_inferred_responses() -> None:
    assert len(OPERATIONS) == 43
    assert len(INFERRED) == 20


# ------------------------------------------------------------------------------ every operation


@pytest.mark.parametrize("facts", OPERATIONS, ids=lambda f: f"{f.method} {f.path}")
def test_an_html_2xx_is_never_success(facts: OperationFacts) -> None:
    status = facts.success[0]
    html = answer(
        facts.method, facts.path, status, content=b"<html>Sign in</html>", headers={"content-type": "text/html"}
    )
    with pytest.raises(ResponseValidationError, match="HTML"):
        read_success(facts, html)


@pytest.mark.parametrize("facts", [f for f in OPERATIONS if f.body == "json"], ids=lambda f: f"{f.method} {f.path}")
def test_a_body_that_is_not_json_is_never_success(facts: OperationFacts) -> None:
    text = answer(facts.method, facts.path, facts.success[0], content=b"OK", headers={"content-type": "text/plain"})
    with pytest.raises(ResponseValidationError, match="not JSON"):
        read_success(facts, text)


# ------------------------------------------------------------------------------ inferred: any 2xx


@pytest.mark.parametrize("status", [200, 201, 202])
@pytest.mark.parametrize("facts", INFERRED, ids=lambda f: f"{f.method} {f.path}")
def test_inferred_operations_take_any_2xx_with_a_readable_body(facts: OperationFacts, status: int) -> None:
    if facts.body == "binary":
        result = read_success(facts, answer(facts.method, facts.path, status, content=b"\x00\x01"))
        assert isinstance(result, Readable)
        return
    result = read_success(facts, answer(facts.method, facts.path, status, sample(facts)))
    assert isinstance(result, Readable)
    # The generated parser knows only the declared code: an undeclared 2xx is mapped onto it.
    assert result.response.status_code in facts.success


@pytest.mark.parametrize("status", [201, 204])
@pytest.mark.parametrize("facts", [f for f in INFERRED if f.writes], ids=lambda f: f"{f.method} {f.path}")
def test_inferred_writes_answered_without_a_body_are_accepted(facts: OperationFacts, status: int) -> None:
    response = answer(facts.method, facts.path, status, headers={"location": "/api/v3/tickets/T-9"})
    result = read_success(facts, response)
    if status in facts.no_body:  # declared (DELETE /events 204): the parser reads it as documented
        assert isinstance(result, Readable)
        return
    assert result == Accepted(f"{facts.method} {facts.path}", status, "/api/v3/tickets/T-9", None)


@pytest.mark.parametrize("facts", [f for f in INFERRED if f.writes and f.body == "json"], ids=lambda f: f.path)
def test_inferred_writes_with_an_unexpected_body_are_accepted_with_the_raw_json(facts: OperationFacts) -> None:
    other = ["not", "the", "guessed", "shape"] if facts.shape == "object" else {"id": 7}
    result = read_success(facts, answer(facts.method, facts.path, 200, other))
    assert isinstance(result, Accepted)
    assert result.body == other


@pytest.mark.parametrize("facts", [f for f in INFERRED if not f.writes and f.body == "json"], ids=lambda f: f.path)
def test_inferred_reads_without_a_body_raise_rather_than_look_empty(facts: OperationFacts) -> None:
    with pytest.raises(ResponseValidationError, match="no body"):
        read_success(facts, answer(facts.method, facts.path, 204))


def test_a_created_ticket_answered_201_parses_to_the_model() -> None:
    facts = op("PUT /tickets")
    result = read_success(facts, answer("PUT", "/tickets", 201, {"id": "T-1", "summary": "Leak"}))
    assert isinstance(result, Readable)
    assert result.changed
    parsed = put_tickets._parse_response(client=Client("https://x"), response=result.response)
    assert isinstance(parsed, Ticket)
    assert parsed.id == "T-1"


def test_a_bare_array_list_becomes_the_envelope_the_generated_parser_reads() -> None:
    # Without this, TicketPage.from_dict(dict(list_of_two_key_objects)) is a silently empty page.
    facts = op("POST /tickets")
    items = [{"id": "T-1", "summary": "a"}, {"id": "T-2", "summary": "b"}]
    result = read_success(facts, answer("POST", "/tickets", 200, items))
    assert isinstance(result, Readable)
    assert result.changed
    assert json.loads(result.response.content) == {"items": items}
    page = post_tickets._parse_response(client=Client("https://x"), response=result.response)
    assert isinstance(page, TicketPage)
    assert [t.id for t in page.items or []] == ["T-1", "T-2"]


def test_an_envelope_where_an_array_was_guessed_is_unwrapped() -> None:
    facts = op("GET /tickets/status")
    body = {"items": [{"id": 1, "name": "Open"}], "total": 1}
    result = read_success(facts, answer("GET", "/tickets/status", 200, body))
    assert isinstance(result, Readable)
    assert json.loads(result.response.content) == [{"id": 1, "name": "Open"}]


@pytest.mark.parametrize("body", [{"open": 1, "closed": 2}, {"items": [], "data": []}, "open", 3])
def test_an_inferred_list_that_cannot_be_read_raises(body: Any) -> None:
    with pytest.raises(ResponseValidationError, match="top-level JSON"):
        read_success(op("GET /events/types"), answer("GET", "/events/types", 200, body))


def test_accept_unparsed_accepts_writes_and_raises_for_reads() -> None:
    body = {"ticket": {"number": 5}}
    write = answer("PUT", "/tickets/categories", 200, body, headers={"location": "/x/1"})
    assert accept_unparsed(op("PUT /tickets/categories"), write, KeyError("id")) == Accepted(
        "PUT /tickets/categories", 200, "/x/1", body
    )
    read = answer("GET", "/tickets/T", 200, body)
    with pytest.raises(ResponseValidationError, match="KeyError"):
        accept_unparsed(op("GET /tickets/{ticketId}"), read, KeyError("id"))
    with pytest.raises(ResponseValidationError):
        accept_unparsed(op("PATCH /tickets/{ticketId}"), read, KeyError("id"))  # published: strict


# ------------------------------------------------------------------------------ published: strict


@pytest.mark.parametrize("facts", [f for f in STRICT if f.body == "json"], ids=lambda f: f"{f.method} {f.path}")
def test_published_operations_refuse_an_undeclared_2xx(facts: OperationFacts) -> None:
    with pytest.raises(ResponseValidationError, match="not a documented success"):
        read_success(facts, answer(facts.method, facts.path, 203, sample(facts) or {}))


@pytest.mark.parametrize("facts", [f for f in STRICT if f.shape == "object"], ids=lambda f: f"{f.method} {f.path}")
def test_published_object_operations_refuse_an_array(facts: OperationFacts) -> None:
    with pytest.raises(ResponseValidationError, match="top-level JSON is array"):
        read_success(facts, answer(facts.method, facts.path, facts.success[0], [{"id": "x"}]))


def test_published_list_operations_refuse_an_envelope() -> None:
    facts = op("GET /twins/{twinId}/relationships/incoming")
    with pytest.raises(ResponseValidationError, match="expects an array"):
        read_success(facts, answer("GET", "/twins/T/relationships/incoming", 200, {"items": []}))


def test_a_required_member_that_is_null_or_missing_is_refused() -> None:
    facts = op("GET /twins/{id}")
    with pytest.raises(ResponseValidationError, match="id"):
        read_success(facts, answer("GET", "/twins/T", 200, {"id": None, "modelId": "dtmi:x;1"}))
    with pytest.raises(ResponseValidationError, match=r"\[1\]: sourceId"):
        read_success(
            op("GET /twins/{twinId}/relationships/outgoing"),
            answer(
                "GET",
                "/twins/T/relationships/outgoing",
                200,
                [{"targetId": "a", "sourceId": "T", "name": "n"}, {"targetId": "b", "name": "n"}],
            ),
        )
    with pytest.raises(ResponseValidationError, match=r"\[0\]: id"):
        read_success(op("POST /insights"), answer("POST", "/insights", 200, {"items": [{"name": "no id"}]}))


def test_published_answers_that_match_pass_through_unchanged() -> None:
    response = answer("GET", "/twins/T", 200, {"id": "T", "modelId": "dtmi:x;1"})
    assert read_success(op("GET /twins/{id}"), response) == Readable(response)
    accepted = answer("POST", "/time-series", 202)
    assert read_success(op("POST /time-series"), accepted) == Readable(accepted)
    empty_page = answer("POST", "/insights", 200, {"before": 0, "after": 0, "total": 0, "items": []})
    assert read_success(op("POST /insights"), empty_page) == Readable(empty_page)


def test_read_success_takes_only_2xx() -> None:
    with pytest.raises(ValueError, match="2xx"):
        read_success(op("GET /twins/{id}"), answer("GET", "/twins/T", 404, {"title": "Not Found"}))


def test_accepted_is_a_frozen_public_value() -> None:
    import dataclasses

    import willow_ext

    result = Accepted("PUT /tickets", 201, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status_code = 200  # type: ignore[misc]
    assert willow_ext.Accepted is Accepted
