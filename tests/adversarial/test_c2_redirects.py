"""Class 2: the token request never follows a redirect; a token from elsewhere is never used."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest

from willow_ext import AsyncWillowClient, AuthenticationError, WillowClient, WillowError

from .conftest import CLIENT_ID, SECRET, HostileServer, Reply, Seen, jreply

EVIL_TOKEN = "evil-token-0123456789"


def _evil(serve: Any) -> HostileServer:
    """A second origin that hands out a token and records whatever reaches it."""
    return serve(lambda s: jreply({"id": "T-1", "modelId": "m"}), token=lambda s: jreply({"access_token": EVIL_TOKEN}))


def _redirecting(serve: Any, status: int, location: str) -> HostileServer:
    def api(seen: Seen) -> Reply:
        return jreply({"id": "T-1", "modelId": "m"})

    return serve(api, token=lambda s: Reply(status, b"", {"Location": location}))


def _assert_refused(server: HostileServer, evil: HostileServer | None) -> None:
    assert not server.api(), "no API request may be sent without a token from the configured endpoint"
    if evil is not None:
        assert not evil.seen, "the secret (or anything) reached another origin"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_default_client_does_not_follow_a_token_redirect_to_another_origin(serve: Any, status: int) -> None:
    evil = _evil(serve)
    server = _redirecting(serve, status, f"{evil.base_url}/oauth2/token")
    with server.client() as client, pytest.raises(AuthenticationError, match="redirect"):
        client.twins.get("T-1")
    _assert_refused(server, evil)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_callers_follow_redirects_client_still_never_sends_the_token_request_elsewhere(serve: Any, status: int) -> None:
    evil = _evil(serve)
    server = _redirecting(serve, status, f"{evil.base_url}/oauth2/token")
    own = httpx.Client(follow_redirects=True, timeout=2)
    client = WillowClient(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, http_client=own)
    with own, pytest.raises(AuthenticationError, match="redirect"):
        client.twins.get("T-1")
    _assert_refused(server, evil)


def test_same_origin_redirect_to_another_path_is_not_followed_either(serve: Any) -> None:
    holder: dict[str, HostileServer] = {}

    def api(seen: Seen) -> Reply:
        if seen.path.endswith("/elsewhere"):
            return jreply({"access_token": EVIL_TOKEN})
        return jreply({"id": "T-1", "modelId": "m"})

    server = serve(api, token=lambda s: Reply(307, b"", {"Location": f"{holder['s'].base_url}/elsewhere"}))
    holder["s"] = server
    own = httpx.Client(follow_redirects=True, timeout=2)
    client = WillowClient(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, http_client=own)
    with own, pytest.raises(AuthenticationError):
        client.twins.get("T-1")
    assert not [s for s in server.seen if s.path.endswith("/elsewhere")]
    assert not [s for s in server.api() if EVIL_TOKEN in s.headers.get("Authorization", "")]


def test_redirect_to_a_plain_http_url_on_another_port_is_refused(serve: Any) -> None:
    evil = _evil(serve)
    server = _redirecting(serve, 308, f"http://localhost:{evil.port}/api/v3/oauth2/token")
    own = httpx.Client(follow_redirects=True, timeout=2)
    client = WillowClient(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, http_client=own)
    with own, pytest.raises(AuthenticationError):
        client.twins.get("T-1")
    _assert_refused(server, evil)


async def test_async_callers_follow_redirects_client_never_sends_the_token_request_elsewhere(serve: Any) -> None:
    evil = _evil(serve)
    server = _redirecting(serve, 307, f"{evil.base_url}/oauth2/token")
    async with httpx.AsyncClient(follow_redirects=True, timeout=2) as own:
        client = AsyncWillowClient(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, http_client=own)
        with pytest.raises(AuthenticationError):
            await client.twins.get("T-1")
    _assert_refused(server, evil)


async def test_async_default_client_refuses_a_token_redirect(serve: Any) -> None:
    evil = _evil(serve)
    server = _redirecting(serve, 302, f"{evil.base_url}/oauth2/token")
    async with AsyncWillowClient(**server.kwargs()) as client:
        with pytest.raises(AuthenticationError):
            await client.twins.get("T-1")
    _assert_refused(server, evil)


def test_api_redirect_to_another_origin_never_carries_the_bearer_token(serve: Any) -> None:
    evil = _evil(serve)
    server = serve(lambda s: Reply(307, b"", {"Location": f"{evil.base_url}/twins/T-1"}))
    own = httpx.Client(follow_redirects=True, timeout=2)
    client = WillowClient(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, http_client=own)
    with own, contextlib.suppress(Exception):  # the outcome may be an error; the leak is what is checked
        client.twins.get("T-1")
    assert all("Authorization" not in s.headers for s in evil.seen)


def test_a_redirect_loop_on_the_token_endpoint_ends_with_a_typed_error(serve: Any) -> None:
    holder: dict[str, HostileServer] = {}
    server = serve(token=lambda s: Reply(307, b"", {"Location": f"{holder['s'].base_url}/oauth2/token"}))
    holder["s"] = server
    own = httpx.Client(follow_redirects=True, timeout=2)
    client = WillowClient(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, http_client=own)
    with own, pytest.raises(WillowError):
        client.twins.get("T-1")
    assert not server.api()
