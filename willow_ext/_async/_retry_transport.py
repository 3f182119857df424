"""Retries as a wrapping httpx transport; every decision is made by ``willow_ext._retry``.

The transport sits *below* httpx's auth and redirect handling (httpx docs, "Transports":
https://www.python-httpx.org/advanced/transports/), so the token request is retried too.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx

from .._concurrency import async_sleep
from .._retry import RetryLoop, RetryPolicy, RetryStats

__all__ = ["AsyncRetryTransport"]


class AsyncRetryTransport(RetryLoop, httpx.AsyncBaseTransport):
    """Wraps another transport and retries by :class:`RetryPolicy`.

    The body of each response is read inside the loop, so a connection reset while it streams
    is retried like any other transport error (for operations that are safe to replay). Inside a
    client call, the total-time budget runs from the call's first request (the token fetch
    included), so retries and the 401 replay share one deadline and no sleep overshoots it.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None = None,
        *,
        api_root: str = "",
        sleep: Callable[[float], Awaitable[None]] = async_sleep,
        stats: RetryStats | None = None,
    ) -> None:
        super().__init__(policy, api_root, stats)
        self._transport = transport
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        replay_safe, started = self.begin(request)
        attempt = 0
        while True:
            attempt += 1
            attempt_started = time.monotonic()
            self.cap_timeout(request, started)
            response: httpx.Response | None = None
            error: httpx.TransportError | None = None
            try:
                response = await self._transport.handle_async_request(request)
                await response.aread()
            except httpx.TransportError as exc:
                error = exc
                if response is not None:  # the body broke off: drop the half-read response
                    await response.aclose()
                    response = None
            else:
                started = self.discount_queueing(response, started)
            decision = self.judge(
                request,
                attempt=attempt,
                started=started,
                attempt_started=attempt_started,
                replay_safe=replay_safe,
                response=response,
                error=error,
            )
            if not decision.retry:
                if response is None:
                    raise error or httpx.TransportError("no response", request=request)
                return response
            if response is not None:
                await response.aclose()  # free the connection before sleeping
            await self._sleep(decision.delay)

    async def aclose(self) -> None:
        await self._transport.aclose()
