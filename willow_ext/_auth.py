"""OAuth2 client credentials as an ``httpx.Auth``.

RFC 6749 section 4.4 (client credentials): https://www.rfc-editor.org/rfc/rfc6749#section-4.4
The token request is *yielded through the auth flow*, so it uses the client's own transport,
retries and timeouts (httpx docs, "Customizing authentication").
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from ._errors import AuthenticationError, InvalidArgumentTypeError, InvalidRequestError, excerpt
from ._redact import install_log_redaction, register_secret, safe_text

__all__ = ["ClientCredentials", "ClientCredentialsAuth", "Secret"]

#: When the token response has no usable ``expires_in``: refresh well before a typical hour.
DEFAULT_LIFETIME = 300.0
#: A longer ``expires_in`` (even 1e308) is capped: no overflow, and a day-old token is refreshed.
MAX_LIFETIME = 86_400.0
#: How long a failed token fetch is answered from memory, so a wrong secret or a down endpoint
#: costs one request per window, not one per caller.
FAILURE_TTL = 2.0
#: RFC 6750 section 2.1 ``b64token``: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MAX_TOKEN_CHARS = 16_384

install_log_redaction()


#: At most this many replays after a 401 (the first always; later ones only for an expired token).
MAX_REPLAYS = 3


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        # Masked in every message and log line from now on, for the life of the process (a client
        # secret). Access tokens are registered among the last few hundred instead (_access_token).
        register_secret(value, keep=True)

    @classmethod
    def _access_token(cls, value: str) -> Secret:
        secret = cls.__new__(cls)
        secret._value = value
        register_secret(value)  # one per refresh: remembered among the most recent only
        return secret

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
        client_id: object = self.client_id
        if not isinstance(client_id, str) or not isinstance(secret, str | Secret):
            kind = type(client_id if not isinstance(client_id, str) else secret).__name__
            name = "client_id" if not isinstance(client_id, str) else "client_secret"
            raise InvalidArgumentTypeError(f"{name} must be a string, got {kind}")
        if not isinstance(secret, Secret):  # accept a plain str, keep it wrapped
            object.__setattr__(self, "client_secret", Secret(secret))
        for name, value in (("client_id", client_id), ("client_secret", self.client_secret)):
            if not value:
                raise InvalidRequestError(f"{name} must not be empty")


@dataclass(frozen=True, slots=True)
class _Token:
    value: Secret
    refresh_at: float


@dataclass(frozen=True, slots=True)
class _Failure:
    """The outcome of a failed token fetch, shared with every caller that waited for it."""

    error: BaseException
    generation: int
    until: float

    def raise_for(self, request: httpx.Request) -> None:
        error = self.error
        if isinstance(error, AuthenticationError):
            raise AuthenticationError(str(error), status_code=error.status_code, error=error.error) from None
        if isinstance(error, httpx.TransportError):
            # Same type, so the client maps it to the same APIConnectionError / APITimeoutError.
            raise type(error)(f"token request failed moments ago: {safe_text(error, 200)}", request=request) from None
        raise AuthenticationError(f"token request failed moments ago: {type(error).__name__}") from None


def _destination(url: Any) -> tuple[bytes, bytes, int | None, bytes]:
    """Where an httpcore request really goes. Through a forward proxy (HTTP_PROXY), httpcore
    connects to the proxy and sends the absolute URL as the target (RFC 9112 section 3.2.2)."""
    if url.target.startswith((b"http://", b"https://")):
        absolute = httpx.URL(url.target.decode("ascii"))
        return absolute.raw_scheme, absolute.raw_host, absolute.port, absolute.raw_path
    return url.scheme, url.host, url.port, url.target


class _TokenFetch:
    """One token request: its redirect guard (an httpcore ``trace`` hook) and what went wrong.

    httpx follows redirects for every request an auth flow yields when the client has
    ``follow_redirects=True``, and a 307/308 would carry the form body (the secret) along. The
    ``trace`` extension is shared with any redirect httpx builds from this request, so the hook
    sees the redirected request before a byte is sent and refuses it.
    https://www.encode.io/httpcore/extensions/#trace
    """

    def __init__(self, url: httpx.URL) -> None:
        self.url = url
        self.transport_error: BaseException | None = None

    def _check(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith(".failed"):
            error = info.get("exception")
            if isinstance(error, Exception) and not isinstance(error, AuthenticationError):
                self.transport_error = error
            return
        target = info.get("request")
        expected = (self.url.raw_scheme, self.url.raw_host, self.url.port, self.url.raw_path)
        if target is not None and event.endswith(".started") and _destination(target.url) != expected:
            raise AuthenticationError(
                "the token request was redirected; redirects are never followed for it "
                "(the client secret would go along)"
            )

    def trace(self, event: str, info: dict[str, Any]) -> None:
        self._check(event, info)

    async def atrace(self, event: str, info: dict[str, Any]) -> None:
        self._check(event, info)

    def failure_cause(self, exc: BaseException) -> BaseException | None:
        """Why the fetch ended without an answer, if it was a failure (not a cancellation)."""
        cause = exc.__context__ if exc.__context__ is not None else self.transport_error
        if cause is None or not isinstance(cause, Exception):
            return None  # KeyboardInterrupt, task cancellation: not the endpoint's fault
        if isinstance(cause, AuthenticationError | httpx.TransportError):
            return cause
        # httpcore exceptions carry the same class names as the httpx ones they map to.
        mapped = getattr(httpx, type(cause).__name__, None)
        if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
            return mapped(str(cause))
        return httpx.TransportError(f"{type(cause).__name__}")


class ClientCredentialsAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>``; fetches, caches and refreshes the token.

    - One token request at a time: concurrent threads (or tasks) wait for the one in flight and
      share its outcome, success or failure. A failure is remembered for ``failure_ttl`` seconds.
    - The token request never follows a redirect, and a token from any other URL is never used.
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
        failure_ttl: float = FAILURE_TTL,
    ) -> None:
        self._credentials = credentials
        self._token_url = httpx.URL(credentials.token_url)
        self._leeway = leeway
        self._clock = clock
        self._failure_ttl = failure_ttl
        self._token: _Token | None = None
        self._failure: _Failure | None = None
        self._generation = 0  # fetches finished so far
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

    def _shared_failure(self, seen_generation: int) -> _Failure | None:
        """The failure to answer with: one that finished while this caller waited, or a recent one."""
        failure = self._failure
        if failure is None:
            return None
        if failure.generation > seen_generation or self._clock() < failure.until:
            return failure
        return None

    def _token_request(self, original: httpx.Request, fetch: _TokenFetch, *, is_async: bool) -> httpx.Request:
        # RFC 6749 section 4.4.2: form-encoded grant_type, client_id, client_secret in the body.
        # A request built here gets none of the client's settings: carry its timeouts over, or a
        # hanging token endpoint would block forever.
        extensions: dict[str, Any] = {"trace": fetch.atrace if is_async else fetch.trace}
        if "timeout" in original.extensions:
            extensions["timeout"] = original.extensions["timeout"]
        return httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret.get_secret_value(),
            },
            headers={"Accept": "application/json"},
            extensions=extensions,
        )

    def _store(self, response: httpx.Response) -> _Token:
        self.token_requests += 1
        self._generation += 1
        try:
            _refuse_redirect(response, self._token_url)
            token = _parse_token_response(response, self._clock(), self._leeway)
        except AuthenticationError as exc:
            self._remember(exc)
            raise
        self._token = token
        self._failure = None
        return token

    def _fetch_ended(self, exc: BaseException, fetch: _TokenFetch, *, cancelled: bool = False) -> None:
        """The token request raised (or was abandoned); remember a real failure for the waiters."""
        self.token_requests += 1
        self._generation += 1
        cause = None if cancelled else fetch.failure_cause(exc)
        if cause is not None:
            self._remember(cause)

    def _remember(self, error: BaseException) -> None:
        # Callers that waited for this fetch share its failure either way. Only a definitive answer
        # is remembered for later callers: the endpoint refused the credentials, or could not be
        # reached at all. A connection that broke mid-answer after its retries is no reason to fail
        # the next calls without trying.
        definitive = isinstance(error, AuthenticationError | httpx.ConnectError | httpx.ConnectTimeout)
        ttl = self._failure_ttl if definitive else 0.0
        self._failure = _Failure(error, self._generation, self._clock() + ttl)

    def _may_replay(self, replays: int, used: _Token) -> bool:
        """After a 401: always one replay with a fresh token. Further ones only when the refused
        token had outlived its refresh time by then (it expired while the request waited out its
        retries), never for a token the server refused while it was fresh."""
        return replays == 0 or (replays < MAX_REPLAYS and self._clock() >= used.refresh_at)

    def _invalidate(self, used: _Token) -> None:
        if self._token is used:  # another caller may have refreshed already; keep theirs
            self._token = None

    @staticmethod
    def _authorize(request: httpx.Request, token: _Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"

    # ------------------------------------------------------------------ flows

    # A hand-written twin pair, not generated by scripts/unasync.py: httpx calls one flow per client
    # kind on the same Auth object, and the halves differ in how they wait for a fetch in flight (a
    # threading.Lock held across the yield against an asyncio.Lock created on the running loop).
    # Every decision they make is in the shared methods above.

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        for replays in range(1 + MAX_REPLAYS):  # the request, then replays after a 401 (_may_replay)
            token = self._fresh_token()
            if token is None:
                seen = self._generation
                with self._sync_lock:  # held across the yield: httpx drives this flow in one thread
                    token = self._fresh_token()
                    if token is None:
                        failure = self._shared_failure(seen)
                        if failure is not None:
                            failure.raise_for(request)
                        fetch = _TokenFetch(self._token_url)
                        try:
                            token_response = yield self._token_request(request, fetch, is_async=False)
                        except GeneratorExit as exc:
                            self._fetch_ended(exc, fetch)
                            raise
                        token_response.read()
                        token = self._store(token_response)
            self._authorize(request, token)
            response = yield request
            if response.status_code != 401 or not self._may_replay(replays, token):
                return
            self._invalidate(token)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        for replays in range(1 + MAX_REPLAYS):  # the request, then replays after a 401 (_may_replay)
            token = self._fresh_token()
            if token is None:
                seen = self._generation
                async with self._async_lock:
                    token = self._fresh_token()
                    if token is None:
                        failure = self._shared_failure(seen)
                        if failure is not None:
                            failure.raise_for(request)
                        fetch = _TokenFetch(self._token_url)
                        try:
                            token_response = yield self._token_request(request, fetch, is_async=True)
                        except GeneratorExit as exc:
                            task = asyncio.current_task()
                            self._fetch_ended(exc, fetch, cancelled=task is not None and task.cancelling() > 0)
                            raise
                        await token_response.aread()
                        token = self._store(token_response)
            self._authorize(request, token)
            response = yield request
            if response.status_code != 401 or not self._may_replay(replays, token):
                return
            self._invalidate(token)


def _refuse_redirect(response: httpx.Response, token_url: httpx.URL) -> None:
    """A token is used only when it came straight from the configured endpoint."""
    # ``history`` also holds this flow's earlier responses (httpx keeps one list per auth flow),
    # so only a redirect answered *by the token URL* counts.
    followed = any(earlier.is_redirect and earlier.request.url == token_url for earlier in response.history)
    if followed or response.is_redirect or response.url != token_url:
        location = response.headers.get("location", "")
        raise AuthenticationError(
            f"token endpoint answered HTTP {response.status_code} redirect"
            f"{' to ' + excerpt(location, 120) if location else ''}; redirects are never followed "
            "for the token request",
            status_code=response.status_code,
        )


def _lifetime(raw: object) -> float:
    """Seconds a token lives, from ``expires_in`` (RFC 6749 section 5.1: a number of seconds).

    Missing or unreadable: :data:`DEFAULT_LIFETIME`. Zero, negative or NaN: 0 (the token serves
    the call it was fetched for and is never cached). Huge or infinite: :data:`MAX_LIFETIME`.
    """
    if raw is None or isinstance(raw, bool):
        return DEFAULT_LIFETIME
    if isinstance(raw, int | float | str):
        try:
            value = float(raw)
        except OverflowError:  # an int with hundreds of digits
            value = math.inf if not isinstance(raw, int) or raw > 0 else -math.inf
        except ValueError:
            return DEFAULT_LIFETIME
    else:
        return DEFAULT_LIFETIME
    if math.isnan(value) or value <= 0:
        return 0.0
    return min(value, MAX_LIFETIME)


def _parse_token_response(response: httpx.Response, now: float, leeway: float) -> _Token:
    """Turn the token endpoint's answer into a cached token, or a clear AuthenticationError.

    Every quoted field is bounded and masked (the endpoint may reflect the request body).
    """
    content_type = excerpt(response.headers.get("content-type", "none"), 80)
    body = _json_or_none(response.content)
    if body is None:
        # Raised outside any ``except``: a JSONDecodeError as __context__ would carry the body in .doc.
        raise AuthenticationError(
            f"token endpoint {response.request.url} answered HTTP {response.status_code} with "
            f"{content_type}, not JSON: {excerpt(response.content)!r}",
            status_code=response.status_code,
        )
    if not isinstance(body, dict):
        raise AuthenticationError(
            f"token endpoint answered non-object JSON: {excerpt(response.content)!r}",
            status_code=response.status_code,
        )
    if response.status_code != 200 or "access_token" not in body:
        raw_error = body.get("error")
        error = excerpt(raw_error, 80) if isinstance(raw_error, str) and raw_error else None
        description = body.get("error_description") or body.get("detail") or body.get("title") or ""
        raise AuthenticationError(
            f"token request refused: HTTP {response.status_code} {error or ''} "
            f"{excerpt(description if isinstance(description, str) else _json_text(description))}".strip(),
            status_code=response.status_code,
            error=error,
        )
    token_type = body.get("token_type")
    if token_type is not None and (not isinstance(token_type, str) or token_type.lower() != "bearer"):
        # RFC 6749 section 7.1: the client must not use a token whose type it does not understand.
        raise AuthenticationError(
            f"token endpoint issued a {excerpt(str(token_type), 40)!r} token; only Bearer is supported",
            status_code=response.status_code,
        )
    access_token = body["access_token"]
    if not isinstance(access_token, str) or not access_token:
        raise AuthenticationError("token endpoint sent an empty or non-string access_token", status_code=200)
    if len(access_token) > _MAX_TOKEN_CHARS:
        # Refused before it is registered for masking: it is never used and never quoted, and a
        # hostile endpoint's megabyte "token" must not cost masking work for every later message.
        raise AuthenticationError(
            f"token endpoint sent an access_token of {len(access_token)} characters; a Bearer "
            f"credential here is at most {_MAX_TOKEN_CHARS}",
            status_code=200,
        )
    register_secret(access_token)  # before any check can quote it
    if not _B64TOKEN.fullmatch(access_token):
        raise AuthenticationError(
            "token endpoint sent an access_token that cannot be a Bearer credential (RFC 6750 b64token)",
            status_code=200,
        )
    lifetime = _lifetime(body.get("expires_in"))
    return _Token(value=Secret._access_token(access_token), refresh_at=now + lifetime - min(leeway, lifetime / 4))


def _json_or_none(content: bytes) -> object:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, default=str)
    except (ValueError, RecursionError):
        return type(value).__name__
