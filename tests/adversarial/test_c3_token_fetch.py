"""Class 3: one token fetch with a shared outcome (failure too), a short negative cache, and a
clear result for odd token responses."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from willow_ext import (
    APIConnectionError,
    APITimeoutError,
    AsyncWillowClient,
    AuthenticationError,
    ClientCredentials,
    ClientCredentialsAuth,
    RetryPolicy,
    Secret,
    WillowError,
)

from .conftest import CLIENT_ID, NO_RETRY, SECRET, TOKEN, Reply, Seen, free_port, jreply

REFUSED = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}


def _twin(seen: Seen) -> Reply:
    return jreply({"id": "T-1", "modelId": "m"})


def test_hundred_threads_with_a_wrong_secret_make_one_token_request_and_share_the_failure(serve: Any) -> None:
    gate = threading.Event()

    def refuse(seen: Seen) -> Reply:
        gate.wait(1)  # hold the first fetch until every thread is waiting behind it
        return jreply(REFUSED, 401)

    server = serve(_twin, token=refuse)
    with server.client(retry=NO_RETRY) as client:

        def call(_: int) -> BaseException | None:
            try:
                client.twins.get("T-1")
            except BaseException as exc:
                return exc
            return None

        with ThreadPoolExecutor(100) as pool:
            futures = [pool.submit(call, i) for i in range(100)]
            time.sleep(0.3)
            gate.set()
            outcomes = [f.result(timeout=20) for f in futures]
    assert len(server.tokens()) == 1
    assert all(isinstance(o, AuthenticationError) for o in outcomes)
    assert {o.error for o in outcomes if isinstance(o, AuthenticationError)} == {"invalid_client"}
    assert not server.api()


def test_waiters_behind_a_hanging_token_endpoint_fail_at_once_not_one_timeout_each(serve: Any) -> None:
    server = serve(_twin, token=lambda s: Reply(200, b"{}", delay=1.5))
    with server.client(timeout=0.4, retry=NO_RETRY) as client:

        def call(_: int) -> tuple[float, BaseException | None]:
            started = time.monotonic()
            try:
                client.twins.get("T-1")
            except BaseException as exc:
                return time.monotonic() - started, exc
            return time.monotonic() - started, None

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(8)))
    assert all(isinstance(exc, APITimeoutError) for _, exc in results)
    assert len(server.tokens()) == 1
    # Without a shared outcome the k-th waiter would take about k x 0.4 s (3.2 s for the last).
    assert max(elapsed for elapsed, _ in results) < 1.6


def test_token_endpoint_down_connection_refused_is_shared_by_waiters(serve: Any) -> None:
    port = free_port()
    from willow_ext import WillowClient

    with WillowClient(
        base_url=f"http://127.0.0.1:{port}/api/v3", client_id=CLIENT_ID, client_secret=SECRET, retry=NO_RETRY
    ) as client:
        errors = []
        for _ in range(5):
            with pytest.raises(APIConnectionError) as info:
                client.twins.get("T-1")
            errors.append(info.value)
    assert client.auth.token_requests == 1  # the four later calls were answered by the negative cache
    assert all(type(e) is type(errors[0]) for e in errors)


def test_negative_cache_answers_a_stampede_then_expires(serve: Any) -> None:
    server = serve(_twin, token=lambda s: jreply(REFUSED, 401))
    auth = ClientCredentialsAuth(
        ClientCredentials(CLIENT_ID, Secret(SECRET), server.base_url + "/oauth2/token"), failure_ttl=0.3
    )
    with httpx.Client(auth=auth, timeout=2) as http:
        for _ in range(20):
            with pytest.raises(AuthenticationError):
                http.get(server.base_url + "/twins/T-1")
        assert len(server.tokens()) == 1
        time.sleep(0.35)
        with pytest.raises(AuthenticationError):
            http.get(server.base_url + "/twins/T-1")
    assert len(server.tokens()) == 2


def test_a_success_after_the_negative_cache_expires_clears_the_failure(serve: Any) -> None:
    answers = iter([jreply(REFUSED, 401), jreply({"access_token": TOKEN, "expires_in": 3600})])
    server = serve(_twin, token=lambda s: next(answers))
    auth = ClientCredentialsAuth(
        ClientCredentials(CLIENT_ID, Secret(SECRET), server.base_url + "/oauth2/token"), failure_ttl=0.05
    )
    with httpx.Client(auth=auth, timeout=2) as http:
        with pytest.raises(AuthenticationError):
            http.get(server.base_url + "/twins/T-1")
        time.sleep(0.1)
        assert http.get(server.base_url + "/twins/T-1").status_code == 200
        assert http.get(server.base_url + "/twins/T-1").status_code == 200
    assert len(server.tokens()) == 2


async def test_fifty_tasks_with_a_wrong_secret_make_one_token_request(serve: Any) -> None:
    server = serve(_twin, token=lambda s: Reply(401, REFUSED, {"Content-Type": "application/json"}, delay=0.2))
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        outcomes = await asyncio.gather(*(client.twins.get("T-1") for _ in range(50)), return_exceptions=True)
    assert len(server.tokens()) == 1
    assert all(isinstance(o, AuthenticationError) for o in outcomes)


async def test_async_waiters_share_a_token_timeout(serve: Any) -> None:
    server = serve(_twin, token=lambda s: Reply(200, b"{}", delay=1.5))
    async with AsyncWillowClient(**server.kwargs(timeout=0.4, retry=NO_RETRY)) as client:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(client.twins.get("T-1") for _ in range(8)), return_exceptions=True)
        elapsed = time.monotonic() - started
    assert all(isinstance(o, APITimeoutError) for o in outcomes), outcomes
    assert len(server.tokens()) == 1
    assert elapsed < 1.6


async def test_a_cancelled_token_fetch_does_not_fail_the_next_caller(serve: Any) -> None:
    slow = {"first": True}

    def token(seen: Seen) -> Reply:
        if slow.pop("first", False):
            return Reply(200, b"{}", delay=1.0)
        return jreply({"access_token": TOKEN, "expires_in": 3600})

    server = serve(_twin, token=token)
    async with AsyncWillowClient(**server.kwargs(retry=NO_RETRY)) as client:
        task = asyncio.ensure_future(client.twins.get("T-1"))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await client.twins.get("T-1")).id == "T-1"


# ---------------------------------------------------------------- odd token responses

# expires_in value -> token requests after three calls (1: cached, 3: used once each).
EXPIRES_IN: list[tuple[str, Any, int]] = [
    ("missing", ..., 1),
    ("zero", 0, 3),
    ("negative", -3600, 3),
    ("huge-float", 1e308, 1),
    ("huge-int-400-digits", 10**400, 1),
    ("numeric-string", "3600", 1),
    ("garbage-string", "soon", 1),
    ("null", None, 1),
    ("boolean", True, 1),
    ("list", [3600], 1),
    ("object", {"s": 1}, 1),
    ("nan-string", "NaN", 3),
    ("inf-string", "Infinity", 1),
    ("fraction", 0.5, 1),
]


@pytest.mark.parametrize(("label", "expires_in", "fetches"), EXPIRES_IN, ids=[e[0] for e in EXPIRES_IN])
def test_odd_expires_in_gives_a_clear_caching_result(serve: Any, label: str, expires_in: Any, fetches: int) -> None:
    body: dict[str, Any] = {"access_token": TOKEN, "token_type": "Bearer"}
    if expires_in is not ...:
        body["expires_in"] = expires_in
    import json

    raw = (
        json.dumps(body).encode()
        if label != "huge-int-400-digits"
        else (b'{"access_token": "' + TOKEN.encode() + b'", "expires_in": ' + str(10**400).encode() + b"}")
    )
    server = serve(_twin, token=lambda s: Reply(200, raw, {"Content-Type": "application/json"}))
    with server.client() as client:
        for _ in range(3):
            assert client.twins.get("T-1").id == "T-1"
    assert len(server.tokens()) == fetches
    assert all(s.headers["Authorization"] == f"Bearer {TOKEN}" for s in server.api())


@pytest.mark.parametrize("token_type", ["mac", "DPoP", "Basic", "", 7, ["Bearer"]])
def test_a_token_type_other_than_bearer_is_refused_not_misused(serve: Any, token_type: Any) -> None:
    server = serve(_twin, token=lambda s: jreply({"access_token": TOKEN, "token_type": token_type, "expires_in": 60}))
    with server.client() as client, pytest.raises(AuthenticationError, match="Bearer"):
        client.twins.get("T-1")
    assert not server.api()


@pytest.mark.parametrize("token_type", ["bearer", "BEARER", "Bearer"])
def test_bearer_token_type_is_case_insensitive(serve: Any, token_type: str) -> None:
    server = serve(_twin, token=lambda s: jreply({"access_token": TOKEN, "token_type": token_type, "expires_in": 60}))
    with server.client() as client:
        assert client.twins.get("T-1").id == "T-1"


BAD_TOKENS: dict[str, Any] = {
    "crlf-header-injection": "abc\r\nX-Injected: 1",
    "space": "two words",
    "non-ascii": "tökén-value",
    "empty": "",
    "number": 12345,
    "null": None,
    "object": {"v": "x"},
    "megabyte": "a" * 1_000_000,
}


@pytest.mark.parametrize("label", BAD_TOKENS)
def test_an_access_token_that_cannot_be_a_bearer_credential_is_refused(serve: Any, label: str) -> None:
    server = serve(_twin, token=lambda s: jreply({"access_token": BAD_TOKENS[label], "expires_in": 60}))
    with server.client() as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert not server.api()
    assert len(str(info.value)) < 1200


def test_an_overlong_access_token_is_refused_before_it_is_registered_for_masking(serve: Any) -> None:
    # Registered, a megabyte "token" made every later registration in the process cost seconds
    # (while other callers waited for their token). It is never used or quoted, so never registered.
    from willow_ext import _redact

    overlong = "b" * 1_000_000
    server = serve(_twin, token=lambda s: jreply({"access_token": overlong, "expires_in": 60}))
    with server.client() as client, pytest.raises(AuthenticationError, match="1000000 characters") as info:
        client.twins.get("T-1")
    assert not server.api()
    assert overlong not in _redact._registry
    assert "bbbbbbbb" not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"[]", b'"token"', b"<html>login</html>", b"{" * 100_000, b"\xff\xfe\x00garbage"],
    ids=["empty", "null", "list", "string", "html", "deeply-nested", "binary"],
)
def test_a_token_response_that_is_not_a_json_object_is_a_bounded_authentication_error(serve: Any, body: bytes) -> None:
    server = serve(_twin, token=lambda s: Reply(200, body, {"Content-Type": "application/json"}))
    with server.client() as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert len(str(info.value)) < 1200
    assert not server.api()


def test_the_token_is_fetched_once_for_many_concurrent_successful_calls(serve: Any) -> None:
    server = serve(_twin, token=lambda s: Reply(200, {"access_token": TOKEN, "expires_in": 3600}, delay=0.2))
    with server.client() as client, ThreadPoolExecutor(20) as pool:
        twins = list(pool.map(lambda _: client.twins.get("T-1"), range(40)))
    assert len(twins) == 40
    assert len(server.tokens()) == 1


def test_retry_policy_retries_a_503_token_endpoint_then_shares_the_success(serve: Any) -> None:
    answers = iter([Reply(503, b"busy"), jreply({"access_token": TOKEN, "expires_in": 3600})])
    server = serve(_twin, token=lambda s: next(answers))
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.001, backoff_max=0.005, max_total_seconds=3)
    with server.client(retry=policy) as client:
        assert client.twins.get("T-1").id == "T-1"
        assert client.twins.get("T-1").id == "T-1"
    assert len(server.tokens()) == 2


def test_authentication_error_is_a_willow_error_with_status_and_code(serve: Any) -> None:
    server = serve(_twin, token=lambda s: jreply(REFUSED, 400))
    with server.client() as client, pytest.raises(WillowError) as info:
        client.twins.get("T-1")
    assert isinstance(info.value, AuthenticationError)
    assert info.value.status_code == 400
    assert info.value.error == "invalid_client"
