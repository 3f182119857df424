"""``AsyncWillowClient``: a configured httpx client installed on the generated ``Client``, with a
typed resource per API group and a call wrapper that turns every outcome into a typed result or
a typed error. Transport stack, from the caller down: auth (``httpx.Auth``) → retries → network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

import httpx
from willow_api_client import Client as GeneratedClient
from willow_api_client.types import Response as GeneratedResponse

from .._auth import Secret
from .._base import DEFAULT_ACCEPT, DEFAULT_TIMEOUT, ClientBase, async_record_response, merged_hooks
from .._retry import RetryPolicy
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

__all__ = ["AsyncWillowClient"]

P = ParamSpec("P")
T = TypeVar("T")


class AsyncWillowClient(ClientBase):
    """Willow API client.

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
                transport=AsyncRetryTransport(inner, retry, api_root=self.api_root, stats=self.retry_stats),
                timeout=timeout,
                headers={"Accept": DEFAULT_ACCEPT, **(headers or {})},
            )
        # A caller's own client keeps its transport and settings; we add auth and response capture.
        http_client.base_url = httpx.URL(self.base_url)
        http_client.event_hooks = merged_hooks(http_client.event_hooks, event_hooks or {}, async_record_response)
        http_client.auth = self.auth
        self.http_client = http_client
        #: The generated package's client, wired to the configured httpx client.
        self.generated = GeneratedClient(base_url=self.base_url).set_async_httpx_client(http_client)
        self._caller = AsyncCaller(self.generated)
        self.models = AsyncModels(self._caller)
        self.twins = AsyncTwins(self._caller)
        self.relationships = AsyncRelationships(self._caller)
        self.time_series = AsyncTimeSeries(self._caller)
        self.insights = AsyncInsights(self._caller)
        self.events = AsyncEvents(self._caller)
        self.tickets = AsyncTickets(self._caller)
        self.ticket_metadata = AsyncTicketMetadata(self._caller)

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
