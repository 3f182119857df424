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

import pytest

from willow_ext import (
    AsyncWillowClient,
    AuthenticationError,
    ClientCredentials,
    ClientCredentialsAuth,
    ResponseValidationError,
    Secret,
    WillowError,
)

from .conftest import CLIENT_ID, NO_RETRY, SECRET, TOKEN, HostileServer, Reply, Seen, assert_no_leak, jreply, leaks

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
