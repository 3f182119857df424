"""Class 1: the client secret and access tokens never leave, in any encoding a server reflects."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus

import httpx
import pytest

from willow_ext import (
    APIConnectionError,
    APIStatusError,
    AsyncWillowClient,
    AuthenticationError,
    ClientCredentials,
    ClientCredentialsAuth,
    PaginationError,
    ResponseValidationError,
    Secret,
    ThrottlePolicy,
    WillowClient,
    WillowError,
)
from willow_ext._export_job import UnitFailure
from willow_ext._redact import register_secret

from .conftest import (
    CLIENT_ID,
    NO_RETRY,
    SECRET,
    TOKEN,
    HostileServer,
    Reply,
    Seen,
    assert_no_leak,
    exception_texts,
    free_port,
    jreply,
    leaks,
)

# How a server may reflect a value: each is a distinct encoding attack.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "percent": lambda s: quote(s, safe=""),
    "percent-lower": lambda s: quote(s, safe="").lower(),
    "form": quote_plus,
    "json-escaped": lambda s: json.dumps(s)[1:-1],
    "json-escaped-unicode": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
}


def _form_secret(seen: Seen) -> str:
    return parse_qs(seen.body.decode())["client_secret"][0]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_token_error_description_reflecting_the_secret_is_masked(serve: Any, encoding: str) -> None:
    encode = ENCODINGS[encoding]
    server: HostileServer = serve(
        token=lambda s: jreply(
            {"error": "invalid_client", "error_description": f"bad secret {encode(_form_secret(s))}"}, 401
        )
    )
    with server.client() as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == 401
    assert info.value.error == "invalid_client"
    assert_no_leak(info.value)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_token_endpoint_echoing_the_raw_form_body_as_text_is_masked(serve: Any, encoding: str) -> None:
    encode = ENCODINGS[encoding]
    server = serve(token=lambda s: Reply(500, f"<pre>{encode(_form_secret(s))} {s.body.decode()}</pre>"))
    with server.client() as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert "500" in str(info.value)
    assert_no_leak(info.value)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_api_problem_detail_reflecting_the_access_token_is_masked(serve: Any, encoding: str) -> None:
    encode = ENCODINGS[encoding]

    def reflect(seen: Seen) -> Reply:
        token = seen.headers["Authorization"].removeprefix("Bearer ")
        return jreply({"title": "Forbidden", "detail": f"token {encode(token)} lacks scope", "token": token}, 403)

    server = serve(reflect)
    with server.client() as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    assert getattr(info.value, "status_code", None) == 403
    assert_no_leak(info.value)


@pytest.mark.parametrize("status", [400, pytest.param(404), 409, 422, 429, 500, 502])
def test_error_bodies_of_every_status_that_echo_the_authorization_header_are_masked(serve: Any, status: int) -> None:
    server = serve(lambda s: Reply(status, f"echo: {s.headers['Authorization']}", {"Content-Type": "text/plain"}))
    with server.client(retry=NO_RETRY) as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    assert_no_leak(info.value)


def test_success_body_that_is_not_json_and_reflects_the_token_is_masked_in_the_chain(serve: Any) -> None:
    server = serve(
        lambda s: Reply(200, f"{{not json {s.headers['Authorization']}", {"Content-Type": "application/json"})
    )
    with server.client() as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    assert_no_leak(info.value)


def test_json_decode_error_doc_in_the_chain_does_not_hold_the_reflected_token(serve: Any) -> None:
    server = serve(lambda s: Reply(200, f"[{s.headers['Authorization']}", {"Content-Type": "application/json"}))
    with server.client() as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    chain = [info.value.__cause__, info.value.__context__]
    docs = [getattr(e, "doc", "") for e in chain if e is not None]
    assert not any(TOKEN in doc for doc in docs)


def test_reason_phrase_reflecting_the_token_is_masked(serve: Any) -> None:
    server = serve(lambda s: Reply(418, b"", reason=f"Nope {TOKEN}"))
    with server.client() as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    assert_no_leak(info.value)


def test_wrong_shaped_success_quoting_the_token_gives_a_clean_validation_error(serve: Any) -> None:
    # A JSON list where a twin object is documented, quoting the token: the error must not carry it.
    server = serve(lambda s: jreply([TOKEN, {"token": TOKEN}]))
    with server.client() as client, pytest.raises(ResponseValidationError) as info:
        client.twins.get("T-1")
    assert_no_leak(info.value)


def test_debug_logs_of_httpx_httpcore_and_willow_never_hold_a_secret(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def echo(seen: Seen) -> Reply:
        token = seen.headers["Authorization"]
        return jreply({"id": "T-1", "modelId": "m"}, 200, **{"X-Echo": token, "X-Echo-Q": quote(token, safe="")})

    def token_echo(seen: Seen) -> Reply:
        reply = jreply({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 60})
        reply.headers["X-Echo-Secret"] = quote_plus(_form_secret(seen))
        return reply

    server = serve(echo, token=token_echo)
    with caplog.at_level(logging.DEBUG), server.client() as client:
        client.twins.get("T-1")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "X-Echo" in text or "x-echo" in text.lower()  # the headers were logged: the attack reached the logs
    assert not leaks(text, SECRET, TOKEN)


def test_reprs_of_client_auth_credentials_and_secret_hold_no_secret(serve: Any) -> None:
    server = serve()
    with server.client() as client:
        texts = [repr(client), str(client), repr(client.auth), repr(Secret(SECRET)), str(Secret(SECRET))]
        texts.append(repr(ClientCredentials(CLIENT_ID, Secret(SECRET), server.base_url + "/oauth2/token")))
    assert not [t for t in texts if leaks(t, SECRET)]


def test_plain_string_secret_in_credentials_is_wrapped_and_masked() -> None:
    credentials = ClientCredentials(CLIENT_ID, SECRET, "https://x.app.willowinc.com/api/v3/oauth2/token")  # type: ignore[arg-type]
    assert isinstance(credentials.client_secret, Secret)
    assert not leaks(repr(credentials), SECRET)
    assert not leaks(repr(ClientCredentialsAuth(credentials)), SECRET)


async def test_async_token_refusal_reflecting_the_secret_is_masked(serve: Any) -> None:
    server = serve(token=lambda s: jreply({"error": "invalid_client", "error_description": s.body.decode()}, 401))
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.twins.get("T-1")
    assert_no_leak(info.value)


def test_oauth_error_fields_are_bounded_and_control_free(serve: Any) -> None:
    server = serve(
        token=lambda s: jreply({"error": "x\x1b[2J" * 5000, "error_description": "\x1b]0;pwn\x07" + "d" * 100_000}, 400)
    )
    with server.client() as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    message = str(info.value)
    assert len(message) < 1500
    assert "\x1b" not in message
    assert "\x07" not in message
    assert info.value.error is not None
    assert len(info.value.error) < 200
    assert "\x1b" not in info.value.error


def test_cli_output_never_shows_the_secret_or_token(serve: Any, tmp_path: Any) -> None:
    def reflect(seen: Seen) -> Reply:
        token = seen.headers["Authorization"]
        return jreply({"title": f"denied {token}", "detail": quote(token, safe="")}, 403)

    server = serve(reflect, token=lambda s: jreply({"access_token": TOKEN, "expires_in": 60, "note": s.body.decode()}))
    env = {
        **os.environ,
        "WILLOW_BASE_URL": server.base_url,
        "WILLOW_CLIENT_ID": CLIENT_ID,
        "WILLOW_CLIENT_SECRET": SECRET,
    }
    env.pop("WILLOW_INSTANCE", None)
    result = subprocess.run(
        [sys.executable, "-m", "willow_ext.cli", "twins", "get", "T-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "403" in result.stderr
    assert not leaks(result.stdout + result.stderr, SECRET, TOKEN)


# How other servers' libraries spell a value: each escapes a different set of characters.
SERVER_ENCODINGS: dict[str, Callable[[str], str]] = {
    "php-json": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "go-json": lambda s: (
        json.dumps(s, ensure_ascii=False)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    ),
    "gson": lambda s: json.dumps(s, ensure_ascii=False)[1:-1].translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&='"}),
    "system-text-json": lambda s: (
        json.dumps(s)[1:-1].replace('\\"', "\\u0022").translate({ord(c): f"\\u{ord(c):04X}" for c in "<>&'+`"})
    ),
    "js-encodeURIComponent": lambda s: quote(s, safe="!'()*"),
    "java-URLEncoder": lambda s: quote_plus(s, safe="*").replace("~", "%7E"),
    "dotnet-UrlEncode": lambda s: quote_plus(s, safe="!()*").replace("~", "%7E").lower(),
    "php-urlencode": lambda s: quote_plus(s).replace("~", "%7E"),
    "python-repr": lambda s: repr(s)[1:-1],
    "python-ascii": lambda s: ascii(s)[1:-1],
    "utf8-bytes-repr": lambda s: repr(s.encode())[2:-1],
}
#: Runs of the secret and the token that every encoding leaves intact: a leak in any spelling shows one.
CORES = ("Sup3r", "AbCdEf0123456789")


def _cores_in(*texts: str) -> list[str]:
    return [core for text in texts for core in CORES if core in text]


def _chain_cores(exc: BaseException) -> list[str]:
    return _cores_in(*exception_texts(exc))


@pytest.mark.parametrize("encoding", SERVER_ENCODINGS)
def test_token_endpoint_reflecting_the_secret_as_other_libraries_encode_it_is_masked(serve: Any, encoding: str) -> None:
    encode = SERVER_ENCODINGS[encoding]
    server = serve(token=lambda s: Reply(400, f"error=invalid_client; you sent {encode(_form_secret(s))}".encode()))
    with server.client() as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert "400" in str(info.value)
    assert not _chain_cores(info.value)


@pytest.mark.parametrize("encoding", SERVER_ENCODINGS)
def test_api_reflecting_the_token_as_other_libraries_encode_it_is_masked(serve: Any, encoding: str) -> None:
    encode = SERVER_ENCODINGS[encoding]

    def reflect(seen: Seen) -> Reply:
        token = seen.headers["Authorization"].removeprefix("Bearer ")
        return Reply(403, f"denied for token {encode(token)}".encode(), {"Content-Type": "text/plain"})

    server = serve(reflect)
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    assert info.value.status_code == 403
    assert not _chain_cores(info.value)


def _illegal_header_line(value: bytes) -> bytes:
    # h11 refuses it and quotes the whole line in its error: "illegal header line: bytearray(b'...')".
    return b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nX-Bad " + value + b": x\r\n\r\n"


def test_transport_error_quoting_the_token_form_leaves_no_secret_in_the_exception_chain(serve: Any) -> None:
    server = serve(token=lambda s: _illegal_header_line(s.body))
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIConnectionError) as info:
        client.twins.get("T-1")
    assert "illegal header line" in str(info.value)  # the attack reached the error text
    cause = info.value.__cause__
    assert isinstance(cause, httpx.RemoteProtocolError)  # the type is kept for callers that inspect it
    assert info.value.__context__ in (None, cause)
    assert cause.__cause__ is None
    assert cause.__context__ is None
    assert_no_leak(info.value)


async def test_async_transport_error_quoting_the_authorization_header_leaves_no_token_in_the_chain(
    serve: Any,
) -> None:
    server = serve(lambda s: _illegal_header_line(s.headers["Authorization"].encode()))
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.twins.get("T-1")
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert_no_leak(info.value)


def _exposed_requests(exc: BaseException) -> list[httpx.Request]:
    """Every request object reachable from the error, its response and that response's history
    (which holds the token exchange), and from the errors it is chained to."""
    found: list[Any] = []
    for current in (exc, exc.__cause__, exc.__context__):
        attributes = vars(current) if current is not None else {}
        found += [attributes.get("request"), attributes.get("_request")]  # httpx errors keep ``_request``
        response = attributes.get("response")
        if isinstance(response, httpx.Response):
            found += [answered._request for answered in (response, *response.history)]
    return [request for request in found if isinstance(request, httpx.Request)]


def _request_text(request: httpx.Request) -> str:
    return f"{request.url} {request.headers.multi_items()} {request.content!r}"


def test_connection_error_on_the_token_request_does_not_carry_the_token_form(serve: Any) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/api/v3"  # nothing listens
    kwargs = {**serve().kwargs(retry=NO_RETRY), "base_url": base_url}
    with WillowClient(**kwargs) as client, pytest.raises(APIConnectionError) as info:
        client.twins.get("T-1")
    requests = _exposed_requests(info.value)
    assert info.value.request in requests
    assert info.value.request.url.path.endswith("/oauth2/token")  # still says where it failed
    assert not [r for r in requests if leaks(_request_text(r), SECRET) or b"client_secret=adv" in r.content]


def test_status_error_requests_carry_no_bearer_token_nor_token_form(serve: Any) -> None:
    server = serve(lambda s: jreply({"title": "Forbidden"}, 403))
    with server.client() as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    requests = _exposed_requests(info.value)
    assert len(requests) >= 2  # the API request and, in the response history, the token request
    texts = [_request_text(r) for r in requests]
    assert not [t for t in texts if leaks(t, SECRET, TOKEN) or _cores_in(t)]
    assert info.value.request.headers["Authorization"] == "**********"


def test_pagination_error_quoting_a_cursor_that_holds_the_token_masks_it_before_cutting(serve: Any) -> None:
    def page(seen: Seen) -> Reply:
        token = seen.headers["Authorization"].removeprefix("Bearer ")
        items = [] if seen.json().get("continuationToken") else [{"id": "T-1", "modelId": "m"}]
        return jreply({"content": items, "continuationToken": "cursor1-" + token})  # the same cursor twice

    server = serve(page)
    with server.client(throttle=ThrottlePolicy.disabled()) as client, pytest.raises(PaginationError) as info:
        list(client.twins.iter(page_size=1))
    assert "cursor" in str(info.value)
    assert not _chain_cores(info.value)


def test_export_failure_reason_is_masked_before_any_cut() -> None:
    register_secret(SECRET)  # as every client does
    failure = UnitFailure(["T-1"], "a", "b", OSError("x" * 190 + " " + SECRET))
    assert "Sup3r" not in failure.reason
    assert "Sup3r" not in failure.reason[:200]


def test_debug_logs_never_show_a_non_ascii_secret_echoed_raw_in_a_header(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # httpcore logs header values as the repr of their bytes: b'...\xc3\xbc...'.
    def token_echo(seen: Seen) -> Reply:
        echoed = _form_secret(seen).encode().decode("latin-1")  # the raw UTF-8 bytes on the wire
        return Reply(401, b'{"error":"invalid_client"}', {"Content-Type": "application/json", "X-Echo": echoed})

    server = serve(token=token_echo)
    # (WillowError: a non-ASCII response header currently ends the call with a decoding error.)
    with caplog.at_level(logging.DEBUG), server.client() as client, pytest.raises(WillowError):
        client.twins.get("T-1")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "X-Echo" in text  # httpcore logged the headers: the attack reached the logs
    assert not _cores_in(text)


def test_cli_verbose_never_shows_a_non_ascii_secret_echoed_in_a_header(serve: Any) -> None:
    def token_echo(seen: Seen) -> Reply:
        echoed = _form_secret(seen).encode().decode("latin-1")
        return Reply(401, b'{"error":"invalid_client"}', {"Content-Type": "application/json", "X-Echo": echoed})

    server = serve(token=token_echo)
    env = {
        **os.environ,
        "PYTHONIOENCODING": "utf-8",
        "WILLOW_BASE_URL": server.base_url,
        "WILLOW_CLIENT_ID": CLIENT_ID,
        "WILLOW_CLIENT_SECRET": SECRET,
    }
    env.pop("WILLOW_INSTANCE", None)
    result = subprocess.run(
        [sys.executable, "-m", "willow_ext.cli", "-v", "twins", "get", "T-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "X-Echo" in result.stderr  # the verbose log showed the headers
    assert not _cores_in(result.stdout, result.stderr)


def _response_texts(response: httpx.Response) -> list[str]:
    """Everything a caller can read off a response an error carries, its history included."""
    texts: list[str] = []
    for answered in (response, *response.history):
        texts += [answered.text, repr(answered.headers.raw), str(answered.request.url)]
        texts += [repr(answered.request.headers.raw), answered.request.content.decode("utf-8", "replace")]
    return texts


@pytest.mark.parametrize("status", [401, 403, 500])
def test_the_response_on_a_status_error_holds_no_reflected_secret(serve: Any, status: int) -> None:
    # The message and .body were masked, but .response kept the server's raw body and headers.
    def echo(seen: Seen) -> Reply:
        bearer = seen.headers["Authorization"]
        return Reply(status, f'{{"detail": "you sent {bearer}"}}', {"X-Echo": bearer, "Content-Type": "text/plain"})

    server = serve(echo, token=lambda s: jreply({"access_token": TOKEN, "expires_in": 3600, "echo": SECRET}))
    with server.client(retry=NO_RETRY) as client, pytest.raises(APIStatusError) as info:
        client.twins.get("T-1")
    texts = _response_texts(info.value.response)
    assert "you sent" in texts[0]  # the body is still there, masked
    assert not [form for text in texts for form in leaks(text, SECRET, TOKEN)]


def test_the_response_on_a_validation_error_holds_no_reflected_token(serve: Any) -> None:
    server = serve(lambda s: Reply(200, f"<html>{s.headers['Authorization']}</html>", {"X-Echo": TOKEN}))
    with server.client() as client, pytest.raises(ResponseValidationError) as info:
        client.twins.get("T-1")
    texts = _response_texts(info.value.response)
    assert "<html>" in texts[0]
    assert not [form for text in texts for form in leaks(text, TOKEN)]
