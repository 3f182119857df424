"""``AsyncWillowClient``: a configured httpx client installed on the generated ``Client``, with a
typed resource per API group and a call wrapper that turns every outcome into a typed result or
a typed error. Transport stack, from the caller down: auth (``httpx.Auth``) → retries → network.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

import httpx
from willow_api_client import Client as GeneratedClient
from willow_api_client.types import Response as GeneratedResponse

from .._auth import Secret
from .._base import (
    DEFAULT_ACCEPT,
    DEFAULT_TIMEOUT,
    ClientBase,
    async_record_response,
    async_retry_policy_hook,
    check_settings,
    merged_hooks,
    policy_with_max_retries,
    proxy_for,
)
from .._errors import InvalidArgumentTypeError
from .._limits import DEFAULT_MAX_RESPONSE_BYTES
from .._requests import check_headers, check_timeout
from .._retry import RetryPolicy
from .._throttle import ThrottlePolicy
from .._throttle_backends import ThrottleBackend
from .._throttle_transport import ThrottleStats
from ._body_limit_transport import AsyncBodyLimitTransport
from ._caller import AsyncCaller
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
from ._retry_transport import AsyncRetryTransport
from ._throttle_transport import AsyncThrottleTransport

__all__ = ["AsyncWillowClient"]

P = ParamSpec("P")
T = TypeVar("T")


class AsyncWillowClient(ClientBase):
    """Willow API client.

    Requests on ``/twins/*`` and ``/time-series/*`` are throttled to Willow's documented 20 per
    10 s per client by default (``throttle=ThrottlePolicy(...)`` to change it,
    ``ThrottlePolicy.disabled()`` to turn it off; ``throttle_backend="sqlite:////path"`` or
    ``"redis://host"`` to share it between processes or machines). Response bodies are capped at
    ``max_response_bytes`` after decompression (``None``: no cap).

    The resource attributes (``twins``, ``time_series``, ``insights``, ...) add typed methods and
    pagination. Every generated operation also works through :attr:`generated`, or raising typed
    errors through :meth:`call`.
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
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        headers: Mapping[str, str] | None = None,
        token_leeway: float = 60.0,
        max_connections: int = 100,
        throttle: ThrottlePolicy | None = None,
        throttle_backend: ThrottleBackend | str | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        headers = check_settings(
            timeout=timeout,
            retry=retry,
            headers=headers,
            max_connections=max_connections,
            throttle=throttle,
            max_response_bytes=max_response_bytes,
        )
        super().__init__(
            instance=instance,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            token_leeway=token_leeway,
        )
        self._owns_http_client = http_client is None
        #: What the throttle did for this client (requests throttled, waits, 429s seen).
        self.throttle_stats = ThrottleStats()
        self._throttle = (throttle or ThrottlePolicy(), throttle_backend)
        self._max_response_bytes = max_response_bytes
        if http_client is None:
            network = transport or httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=max_connections), proxy=proxy_for(self.base_url)
            )
            self._transport = self._stacked(network, retry)
            http_client = httpx.AsyncClient(
                base_url=self.base_url,
                transport=self._transport,
                timeout=timeout,
                headers={"Accept": DEFAULT_ACCEPT, **headers},
            )
        else:
            self._transport = self._adopt(http_client, retry)
        # Willow never redirects; following one would carry the Authorization header or, for the
        # token request, the client secret to wherever a hostile answer points.
        http_client.follow_redirects = False
        http_client.base_url = httpx.URL(self.base_url)
        http_client.event_hooks = merged_hooks(http_client.event_hooks, event_hooks or {}, async_record_response)
        http_client.auth = self.auth
        self._wire(http_client)

    def _stacked(self, network: httpx.AsyncBaseTransport, retry: RetryPolicy | None) -> AsyncRetryTransport:
        """The transport stack under auth: retries, then the throttle (so every attempt takes a
        slot of Willow's 20 requests / 10 s), then the body-size cap, then the network."""
        policy, backend = self._throttle
        throttled = AsyncThrottleTransport(
            AsyncBodyLimitTransport(network, self._max_response_bytes),
            base_url=self.base_url,
            client_id=self.credentials.client_id,
            policy=policy,
            backend=backend,
            stats=self.throttle_stats,
        )
        return AsyncRetryTransport(throttled, retry, api_root=self.api_root, stats=self.retry_stats)

    def _adopt(self, http_client: httpx.AsyncClient, retry: RetryPolicy | None) -> AsyncRetryTransport:
        """A caller's own client keeps its settings (proxies, certificates, limits) and gains our
        retries and throttle, so it is never silently weaker. httpx has no public way to wrap a client's
        transports after construction, hence the private attributes."""
        current = http_client._transport
        stacked = current if isinstance(current, AsyncRetryTransport) else self._stacked(current, retry)
        http_client._transport = stacked
        http_client._mounts = {
            pattern: mounted
            if mounted is None or isinstance(mounted, AsyncRetryTransport)
            else self._stacked(mounted, retry)
            for pattern, mounted in http_client._mounts.items()
        }
        return stacked

    def _wire(self, http_client: httpx.AsyncClient) -> None:
        self.http_client = http_client
        #: The generated package's client, wired to the configured httpx client.
        self.generated = GeneratedClient(base_url=self.base_url).set_async_httpx_client(http_client)
        self._caller = AsyncCaller(self.generated, self.api_root)
        self.models = AsyncModels(self._caller)
        self.twins = AsyncTwins(self._caller)
        self.relationships = AsyncRelationships(self._caller)
        self.time_series = AsyncTimeSeries(self._caller)
        self.insights = AsyncInsights(self._caller)
        self.events = AsyncEvents(self._caller)
        self.tickets = AsyncTickets(self._caller)
        self.ticket_metadata = AsyncTicketMetadata(self._caller)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A cheap view of this client with other per-request settings, e.g. for one call:
        ``client.with_options(timeout=5, max_retries=0).twins.get("AHU-1")``.

        The view shares the connection pool, the token and the retry counters; closing it
        closes nothing. ``retry`` replaces the policy, ``max_retries`` then caps its retries.
        """
        check_timeout(timeout)
        extra_headers = check_headers(headers)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidArgumentTypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        policy = policy_with_max_retries(retry or self._transport.policy, max_retries)
        hooks = self.http_client.event_hooks
        view = copy.copy(self)
        view._owns_http_client = False
        view._wire(
            httpx.AsyncClient(
                base_url=self.base_url,
                transport=self._transport,
                timeout=self.http_client.timeout if timeout is None else timeout,
                headers={**self.http_client.headers, **extra_headers},
                auth=self.auth,
                follow_redirects=False,
                event_hooks={
                    "request": [async_retry_policy_hook(policy), *hooks["request"]],
                    "response": list(hooks["response"]),
                },
            )
        )
        return view

    @property
    def last_response(self) -> httpx.Response | None:
        """The raw response of this thread's (or task's) latest call, after retries and auth replays."""
        return self._caller.last_response

    async def call(
        self, operation: Callable[P, Awaitable[GeneratedResponse[T]]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a generated ``asyncio_detailed`` operation; return its parsed body or raise a typed error.

        Pass ``client=<this client>.generated`` like any generated call: the arguments are checked
        against the operation's signature by the type checker.
        """
        result: T = await self._caller(None, operation, *args, **kwargs)
        return result

    async def aclose(self) -> None:
        if self._owns_http_client:
            await self.http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
