"""Class 6: every failure is a WillowError subclass with a short, safe message."""

from __future__ import annotations

import datetime as dt
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
    InvalidArgumentTypeError,
    InvalidRequestError,
    NotFoundError,
    PaginationError,
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


# ------------------------------------------------------------------ non-ASCII header bytes (issue 10)

# http.server writes header values as latin-1, so a str of latin-1 code points goes out byte for byte.
HEADER_BYTES = {"latin-1": "caf\u00e9", "utf-8": "caf\u00e9".encode().decode("latin-1")}


def _token_with(note: str) -> Any:
    def token(seen: Any) -> Reply:
        return jreply({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}, **{"X-Note": note})

    return token


@pytest.mark.parametrize("label", HEADER_BYTES)
def test_non_ascii_header_bytes_on_token_and_api_answers_are_read(serve: Any, label: str) -> None:
    note = HEADER_BYTES[label]
    server = serve(lambda s: jreply(twin(), **{"X-Note": note}), token=_token_with(note))
    with server.client() as client:
        assert client.twins.get("T-1").id == "T-1"
        assert client.last_response is not None
        assert note.encode("latin-1") in [v for _, v in client.last_response.headers.raw]


@pytest.mark.parametrize("label", HEADER_BYTES)
async def test_async_non_ascii_header_bytes_on_token_and_api_answers_are_read(serve: Any, label: str) -> None:
    note = HEADER_BYTES[label]
    server = serve(lambda s: jreply(twin(), **{"X-Note": note}), token=_token_with(note))
    async with AsyncWillowClient(**server.kwargs()) as client:
        assert (await client.twins.get("T-1")).id == "T-1"


ATTACHMENT_HEADERS = {
    "Content-Type": "application/octet-stream",
    "Content-Disposition": 'attachment; filename="r\u00e9sum\u00e9.pdf"'.encode().decode("latin-1"),
}


def test_a_utf8_content_disposition_on_an_attachment_is_read(serve: Any) -> None:
    server = serve(lambda s: Reply(200, b"%PDF-1.7 bytes", dict(ATTACHMENT_HEADERS)))
    with server.client() as client:
        assert client.tickets.attachment("1", "a") == b"%PDF-1.7 bytes"


async def test_async_a_utf8_content_disposition_on_an_attachment_is_read(serve: Any) -> None:
    server = serve(lambda s: Reply(200, b"%PDF-1.7 bytes", dict(ATTACHMENT_HEADERS)))
    async with AsyncWillowClient(**server.kwargs()) as client:
        assert await client.tickets.attachment("1", "a") == b"%PDF-1.7 bytes"


def test_a_non_ascii_header_on_a_normalised_answer_is_read(serve: Any) -> None:
    # An enveloped list where a bare array is inferred takes the tolerant (rebuilt response) path.
    server = serve(lambda s: jreply({"value": [{"id": 1}]}, **{"X-Note": HEADER_BYTES["utf-8"]}))
    with server.client() as client:
        assert client.events.types() == [{"id": 1}]


# ------------------------------------------------------------------ bad settings and arguments (issue 10)

BAD_SETTINGS: dict[str, tuple[dict[str, Any], str]] = {
    "empty-client-id": ({"client_id": ""}, "client_id"),
    "int-client-id": ({"client_id": 7}, "client_id"),
    "empty-secret": ({"client_secret": ""}, "client_secret"),
    "int-secret": ({"client_secret": 12345678}, "client_secret"),
    "broken-ipv6": ({"base_url": "https://[::1/api/v3"}, "base_url"),
    "port-abc": ({"base_url": "https://h.example:abc/api/v3"}, "base_url"),
    "port-99999": ({"base_url": "https://h.example:99999/api/v3"}, "base_url"),
    "base-url-int": ({"base_url": 5}, "base_url"),
    "arabic-digit-instance": ({"base_url": None, "instance": "x\u0663"}, "instance"),
    "70000-char-instance": ({"base_url": None, "instance": "x" * 70_000}, "instance"),
    "max-connections-0": ({"max_connections": 0}, "max_connections"),
    "max-connections-str": ({"max_connections": "10"}, "max_connections"),
    "max-response-bytes-negative": ({"max_response_bytes": -1}, "max_response_bytes"),
    "timeout-nan": ({"timeout": float("nan")}, "timeout"),
    "timeout-negative": ({"timeout": -1}, "timeout"),
    "timeout-str": ({"timeout": "30"}, "timeout"),
    "token-leeway-nan": ({"token_leeway": float("nan")}, "token_leeway"),
    "header-euro": ({"headers": {"X-Team": "\u20ac"}}, "headers"),
    "header-crlf": ({"headers": {"X-Team": "a\r\nX-Evil: 1"}}, "headers"),
    "header-name-space": ({"headers": {"X Team": "a"}}, "headers"),
    "retry-not-a-policy": ({"retry": 3}, "retry"),
}


@pytest.mark.parametrize("label", BAD_SETTINGS)
def test_a_bad_setting_is_a_typed_error_naming_it(serve: Any, label: str) -> None:
    from willow_ext import WillowClient

    server = serve(lambda s: jreply(twin()))
    changes, name = BAD_SETTINGS[label]
    with pytest.raises(InvalidRequestError) as info:
        WillowClient(**{**server.kwargs(), **changes})
    assert name in str(info.value)
    _msg_ok(info.value)
    assert not server.seen


@pytest.mark.parametrize("label", ["empty-client-id", "int-secret", "broken-ipv6", "arabic-digit-instance"])
async def test_async_a_bad_setting_is_a_typed_error_naming_it(serve: Any, label: str) -> None:
    server = serve(lambda s: jreply(twin()))
    changes, name = BAD_SETTINGS[label]
    with pytest.raises(InvalidRequestError) as info:
        AsyncWillowClient(**{**server.kwargs(), **changes})
    assert name in str(info.value)


def test_wrong_setting_types_are_also_type_errors(serve: Any) -> None:
    from willow_ext import WillowClient

    server = serve(lambda s: jreply(twin()))
    with pytest.raises(InvalidArgumentTypeError) as info:
        WillowClient(**{**server.kwargs(), "client_secret": 12345678})
    assert isinstance(info.value, TypeError)  # also caught by code written for the raw error


@pytest.mark.parametrize(
    "env",
    [
        {"WILLOW_BASE_URL": "https://[::1/api/v3"},
        {"WILLOW_BASE_URL": "https://h.example:abc/api/v3"},
        {"WILLOW_BASE_URL": "", "WILLOW_INSTANCE": "x\u0663"},
    ],
    ids=["broken-ipv6", "port-abc", "arabic-digit-instance"],
)
def test_bad_settings_from_the_environment_are_typed_errors(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    from willow_ext import WillowClient

    monkeypatch.setenv("WILLOW_CLIENT_ID", "c")
    monkeypatch.setenv("WILLOW_CLIENT_SECRET", "s3cret-value")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InvalidRequestError):
        WillowClient.from_env()
    with pytest.raises(InvalidRequestError):
        AsyncWillowClient.from_env()


START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = START.replace(day=2)

BAD_CALLS: dict[str, Any] = {
    "with-options-euro-header": lambda c: c.with_options(headers={"X": "\u20ac"}).twins.get("T-1"),
    "with-options-timeout-str": lambda c: c.with_options(timeout="x").twins.get("T-1"),
    "with-options-timeout-negative": lambda c: c.with_options(timeout=-1).twins.get("T-1"),
    "twins-iter-max-items-str": lambda c: list(c.twins.iter(max_items="5")),
    "twins-iter-max-items-negative": lambda c: list(c.twins.iter(max_items=-1)),
    "twins-get-flag-str": lambda c: c.twins.get("T-1", include_relationships="yes"),
    "twins-query-page-size-str": lambda c: c.twins.query_page(page_size="10"),
    "twins-query-token-int": lambda c: c.twins.query_page(continuation_token=5),
    "tickets-update-list": lambda c: c.tickets.update("1", ["x"]),
    "tickets-update-empty": lambda c: c.tickets.update("1", {}),
    "metadata-update-int-key": lambda c: c.ticket_metadata.update("categories", "1", {1: "x"}),
    "metadata-create-name-none": lambda c: c.ticket_metadata.create("categories", None),
    "upload-files-short-tuple": lambda c: c.events.upload_files([("a",)]),
    "upload-files-str-content": lambda c: c.events.upload_files([("a", "text", "text/plain")]),
    "upload-files-none": lambda c: c.events.upload_files(None),
    "events-upsert-none": lambda c: c.events.upsert(None),
    "events-page-huge-page": lambda c: c.events.page(page=10**5000),
    "events-page-size-huge": lambda c: c.events.page(page_size=10**5000),
    "events-page-size-float": lambda c: c.events.page(page_size=10.5),
    "events-filters-int": lambda c: c.events.page(filters=5),
    "events-iter-page-size-0-refused-at-once": lambda c: c.events.iter(page_size=0),
    "tickets-page-0": lambda c: c.tickets.page(page=0),
    "insights-add-floor-str": lambda c: c.insights.page(add_floor="no"),
    "insights-iter-page-size-str": lambda c: list(c.insights.iter(page_size="5")),
    "metadata-iter-page-size-0-refused-at-once": lambda c: c.ticket_metadata.iter("categories", page_size=0),
    "ts-write-none": lambda c: c.time_series.write(None),
    "ts-page-size-huge": lambda c: c.time_series.page("T-1", START, END, page_size=10**5000),
    "ts-page-size-str": lambda c: c.time_series.page("T-1", START, END, page_size="x"),
    "ts-page-size-0": lambda c: c.time_series.page("T-1", START, END, page_size=0),
    "ts-page-token-70000": lambda c: c.time_series.page("T-1", START, END, continuation_token="A" * 70_000),
    "ts-page-quality-str": lambda c: c.time_series.page("T-1", START, END, include_data_quality="yes"),
    "ts-iter-bad-id-refused-at-once": lambda c: c.time_series.iter("..", START, END),
    "ts-page-many-token-surrogate": lambda c: c.time_series.page_many(["T-1"], START, END, continuation_token="\ud800"),
    "ts-iter-many-page-size-0": lambda c: list(c.time_series.iter_many(["T-1"], START, END, page_size=0)),
    "ts-latest-quality-int": lambda c: c.time_series.latest("T-1", include_data_quality=1),
    "models-list-root-int": lambda c: c.models.list(root_model=5),
    "models-list-flag-str": lambda c: c.models.list(include_model_definitions="true"),
}
TYPE_MISTAKES = {
    "with-options-timeout-str",
    "twins-iter-max-items-str",
    "twins-get-flag-str",
    "twins-query-page-size-str",
    "tickets-update-list",
    "upload-files-short-tuple",
    "events-upsert-none",
    "events-page-size-float",
    "ts-write-none",
    "ts-page-size-str",
}


@pytest.mark.parametrize("label", BAD_CALLS)
def test_a_bad_call_argument_is_refused_locally_with_a_typed_error(serve: Any, label: str) -> None:
    server = serve(lambda s: jreply({"content": [], "items": [], "data": []}))
    with server.client() as client, pytest.raises(InvalidRequestError) as info:
        BAD_CALLS[label](client)
    _msg_ok(info.value)
    assert not server.api()
    if label in TYPE_MISTAKES:
        assert isinstance(info.value, TypeError)


async def test_async_bad_call_arguments_are_refused_locally(serve: Any) -> None:
    server = serve(lambda s: jreply({"content": [], "items": [], "data": []}))
    async with AsyncWillowClient(**server.kwargs()) as client:
        for attempt in (
            lambda: client.with_options(headers={"X": "\u20ac"}).twins.get("T-1"),
            lambda: client.tickets.update("1", ["x"]),
            lambda: client.events.upload_files([("a",)]),
            lambda: client.time_series.write(None),
            lambda: client.time_series.page("T-1", START, END, page_size=10**5000),
            lambda: client.events.page(page=10**5000),
        ):
            with pytest.raises(InvalidRequestError):
                await attempt()
        with pytest.raises(InvalidArgumentTypeError):
            client.twins.iter(max_items="5")
    assert not server.api()


# ------------------------------------------------------------------ server values sent back in a URL (issue 10)


def _huge_token_pages(seen: Any) -> Reply:
    if "continuationToken=A" in seen.path:  # never reached: the token is refused before sending
        return jreply({"data": [], "continuationToken": None})
    point = {"timestamp": "2026-01-01T00:00:00Z", "value": 1.0, "dtId": "T-1"}
    return jreply({"data": [point], "continuationToken": "A" * 70_000})


def test_a_70000_character_continuation_token_from_the_server_is_a_pagination_error(serve: Any) -> None:
    server = serve(_huge_token_pages)
    got: list[Any] = []
    with server.client() as client, pytest.raises(PaginationError) as info:
        got.extend(client.time_series.iter("T-1", START, END))
    assert len(got) == 1  # the first page was handed out before the bad token was seen
    assert len(server.api()) == 1
    _msg_ok(info.value)


async def test_async_a_70000_character_continuation_token_from_the_server_is_a_pagination_error(serve: Any) -> None:
    server = serve(_huge_token_pages)
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(PaginationError):
            async for _ in client.time_series.iter_many(["T-1"], START, END):
                pass
    assert len(server.api()) == 1


# A body no encoding can carry never leaves the client, and the error says it is the input
# (it used to read "no response was received (UnicodeEncodeError)", as if the network failed).
UNENCODABLE_CALLS = {
    "twins.upsert": lambda c: c.twins.upsert({"id": "T-1", "modelId": "dtmi:a;1", "name": "\ud800"}),
    "twins.iter query": lambda c: list(c.twins.iter({"searchString": "\ud800"})),
    "tickets.create": lambda c: c.tickets.create({"summary": "bad \udfff"}),
}


@pytest.mark.parametrize("label", UNENCODABLE_CALLS)
def test_a_body_that_cannot_be_encoded_is_refused_locally(serve: Any, label: str) -> None:
    server = serve(lambda s: jreply(twin()))
    with server.client() as client, pytest.raises(InvalidRequestError, match="could not be built") as info:
        UNENCODABLE_CALLS[label](client)
    assert not server.api()
    assert len(str(info.value)) < 400


async def test_async_a_body_that_cannot_be_encoded_is_refused_locally(serve: Any) -> None:
    server = serve(lambda s: jreply(twin()))
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(InvalidRequestError, match="could not be built"):
            await client.twins.upsert({"id": "T-1", "modelId": "dtmi:a;1", "name": "\ud800"})
    assert not server.api()
