"""OAuth2 client credentials: token request shape, caching, refresh, 401 replay, concurrency, secrecy."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import httpx
import pytest

from tests.conftest import FAST_RETRY
from tests.validating import mock_transport
from willow_ext import (
    AsyncWillowClient,
    AuthenticationError,
    AuthenticationStatusError,
    ClientCredentials,
    Secret,
    WillowClient,
)
from willow_ext._auth import ClientCredentialsAuth
from willow_ext.testing import LocalWillow

SECRET = "s3cr3t-value-that-must-never-leak"
TWIN = {"id": "T-1", "modelId": "dtmi:com:willowinc:Room;1", "contents": {}}


class FakeWillow:
    """A MockTransport handler: a token endpoint plus GET /twins/T-1, with counters."""

    def __init__(self, token_body: Callable[[int], httpx.Response] | None = None, lifetime: int = 3599) -> None:
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.sent_authorization: list[str] = []  # as sent: the replay reuses the same Request object
        self.valid: set[str] = set()
        self.lifetime = lifetime
        self.token_body = token_body
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            with self.lock:
                self.token_requests.append(request)
                number = len(self.token_requests)
                if self.token_body is not None:
                    return self.token_body(number)
                token = f"tok-{number}"
                self.valid = {token}
            return httpx.Response(
                200, json={"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
            )
        self.api_requests.append(request)
        self.sent_authorization.append(request.headers.get("authorization", ""))
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401)
        return httpx.Response(200, json=TWIN)


def make_client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> WillowClient:
    return WillowClient(
        base_url="https://unit.app.willowinc.com/api/v3",
        client_id="cid",
        client_secret=SECRET,
        transport=mock_transport(handler),
        retry=FAST_RETRY,
        **kwargs,  # type: ignore[arg-type]
    )


def test_token_request_is_form_encoded_client_credentials_without_scope() -> None:
    fake = FakeWillow()
    with make_client(fake) as client:
        assert client.twins.get("T-1").id == "T-1"
    (token_request,) = fake.token_requests
    assert str(token_request.url) == "https://unit.app.willowinc.com/api/v3/oauth2/token"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": [SECRET],
    }
    assert fake.sent_authorization == ["Bearer tok-1"]


def test_token_is_cached_and_refreshed_before_expiry_with_capped_leeway() -> None:
    now = [1000.0]
    fake = FakeWillow(lifetime=100)  # leeway 60 s is capped at a quarter of 100 s: refresh at 75 s
    credentials = ClientCredentials("cid", Secret(SECRET), "https://unit.app.willowinc.com/api/v3/oauth2/token")
    auth = ClientCredentialsAuth(credentials, leeway=60, clock=lambda: now[0])
    with httpx.Client(transport=mock_transport(fake), auth=auth) as http:
        for _ in range(3):
            assert http.get("https://unit.app.willowinc.com/api/v3/twins/T-1").status_code == 200
        assert len(fake.token_requests) == 1
        now[0] += 74
        http.get("https://unit.app.willowinc.com/api/v3/twins/T-1")
        assert len(fake.token_requests) == 1
        now[0] += 2
        http.get("https://unit.app.willowinc.com/api/v3/twins/T-1")
        assert len(fake.token_requests) == 2


def test_401_refreshes_once_and_replays_invalidating_only_the_failed_token() -> None:
    fake = FakeWillow()
    with make_client(fake) as client:
        client.twins.get("T-1")
        fake.valid = set()  # the server revokes tok-1; the next token (tok-2) will be valid
        assert client.twins.get("T-1").id == "T-1"
        assert len(fake.token_requests) == 2
        assert fake.sent_authorization == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_persistent_401_is_raised_after_one_refresh_not_looped() -> None:
    fake = FakeWillow()
    fake.valid = set()

    def never_valid(number: int) -> httpx.Response:
        return httpx.Response(200, json={"access_token": f"bad-{number}", "expires_in": 3599})

    fake.token_body = never_valid
    with make_client(fake) as client:
        with pytest.raises(AuthenticationStatusError):
            client.twins.get("T-1")
        assert len(fake.api_requests) == 2
        assert len(fake.token_requests) == 2


def test_invalidation_keeps_a_token_another_caller_already_refreshed() -> None:
    fake = FakeWillow()
    credentials = ClientCredentials("cid", Secret(SECRET), "https://unit.app.willowinc.com/api/v3/oauth2/token")
    auth = ClientCredentialsAuth(credentials)
    with httpx.Client(transport=mock_transport(fake), auth=auth) as http:
        http.get("https://unit.app.willowinc.com/api/v3/twins/T-1")
        stale = auth._token
        assert stale is not None
        http.get("https://unit.app.willowinc.com/api/v3/twins/T-1")  # still tok-1
        fake.valid = set()
        http.get("https://unit.app.willowinc.com/api/v3/twins/T-1")  # 401 -> tok-2
        fresh = auth._token
        auth._invalidate(stale)  # a late 401 for tok-1 must not throw away tok-2
        assert auth._token is fresh


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        (
            httpx.Response(
                200, text="<html><body>Sign in to continue</body></html>", headers={"content-type": "text/html"}
            ),
            "text/html, not JSON",
        ),
        (httpx.Response(200, content=b""), "not JSON"),
        (httpx.Response(502, text="Bad Gateway"), "HTTP 502"),
        (httpx.Response(200, json=["not", "an", "object"]), "non-object JSON"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "token request refused"),
        (
            httpx.Response(
                401,
                json={"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
            ),
            "invalid_client",
        ),
    ],
)
def test_unusable_token_responses_raise_a_clear_authentication_error(response: httpx.Response, needle: str) -> None:
    fake = FakeWillow(token_body=lambda _: response)
    with make_client(fake) as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert needle in str(info.value)
    assert fake.api_requests == []


def test_a_reflected_secret_is_masked_in_the_error() -> None:
    fake = FakeWillow(token_body=lambda _: httpx.Response(400, text=f"bad request: client_secret={SECRET}"))
    with make_client(fake) as client, pytest.raises(AuthenticationError) as info:
        client.twins.get("T-1")
    assert SECRET not in str(info.value)
    assert "**********" in str(info.value)


def test_secrets_never_appear_in_reprs_logs_or_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeWillow()
    caplog.set_level(logging.DEBUG)
    with make_client(fake) as client:
        client.twins.get("T-1")
        fake.valid = set()
        fake.token_body = lambda _: httpx.Response(500, text="boom")
        with pytest.raises(AuthenticationError) as info:
            client.twins.get("T-1")
        rendered = [
            repr(client),
            repr(client.auth),
            repr(client.credentials),
            str(Secret(SECRET)),
            "".join(traceback.format_exception(info.value)),
            caplog.text,
            repr(fake.api_requests[0].headers),
        ]
    for text in rendered:
        assert SECRET not in text
        assert "tok-1" not in text
    assert "GET /api/v3/twins/T-1 -> 200" in caplog.text  # the request log line exists, without secrets


def test_100_threads_with_an_expired_token_make_exactly_one_token_request() -> None:
    with LocalWillow(seed=True) as willow, WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        client.twins.get("AHU-1")
        willow.app.expire_tokens()  # every cached token is now rejected
        client.auth._token = None  # and the client knows it expired
        before = willow.app.stats.token_requests
        barrier = threading.Barrier(100)

        def call(_: int) -> str:
            barrier.wait()
            return client.twins.get("AHU-1").id

        with ThreadPoolExecutor(max_workers=100) as pool:
            assert set(pool.map(call, range(100))) == {"AHU-1"}
        assert willow.app.stats.token_requests - before == 1


async def test_100_tasks_with_an_expired_token_make_exactly_one_token_request() -> None:
    with LocalWillow(seed=True) as willow:
        async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
            await client.twins.get("AHU-1")
            willow.app.expire_tokens()
            client.auth._token = None
            before = willow.app.stats.token_requests
            twins = await asyncio.gather(*(client.twins.get("AHU-1") for _ in range(100)))
            assert {t.id for t in twins} == {"AHU-1"}
            assert willow.app.stats.token_requests - before == 1


def test_server_side_expiry_is_recovered_by_the_401_replay() -> None:
    with LocalWillow(seed=True) as willow, WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        client.twins.get("AHU-1")
        willow.app.expire_tokens()  # the client still believes its token is fresh
        assert client.twins.get("AHU-1").id == "AHU-1"
        assert willow.app.stats.token_requests == 2


def test_wrong_credentials_against_the_local_server() -> None:
    with LocalWillow(seed=False) as willow:
        kwargs = willow.client_kwargs(retry=FAST_RETRY)
        kwargs["client_secret"] = "wrong"
        with WillowClient(**kwargs) as client, pytest.raises(AuthenticationError) as info:
            client.twins.get("AHU-1")
        assert info.value.error == "invalid_client"
        assert info.value.status_code == 401
        assert "wrong" not in json.dumps(str(info.value))
