"""Class 6: every failure is a WillowError subclass with a short, safe message."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest

from willow_ext import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncWillowClient,
    InvalidRequestError,
    NotFoundError,
    ResponseValidationError,
    WillowError,
    get_twins,
    ingest,
)

from .conftest import NO_RETRY, Reply, jreply, twin

MAX_MESSAGE = 1500
DEEP = b"[" * 100_000 + b"]" * 100_000


def _msg_ok(exc: BaseException) -> None:
    message = str(exc)
    assert len(message) < MAX_MESSAGE, len(message)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in message), repr(message[:200])
    assert "\u202e" not in message


# ------------------------------------------------------------------ ids and arguments refused locally

BAD_IDS: dict[str, Any] = {
    "lone-surrogate": "\ud800",
    "surrogate-inside": "T-\udfff-1",
    "70000-chars": "x" * 70_000,
    "2000-multibyte": "é" * 600,
    "nul": "T\x00-1",
    "newline": "T-1\nHost: evil",
    "carriage-return": "T-1\r",
    "delete-char": "T\x7f",
    "empty": "",
    "blank": "   ",
    "dot": ".",
    "dot-dot": "..",
    "int": 5,
    "none": None,
    "bytes": b"T-1",
}


@pytest.mark.parametrize("label", BAD_IDS)
def test_a_bad_id_is_refused_locally_with_a_typed_error(serve: Any, label: str) -> None:
    server = serve(lambda s: jreply(twin()))
    with server.client() as client, pytest.raises(InvalidRequestError) as info:
        client.twins.get(BAD_IDS[label])
    assert not server.seen
    _msg_ok(info.value)


@pytest.mark.parametrize("label", ["lone-surrogate", "70000-chars", "nul", "int", "none"])
def test_get_twins_refuses_a_bad_id_in_the_list_before_sending(serve: Any, label: str) -> None:
    server = serve(lambda s: jreply([twin()]))
    with server.client() as client, pytest.raises(InvalidRequestError):
        get_twins(client, ["T-1", BAD_IDS[label]])
    assert not server.api()


@pytest.mark.parametrize("ids", ["T-1", b"T-1", 42, None], ids=["one-string", "bytes", "int", "none"])
def test_get_twins_refuses_a_non_list(serve: Any, ids: Any) -> None:
    server = serve(lambda s: jreply([twin()]))
    with server.client() as client, pytest.raises(InvalidRequestError):
        get_twins(client, ids)
    assert not server.api()


async def test_async_client_refuses_a_lone_surrogate_id(serve: Any) -> None:
    server = serve(lambda s: jreply(twin()))
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(InvalidRequestError):
            await client.twins.get("\ud800")
    assert not server.seen


@pytest.mark.parametrize("concurrency", [0, -1], ids=["zero", "negative"])
def test_get_twins_refuses_a_concurrency_below_one(serve: Any, concurrency: int) -> None:
    server = serve(lambda s: jreply([twin()]))
    with server.client() as client, pytest.raises(InvalidRequestError):
        get_twins(client, ["T-1"], concurrency=concurrency)


def test_get_twins_refuses_a_chunk_size_of_zero(serve: Any) -> None:
    server = serve(lambda s: jreply([twin()]))
    with server.client() as client, pytest.raises(InvalidRequestError):
        get_twins(client, ["T-1"], chunk_size=0)


POINT = {"connectorId": "c", "dtId": "T-1", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1.0}


@pytest.mark.parametrize(
    "kwargs",
    [{"batch_size": 0}, {"batch_size": -5}, pytest.param({"concurrency": 0})],
    ids=["batch-0", "batch-negative", "concurrency-0"],
)
def test_ingest_refuses_bad_sizes_with_a_typed_error(serve: Any, kwargs: dict[str, Any]) -> None:
    server = serve(lambda s: Reply(200, b""))
    with server.client() as client, pytest.raises(InvalidRequestError):
        ingest(client, [POINT], **kwargs)
    assert not server.api()


@pytest.mark.parametrize("page_size", [0, -1, 1001], ids=["zero", "negative", "over-1000"])
def test_twin_iteration_refuses_a_bad_page_size(serve: Any, page_size: int) -> None:
    server = serve(lambda s: jreply({"content": []}))
    with server.client() as client, pytest.raises(InvalidRequestError):
        list(client.twins.iter(page_size=page_size))
    assert not server.api()


# ------------------------------------------------------------------ hostile bodies


def test_deeply_nested_json_success_body_is_a_validation_error_not_recursion(serve: Any) -> None:
    server = serve(lambda s: Reply(200, DEEP, {"Content-Type": "application/json"}))
    with server.client() as client, pytest.raises(ResponseValidationError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_deeply_nested_json_error_body_is_a_typed_status_error(serve: Any) -> None:
    server = serve(lambda s: Reply(400, DEEP, {"Content-Type": "application/json"}))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == 400
    _msg_ok(info.value)


def test_body_not_matching_its_content_encoding_is_a_typed_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, b"definitely not gzip", {"Content-Encoding": "gzip"}))
    with server.client(retry=NO_RETRY) as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_truncated_deflate_body_is_a_typed_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, b"\x78\x9c\x4b", {"Content-Encoding": "deflate"}))
    with server.client(retry=NO_RETRY) as client, pytest.raises(WillowError):
        client.twins.get("T-1")


def test_a_gzip_bomb_is_a_typed_error_not_gigabytes_of_memory(serve: Any) -> None:
    bomb = gzip.compress(b" " * 20_000_000, compresslevel=9)  # ~20 KB on the wire, 20 MB decoded
    server = serve(lambda s: Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    client = server.client(retry=NO_RETRY, max_response_bytes=1_000_000)
    with client, pytest.raises(WillowError, match="too large"):
        client.twins.get("T-1")


def test_a_two_megabyte_detail_gives_a_short_message(serve: Any) -> None:
    server = serve(lambda s: jreply({"title": "Bad", "detail": "d" * 2_000_000}, 400))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_ten_thousand_validation_errors_give_a_short_message(serve: Any) -> None:
    errors = {f"field{i}": [f"bad {i}" * 20] for i in range(10_000)}
    server = serve(lambda s: jreply({"title": "Validation", "errors": errors}, 422))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)
    assert len(info.value.errors) == 10_000  # the data stays whole on the attribute


CONTROL_TEXTS = {
    "ansi-clear-screen": "\x1b[2J\x1b[H",
    "osc-title": "\x1b]0;owned\x07",
    "carriage-return-overwrite": "ok\rFAKE",
    "nul": "a\x00b",
    "bidi-override": "abc\u202edcba",
    "c1-csi": "\x9b31m",
    "backspaces": "safe\x08\x08\x08\x08evil",
}


@pytest.mark.parametrize("label", CONTROL_TEXTS)
def test_control_characters_in_problem_details_are_neutralised(serve: Any, label: str) -> None:
    text = CONTROL_TEXTS[label]
    server = serve(lambda s: jreply({"title": f"T{text}", "detail": f"D{text}"}, 409))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_control_characters_in_a_text_body_are_neutralised(serve: Any) -> None:
    server = serve(lambda s: Reply(500, "boom \x1b[31mred\x1b[0m\r\n\x00", {"Content-Type": "text/plain"}))
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_a_non_utf8_error_body_is_typed(serve: Any) -> None:
    server = serve(lambda s: Reply(400, b"\xff\xfe\xfa bad bytes", {"Content-Type": "text/plain; charset=utf-8"}))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == 400
    _msg_ok(info.value)


def test_a_huge_html_error_page_gives_a_short_message(serve: Any) -> None:
    page = "<html>" + "<p>proxy error</p>" * 200_000 + "</html>"
    server = serve(lambda s: Reply(502, page, {"Content-Type": "text/html"}))
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


# ------------------------------------------------------------------ broken transport


def test_a_hang_up_without_an_answer_is_a_connection_error(serve: Any) -> None:
    server = serve(lambda s: None)
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIConnectionError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_a_body_shorter_than_its_content_length_is_a_connection_error(serve: Any) -> None:
    raw = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"id": "T'
    server = serve(lambda s: raw)
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIConnectionError):
        client.twins.get("T-1")


def test_garbage_instead_of_http_is_a_connection_error(serve: Any) -> None:
    server = serve(lambda s: b"\x00\x01\x02 this is not HTTP at all\r\n\r\n")
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIConnectionError) as info:
        client.twins.get("T-1")
    _msg_ok(info.value)


def test_an_invalid_status_code_is_a_typed_error(serve: Any) -> None:
    server = serve(lambda s: b"HTTP/1.1 999999 Weird\r\nContent-Length: 0\r\n\r\n")
    with server.client(retry=NO_RETRY) as client, pytest.raises(WillowError):
        client.twins.get("T-1")


def test_a_hanging_server_is_a_timeout_error(serve: Any) -> None:
    server = serve(lambda s: Reply(200, twin(), delay=2.0))
    started = time.monotonic()
    with server.client(timeout=0.3, retry=NO_RETRY) as client, pytest.raises(APITimeoutError):
        client.twins.get("T-1")
    assert time.monotonic() - started < 1.5


def test_a_header_with_control_bytes_is_a_typed_error(serve: Any) -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\n{}"
    server = serve(lambda s: raw)
    with server.client(retry=NO_RETRY) as client, pytest.raises(WillowError):
        client.twins.get("T-1")


def test_a_404_with_an_empty_body_is_not_found(serve: Any) -> None:
    server = serve(lambda s: Reply(404, b""))
    with server.client() as client, pytest.raises(NotFoundError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == 404


@pytest.mark.parametrize("body", [b"null", b"[]", b"123", b'"just a string"', b"true"])
def test_odd_json_error_bodies_still_give_the_status_error(serve: Any, body: bytes) -> None:
    server = serve(lambda s: Reply(409, body, {"Content-Type": "application/json"}))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == 409
    assert info.value.body == json.loads(body)


# ------------------------------------------------------------------ the body cap shell (wired in phase 2)


def test_body_limit_transport_stops_a_gzip_bomb_over_real_http(serve: Any) -> None:
    import httpx

    from willow_ext import BodyLimitTransport, ResponseTooLargeError

    bomb = gzip.compress(b" " * 20_000_000, compresslevel=9)
    server = serve(lambda s: Reply(200, bomb, {"Content-Encoding": "gzip"}))
    transport = BodyLimitTransport(httpx.HTTPTransport(), limit=1_000_000)
    with httpx.Client(transport=transport) as http, pytest.raises(ResponseTooLargeError) as info:
        http.get(server.base_url + "/twins/T-1")
    assert isinstance(info.value, WillowError)
    _msg_ok(info.value)


async def test_async_body_limit_transport_passes_a_small_compressed_body_decoded(serve: Any) -> None:
    import httpx

    from willow_ext import AsyncBodyLimitTransport

    body = json.dumps(twin()).encode()
    server = serve(lambda s: Reply(200, gzip.compress(body), {"Content-Encoding": "gzip"}))
    async with httpx.AsyncClient(transport=AsyncBodyLimitTransport(httpx.AsyncHTTPTransport(), limit=10_000)) as http:
        response = await http.get(server.base_url + "/twins/T-1")
    assert response.json() == twin()


def test_body_limit_transport_refuses_a_declared_length_over_the_cap_before_reading(serve: Any) -> None:
    import httpx

    from willow_ext import BodyLimitTransport, ResponseTooLargeError

    server = serve(lambda s: Reply(200, b"x" * 5000))
    transport = BodyLimitTransport(httpx.HTTPTransport(), limit=1000)
    with httpx.Client(transport=transport) as http, pytest.raises(ResponseTooLargeError):
        http.get(server.base_url + "/twins/T-1")
