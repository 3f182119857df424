"""Class 7: success means success: a 2xx that is not a Willow answer is an error, and a required
field that is null or of the wrong type is a ResponseValidationError."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from willow_ext import AsyncWillowClient, ResponseValidationError, WillowError, get_twins

from .conftest import Reply, jreply, twin

HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login required</body></html>"
POINT = {"connectorId": "c", "dtId": "T-1", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1.0}


@pytest.mark.parametrize("status", [200, 203])
def test_an_html_login_page_for_a_twin_is_a_validation_error(serve: Any, status: int) -> None:
    server = serve(lambda s: Reply(status, HTML, {"Content-Type": "text/html"}))
    with server.client() as client, pytest.raises(ResponseValidationError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == status


def test_an_html_page_for_a_twin_list_is_a_validation_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, HTML, {"Content-Type": "text/html"}))
    with server.client() as client, pytest.raises(ResponseValidationError):
        list(client.twins.iter())


def test_an_html_page_labelled_json_is_a_validation_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, HTML, {"Content-Type": "application/json"}))
    with server.client() as client, pytest.raises(ResponseValidationError):
        client.twins.get("T-1")


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b""), (204, b""), (200, b"[]"), (200, b"null"), (200, b'"T-1"')],
    ids=["200-empty", "204", "list", "null", "string"],
)
def test_a_success_without_the_documented_twin_is_a_validation_error(serve: Any, status: int, body: bytes) -> None:
    server = serve(lambda s: Reply(status, body, {"Content-Type": "application/json"} if body else {}))
    with server.client() as client, pytest.raises(ResponseValidationError):
        client.twins.get("T-1")


def test_an_html_page_answering_a_twin_patch_is_an_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, HTML, {"Content-Type": "text/html"}))
    with server.client() as client, pytest.raises(WillowError):
        client.twins.patch("T-1", [{"op": "replace", "path": "/name", "value": "x"}])


def test_an_html_page_answering_a_time_series_write_is_an_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, HTML, {"Content-Type": "text/html"}))
    with server.client() as client, pytest.raises(WillowError):
        client.time_series.write([POINT])


def test_an_html_page_answering_an_event_delete_is_an_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, HTML, {"Content-Type": "text/html"}))
    with server.client() as client, pytest.raises(WillowError):
        client.events.delete(["e1"])


def test_a_write_answered_204_is_a_success(serve: Any) -> None:
    server = serve(lambda s: Reply(204, b""))
    with server.client() as client:
        assert client.time_series.write([POINT]) is None
    assert len(server.api()) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"id": None, "modelId": "m"}, id="id-null"),
        pytest.param({"id": 123, "modelId": "m"}, id="id-int"),
        pytest.param({"id": "T-1", "modelId": None}, id="modelId-null"),
        pytest.param({"id": ["T-1"], "modelId": "m"}, id="id-list"),
        pytest.param({"modelId": "m"}, id="id-missing"),
        pytest.param({"id": "T-1"}, id="modelId-missing"),
    ],
)
def test_a_twin_with_a_null_or_wrong_typed_required_field_is_a_validation_error(serve: Any, body: Any) -> None:
    server = serve(lambda s: jreply(body))
    with server.client() as client, pytest.raises(ResponseValidationError):
        client.twins.get("T-1")


def test_get_twins_never_silently_drops_twins_whose_id_is_null(serve: Any) -> None:
    server = serve(lambda s: jreply([twin(None), twin(None)]))
    with server.client() as client:
        result = get_twins(client, ["T-1", "T-2"])
    # Not "missing" (which would say the server left them out): the chunk failed, with the reason.
    assert result.found == {}
    assert result.missing == []
    assert result.failed_ids == ["T-1", "T-2"]
    assert isinstance(result.failures[0].error, ResponseValidationError)


def test_get_twins_reports_ids_the_server_left_out_as_missing(serve: Any) -> None:
    server = serve(lambda s: jreply([twin("T-1")]))
    with server.client() as client:
        result = get_twins(client, ["T-1", "T-2"])
    assert list(result.found) == ["T-1"]
    assert result.missing == ["T-2"]


def test_a_twin_page_item_with_a_null_id_is_a_validation_error(serve: Any) -> None:
    server = serve(lambda s: jreply({"content": [twin("T-1"), twin(None)], "continuationToken": None}))
    with server.client() as client, pytest.raises(ResponseValidationError):
        list(client.twins.iter())


async def test_async_html_success_is_a_validation_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, HTML, {"Content-Type": "text/html"}))
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(ResponseValidationError):
            await client.twins.get("T-1")


START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)
NOT_A_POINT: list[Any] = [None, 1, "x", [], {"sourceTimestamp": "not a time"}]


@pytest.mark.parametrize("item", NOT_A_POINT, ids=["null", "number", "string", "array", "unreadable-object"])
def test_a_time_series_page_item_that_is_not_a_point_is_a_validation_error(serve: Any, item: Any) -> None:
    # never None (or a raw dict the generated parser gave up on) yielded as a point
    server = serve(lambda s: jreply({"data": [POINT, item], "continuationToken": None}))
    with server.client() as client, pytest.raises(ResponseValidationError, match=r"data\[[01]\] is"):
        list(client.time_series.iter("T-1", START, END))


async def test_async_a_time_series_page_item_null_is_a_validation_error(serve: Any) -> None:
    server = serve(lambda s: jreply({"data": [None], "continuationToken": None}))
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(ResponseValidationError):
            async for _ in client.time_series.iter_many(["T-1"], START, END):
                pass


@pytest.mark.parametrize("kind", ["tickets", "ticket_metadata"])
def test_an_inferred_list_page_item_null_is_a_validation_error(serve: Any, kind: str) -> None:
    server = serve(lambda s: jreply({"items": [None], "total": 1, "before": 0, "after": 0}))
    with server.client() as client, pytest.raises(ResponseValidationError, match=r"items\[0\] is null"):
        list(client.tickets.iter() if kind == "tickets" else client.ticket_metadata.iter("categories"))
