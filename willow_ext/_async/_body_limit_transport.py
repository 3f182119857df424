"""A cap on response body size, counted after decompression (so a gzip bomb is a typed error,
not gigabytes of memory). It wraps the network transport, under the throttle and the retries."""

from __future__ import annotations

import httpx

from .._limits import DEFAULT_MAX_RESPONSE_BYTES, body_limit_exceeded, declared_length, decoded_response, too_large

__all__ = ["AsyncBodyLimitTransport"]


class AsyncBodyLimitTransport(httpx.AsyncBaseTransport):
    """Reads each response body (decoded) up to ``limit`` bytes; more raises :class:`ResponseTooLargeError`."""

    def __init__(self, transport: httpx.AsyncBaseTransport, limit: int | None = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self._transport = transport
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        limit = self._limit
        if limit is None:
            return response
        try:
            declared = declared_length(response)
            if declared is not None and body_limit_exceeded(declared, limit):
                raise too_large(request, limit)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if body_limit_exceeded(len(body), limit):
                    raise too_large(request, limit)
        finally:
            await response.aclose()
        return decoded_response(response, request, bytes(body))

    async def aclose(self) -> None:
        await self._transport.aclose()
