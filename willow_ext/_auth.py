"""OAuth2 client credentials as an ``httpx.Auth``.

RFC 6749 section 4.4 (client credentials): https://www.rfc-editor.org/rfc/rfc6749#section-4.4
The token request is *yielded through the auth flow*, so it uses the client's own transport,
retries and timeouts (httpx docs, "Customizing authentication").
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass

import httpx

from ._errors import AuthenticationError, excerpt

__all__ = ["ClientCredentials", "ClientCredentialsAuth", "Secret"]

#: When the token response has no usable ``expires_in``: refresh well before a typical hour.
DEFAULT_LIFETIME = 300.0


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a user configures; produces the runtime :class:`ClientCredentialsAuth`."""

    client_id: str
    client_secret: Secret  # its repr is masked, so the dataclass repr is safe
    token_url: str

    def __post_init__(self) -> None:
        secret: object = self.client_secret
        if not isinstance(secret, Secret):  # accept a plain str, keep it wrapped
            object.__setattr__(self, "client_secret", Secret(str(secret)))
        if not self.client_id or not self.client_secret:
            raise ValueError("client_id and client_secret must both be non-empty")


@dataclass(frozen=True, slots=True)
class _Token:
    value: Secret
    refresh_at: float


class ClientCredentialsAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>``; fetches, caches and refreshes the token.

    - One token request at a time: concurrent threads (or tasks) wait for the one in flight.
    - The token is refreshed ``leeway`` seconds before it expires, capped at a quarter of its
      lifetime so a short-lived token is not refreshed on every call.
    - On a 401 the token that was used is dropped (only if it is still the cached one) and the
      request is replayed once with a fresh token.
    """

    # Both flows are overridden (one lock type each), so bodies are read explicitly below: the
    # request body must be replayable after a 401 and the token response is parsed in the flow.

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._leeway = leeway
        self._clock = clock
        self._token: _Token | None = None
        self._sync_lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None
        #: How many token requests were sent (for tests and diagnostics).
        self.token_requests = 0

    def __repr__(self) -> str:
        credentials = self._credentials
        return f"ClientCredentialsAuth(client_id={credentials.client_id!r}, token_url={credentials.token_url!r})"

    # ------------------------------------------------------------------ pure parts

    def _fresh_token(self) -> _Token | None:
        token = self._token
        return token if token is not None and self._clock() < token.refresh_at else None

    def _token_request(self, original: httpx.Request) -> httpx.Request:
        # RFC 6749 section 4.4.2: form-encoded grant_type, client_id, client_secret in the body.
        # A request built here gets none of the client's settings: carry its timeouts over, or a
        # hanging token endpoint would block forever.
        return httpx.Request(
            "POST",
            self._credentials.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret.get_secret_value(),
            },
            headers={"Accept": "application/json"},
            extensions={"timeout": original.extensions["timeout"]} if "timeout" in original.extensions else None,
        )

    def _store(self, response: httpx.Response) -> _Token:
        self.token_requests += 1
        token = _parse_token_response(response, self._clock(), self._leeway, self._credentials.client_secret)
        self._token = token
        return token

    def _invalidate(self, used: _Token) -> None:
        if self._token is used:  # another caller may have refreshed already; keep theirs
            self._token = None

    @staticmethod
    def _authorize(request: httpx.Request, token: _Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"

    # ------------------------------------------------------------------ flows

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        for _ in range(2):  # the request, then at most one replay after a 401
            token = self._fresh_token()
            if token is None:
                with self._sync_lock:  # held across the yield: httpx drives this flow in one thread
                    token = self._fresh_token()
                    if token is None:
                        token_response = yield self._token_request(request)
                        token_response.read()
                        token = self._store(token_response)
            self._authorize(request, token)
            response = yield request
            if response.status_code != 401:
                return
            self._invalidate(token)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        for _ in range(2):  # the request, then at most one replay after a 401
            token = self._fresh_token()
            if token is None:
                async with self._async_lock:
                    token = self._fresh_token()
                    if token is None:
                        token_response = yield self._token_request(request)
                        await token_response.aread()
                        token = self._store(token_response)
            self._authorize(request, token)
            response = yield request
            if response.status_code != 401:
                return
            self._invalidate(token)


def _parse_token_response(response: httpx.Response, now: float, leeway: float, secret: Secret) -> _Token:
    """Turn the token endpoint's answer into a cached token, or a clear AuthenticationError."""

    def quote() -> str:
        # Never echo the secret, even if a misbehaving endpoint reflects the request body.
        return excerpt(response.text.replace(secret.get_secret_value(), "**********"))

    content_type = response.headers.get("content-type", "none")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AuthenticationError(
            f"token endpoint {response.request.url} answered HTTP {response.status_code} with "
            f"{content_type}, not JSON: {quote()!r}",
            status_code=response.status_code,
        ) from None
    if not isinstance(body, dict):
        raise AuthenticationError(
            f"token endpoint answered non-object JSON: {quote()!r}", status_code=response.status_code
        )
    if response.status_code != 200 or "access_token" not in body:
        error = body.get("error") if isinstance(body.get("error"), str) else None
        description = body.get("error_description") or body.get("detail") or body.get("title") or ""
        raise AuthenticationError(
            f"token request refused: HTTP {response.status_code} {error or ''} "
            f"{excerpt(str(description).replace(secret.get_secret_value(), '**********'))}".strip(),
            status_code=response.status_code,
            error=error,
        )
    access_token = body["access_token"]
    if not isinstance(access_token, str) or not access_token:
        raise AuthenticationError("token endpoint sent an empty or non-string access_token", status_code=200)
    try:
        lifetime = float(body.get("expires_in", DEFAULT_LIFETIME))
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    if not lifetime > 0:
        lifetime = DEFAULT_LIFETIME
    return _Token(value=Secret(access_token), refresh_at=now + lifetime - min(leeway, lifetime / 4))
