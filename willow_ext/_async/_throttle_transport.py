"""The throttling transport: requests on throttled paths wait for a slot before they are sent.

It sits *under* the retry transport, so every attempt (first tries and retries alike) takes a
slot: ``httpx client (auth) → RetryTransport → ThrottleTransport → network``. The rule and the
backends live in ``willow_ext._throttle`` and ``willow_ext._throttle_backends``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx

from .._concurrency import async_sleep
from .._retry import extend_deadline
from .._throttle import ThrottlePolicy
from .._throttle_backends import ThrottleBackend
from .._throttle_transport import THROTTLE_WAIT_EXTENSION, ThrottleShell, ThrottleStats

__all__ = ["AsyncThrottleTransport"]


class AsyncThrottleTransport(ThrottleShell, httpx.AsyncBaseTransport):
    """Wraps a transport; requests on throttled paths wait for a slot, shared process-wide by every
    client with the same base URL and client id (and across processes with a shared backend).

    ``backend``: a :class:`ThrottleBackend`, a URL (``memory://``, ``sqlite:////path``,
    ``redis://host``) or None for the process-wide in-memory one.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        base_url: str,
        client_id: str,
        policy: ThrottlePolicy | None = None,
        backend: ThrottleBackend | str | None = None,
        stats: ThrottleStats | None = None,
        sleep: Callable[[float], Awaitable[None]] = async_sleep,
    ) -> None:
        super().__init__(base_url=base_url, client_id=client_id, policy=policy, backend=backend, stats=stats)
        self._transport = transport
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        group = self._group(request)
        if group is None:
            return await self._transport.handle_async_request(request)
        asked = time.monotonic()
        slot_id = await self.limiter.aacquire(group, self.policy, sleep=self._sleep, stats=self.stats)
        waited = time.monotonic() - asked
        extend_deadline(request, waited)  # queueing for our turn is not charged to the call's budget
        try:
            response = await self._transport.handle_async_request(request)
        finally:
            # Headers are back, so the server has counted the request: the slot's window starts now.
            await self.limiter.arelease(group, slot_id)
        response.extensions[THROTTLE_WAIT_EXTENSION] = waited
        if response.status_code == 429:
            self._rate_limited(response, group, await self.limiter.aexhaust(group, self.policy))
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()
