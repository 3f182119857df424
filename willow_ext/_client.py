"""``WillowClient`` / ``AsyncWillowClient``: configured httpx clients installed on the generated
``Client``, plus a call wrapper that turns every outcome into a typed result or a typed error.

The generated package's parsers expect the documented bodies and crash on anything else (an HTML
403, an empty 404). So each call records the raw final response through an httpx response hook,
and the outcome is decided from that raw response first: non-2xx -> :func:`make_status_error`;
2xx that the generated model cannot read -> :class:`ResponseValidationError`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx
from willow_api_client import Client as GeneratedClient
from willow_api_client.types import Response as GeneratedResponse

from ._auth import ClientCredentials, ClientCredentialsAuth, Secret
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidRequestError,
    ResponseValidationError,
    WillowError,
    make_status_error,
)
from ._requests import base_url_for, checked_base_url
from ._retry import AsyncRetryTransport, RetryPolicy, RetryStats, RetryTransport

__all__ = ["DEFAULT_TIMEOUT", "AsyncWillowClient", "WillowClient", "base_url_for"]

T = TypeVar("T")
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: JSON preferred (ASP.NET lists text/plain first for some operations), but binary operations such
#: as ticket attachments produce application/octet-stream, so anything else is acceptable too.
DEFAULT_ACCEPT = "application/json, */*;q=0.1"
_PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)

# The responses seen during the current call (one list per call; contextvars keep threads and
# asyncio tasks apart). The last one is the final answer after auth replays.
_responses: ContextVar[list[httpx.Response] | None] = ContextVar("willow_responses", default=None)


def _record(response: httpx.Response) -> None:
    seen = _responses.get()
    if seen is not None:
        seen.append(response)


async def _arecord(response: httpx.Response) -> None:
    _record(response)


def _outcome(
    seen: list[httpx.Response],
    result: GeneratedResponse[Any] | None,
    parse_error: Exception | None,
    kind: type[Any] | tuple[type[Any], ...] | None = None,
) -> Any:
    """Decide a call's result from the raw final response (pure: no I/O)."""
    if not seen:
        if parse_error is not None:
            raise parse_error
        raise WillowError("no response was received")
    raw = seen[-1]
    if not raw.is_success:
        raise make_status_error(raw) from parse_error
    if parse_error is not None:
        raise ResponseValidationError(
            f"{raw.request.method} {raw.request.url.path}: response does not match the spec "
            f"({type(parse_error).__name__}: {parse_error})",
            response=raw,
        ) from parse_error
    parsed = result.parsed if result is not None else None
    if kind is not None and not isinstance(parsed, kind):
        raise ResponseValidationError(
            f"{raw.request.method} {raw.request.url.path}: HTTP {raw.status_code} body is not the documented "
            f"{getattr(kind, '__name__', kind)} (got {type(parsed).__name__})",
            response=raw,
        )
    return parsed


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    request = exc.request
    where = f"{request.method} {request.url.path}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{where} timed out ({type(exc).__name__})", request=request)
    return APIConnectionError(f"{where} failed: {type(exc).__name__}: {exc}", request=request)


class _Settings:
    """Everything both clients share: credentials, URLs, headers and the generated client."""

    def __init__(
        self,
        *,
        instance: str | None,
        base_url: str | None,
        client_id: str,
        client_secret: str | Secret,
        token_leeway: float,
    ) -> None:
        if base_url is None and instance is None:
            raise InvalidRequestError("give either instance or base_url")
        self.base_url = checked_base_url(base_url if base_url is not None else base_url_for(instance or ""))
        self.api_root = urlsplit(self.base_url).path
        secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        self.credentials = ClientCredentials(client_id, secret, f"{self.base_url}/oauth2/token")
        self.auth = ClientCredentialsAuth(self.credentials, leeway=token_leeway)
        self.retry_stats = RetryStats()


def _env(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments from WILLOW_* environment variables (explicit overrides win)."""
    values: dict[str, Any] = {}
    if os.environ.get("WILLOW_BASE_URL"):
        values["base_url"] = os.environ["WILLOW_BASE_URL"]
    elif os.environ.get("WILLOW_INSTANCE"):
        values["instance"] = os.environ["WILLOW_INSTANCE"]
    for key, env in (("client_id", "WILLOW_CLIENT_ID"), ("client_secret", "WILLOW_CLIENT_SECRET")):
        if os.environ.get(env):
            values[key] = os.environ[env]
    values.update(overrides)
    missing = [name for name in ("client_id", "client_secret") if not values.get(name)]
    if "base_url" not in values and "instance" not in values:
        missing.insert(0, "WILLOW_INSTANCE or WILLOW_BASE_URL")
    if missing:
        raise InvalidRequestError(f"missing configuration: {', '.join(missing)} (set the WILLOW_* variables)")
    return values


def _merged_hooks(
    existing: Mapping[str, list[Callable[..., Any]]],
    user: Mapping[str, list[Callable[..., Any]]],
    record: Callable[..., Any],
) -> dict[str, list[Callable[..., Any]]]:
    """Existing hooks, then the caller's, then the response capture that decides each outcome."""
    return {
        "request": [*existing.get("request", []), *user.get("request", [])],
        "response": [*existing.get("response", []), *user.get("response", []), record],
    }


class _ClientBase:
    """What both clients share: settings, the last-response record, env construction, repr."""

    def __init__(
        self,
        *,
        instance: str | None,
        base_url: str | None,
        client_id: str,
        client_secret: str | Secret,
        token_leeway: float,
    ) -> None:
        self._settings = _Settings(
            instance=instance,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            token_leeway=token_leeway,
        )
        self.base_url = self._settings.base_url
        self.auth = self._settings.auth
        self.retry_stats = self._settings.retry_stats
        # Per client and per thread/task: the final raw response of the latest call.
        self._last_response: ContextVar[httpx.Response | None] = ContextVar("willow_last_response", default=None)

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Build from WILLOW_INSTANCE / WILLOW_BASE_URL, WILLOW_CLIENT_ID, WILLOW_CLIENT_SECRET."""
        return cls(**_env(overrides))

    @property
    def last_response(self) -> httpx.Response | None:
        """The raw response of this thread's (or task's) latest call, after retries and auth replays."""
        return self._last_response.get()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, client_id={self._settings.credentials.client_id!r})"


class WillowClient(_ClientBase):
    """Synchronous Willow API client.

    Every generated operation works through :attr:`generated` (``op.sync(client=wc.generated)``),
    or raising on errors through :meth:`call`. The resource attributes (``twins``,
    ``time_series``, ...) add typed methods and pagination.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | Secret,
        instance: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        headers: Mapping[str, str] | None = None,
        token_leeway: float = 60.0,
    ) -> None:
        super().__init__(
            instance=instance,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            token_leeway=token_leeway,
        )
        self._owns_http_client = http_client is None
        if http_client is None:
            http_client = httpx.Client(
                base_url=self.base_url,
                transport=RetryTransport(
                    transport or httpx.HTTPTransport(), retry, api_root=self._settings.api_root, stats=self.retry_stats
                ),
                timeout=timeout,
                headers={"Accept": DEFAULT_ACCEPT, **(headers or {})},
            )
        # A caller's own client keeps its transport and settings; we add auth and response capture.
        http_client.base_url = httpx.URL(self.base_url)
        http_client.event_hooks = _merged_hooks(http_client.event_hooks, event_hooks or {}, _record)
        http_client.auth = self.auth
        self.http_client = http_client
        #: The generated package's client, wired to the configured httpx client.
        self.generated = GeneratedClient(base_url=self.base_url).set_httpx_client(http_client)
        from ._resources import Events, Insights, Models, Relationships, TicketMetadata, Tickets, TimeSeries, Twins

        self.models = Models(self)
        self.twins = Twins(self)
        self.relationships = Relationships(self)
        self.time_series = TimeSeries(self)
        self.insights = Insights(self)
        self.events = Events(self)
        self.tickets = Tickets(self)
        self.ticket_metadata = TicketMetadata(self)

    def call(self, operation: Callable[..., GeneratedResponse[T]], /, *args: Any, **kwargs: Any) -> T:
        """Run a generated ``sync_detailed`` function; return its parsed body or raise a typed error."""
        return self._call(None, operation, *args, **kwargs)  # type: ignore[no-any-return]

    def _call(
        self,
        kind: type[Any] | tuple[type[Any], ...] | None,
        operation: Callable[..., Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        seen: list[httpx.Response] = []
        reset = _responses.set(seen)
        result: GeneratedResponse[Any] | None = None
        parse_error: Exception | None = None
        try:
            result = operation(*args, client=self.generated, **kwargs)
        except httpx.TransportError as exc:
            raise _connection_error(exc) from exc
        except _PARSE_ERRORS as exc:
            parse_error = exc
        finally:
            _responses.reset(reset)
        if seen:
            self._last_response.set(seen[-1])
        return _outcome(seen, result, parse_error, kind)

    def close(self) -> None:
        if self._owns_http_client:
            self.http_client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncWillowClient(_ClientBase):
    """Asynchronous Willow API client; the same surface as :class:`WillowClient`, awaited."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | Secret,
        instance: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        event_hooks: Mapping[str, list[Callable[..., Awaitable[Any]]]] | None = None,
        headers: Mapping[str, str] | None = None,
        token_leeway: float = 60.0,
        max_connections: int = 100,
    ) -> None:
        super().__init__(
            instance=instance,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            token_leeway=token_leeway,
        )
        self._owns_http_client = http_client is None
        if http_client is None:
            inner = transport or httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=max_connections))
            http_client = httpx.AsyncClient(
                base_url=self.base_url,
                transport=AsyncRetryTransport(inner, retry, api_root=self._settings.api_root, stats=self.retry_stats),
                timeout=timeout,
                headers={"Accept": DEFAULT_ACCEPT, **(headers or {})},
            )
        http_client.base_url = httpx.URL(self.base_url)
        http_client.event_hooks = _merged_hooks(http_client.event_hooks, event_hooks or {}, _arecord)
        http_client.auth = self.auth
        self.http_client = http_client
        self.generated = GeneratedClient(base_url=self.base_url).set_async_httpx_client(http_client)
        from ._resources import (
            AsyncEvents,
            AsyncInsights,
            AsyncModels,
            AsyncRelationships,
            AsyncTicketMetadata,
            AsyncTickets,
            AsyncTimeSeries,
            AsyncTwins,
        )

        self.models = AsyncModels(self)
        self.twins = AsyncTwins(self)
        self.relationships = AsyncRelationships(self)
        self.time_series = AsyncTimeSeries(self)
        self.insights = AsyncInsights(self)
        self.events = AsyncEvents(self)
        self.tickets = AsyncTickets(self)
        self.ticket_metadata = AsyncTicketMetadata(self)

    async def call(self, operation: Callable[..., Awaitable[GeneratedResponse[T]]], /, *args: Any, **kwargs: Any) -> T:
        """Await a generated ``asyncio_detailed`` function; return its parsed body or raise a typed error."""
        return await self._call(None, operation, *args, **kwargs)  # type: ignore[no-any-return]

    async def _call(
        self,
        kind: type[Any] | tuple[type[Any], ...] | None,
        operation: Callable[..., Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        seen: list[httpx.Response] = []
        reset = _responses.set(seen)
        result: GeneratedResponse[Any] | None = None
        parse_error: Exception | None = None
        try:
            result = await operation(*args, client=self.generated, **kwargs)
        except httpx.TransportError as exc:
            raise _connection_error(exc) from exc
        except _PARSE_ERRORS as exc:
            parse_error = exc
        finally:
            _responses.reset(reset)
        if seen:
            self._last_response.set(seen[-1])
        return _outcome(seen, result, parse_error, kind)

    async def aclose(self) -> None:
        if self._owns_http_client:
            await self.http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
