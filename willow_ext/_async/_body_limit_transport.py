"""Nearest the network: a cap on response body size, counted after decompression (so a gzip bomb
is a typed error, not gigabytes of memory), and the call's deadline for the whole attempt (so a
server trickling a byte at a time cannot outlast the total-time budget). It wraps the network
transport, under the throttle and the retries."""

from __future__ import annotations

import httpx

from .._concurrency import async_deadline
from .._limits import DEFAULT_MAX_RESPONSE_BYTES, body_limit_exceeded, declared_length, decoded_response, too_large
from .._retry import deadline_exceeded, seconds_left

__all__ = ["AsyncBodyLimitTransport"]


class AsyncBodyLimitTransport(httpx.AsyncBaseTransport):
    """Reads each response body (decoded) up to ``limit`` bytes; more raises :class:`ResponseTooLargeError`.

    With a deadline on the request (set by the retry transport), the attempt ends in
    ``httpx.ReadTimeout`` once it passes, however steadily the bytes keep coming.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, limit: int | None = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self._transport = transport
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        left = seconds_left(request)
        if self._limit is None and left is None:
            return await self._transport.handle_async_request(request)
        try:
            async with async_deadline(left):
                return await self._read(request)
        except TimeoutError:  # the async scope ran out (the sync twin checks between chunks)
            raise deadline_exceeded(request) from None

    async def _read(self, request: httpx.Request) -> httpx.Response:
        limit = self._limit
        response = await self._transport.handle_async_request(request)
        try:
            declared = declared_length(response)
            if limit is not None and declared is not None and body_limit_exceeded(declared, limit):
                raise too_large(request, limit)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if limit is not None and body_limit_exceeded(len(body), limit):
                    raise too_large(request, limit)
                left = seconds_left(request)
                if left is not None and left <= 0:
                    raise deadline_exceeded(request)
        finally:
            await response.aclose()
        return decoded_response(response, request, bytes(body))

    async def aclose(self) -> None:
        await self._transport.aclose()
