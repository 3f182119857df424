"""A cap on response body size, counted after decompression (so a gzip bomb is a typed error).

``body_limit_exceeded`` is the pure decision; ``BodyLimitTransport`` / ``AsyncBodyLimitTransport``
are thin wrapping transports (httpx docs, "Transports") that stream the decoded body and stop at
the cap. Wiring (for the client): wrap the innermost transport, *below* the retry transport, and
pass the caller's ``max_response_bytes``.
"""

from __future__ import annotations

import httpx

from ._errors import WillowError

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AsyncBodyLimitTransport",
    "BodyLimitTransport",
    "ResponseTooLargeError",
    "body_limit_exceeded",
]

#: Far above any Willow page (1000 twins with relationships is a few MB), far below harm.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class ResponseTooLargeError(WillowError):
    """A response body (after decompression) was larger than the configured cap."""

    def __init__(self, message: str, *, request: httpx.Request, limit: int) -> None:
        super().__init__(message)
        self.request = request
        self.limit = limit


def body_limit_exceeded(received: int, limit: int | None) -> bool:
    """Whether ``received`` decoded bytes break the cap (``None``: no cap)."""
    return limit is not None and received > limit


def _declared_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    if raw is None or response.headers.get("content-encoding"):
        return None  # a compressed length says nothing about the decoded size
    try:
        return int(raw)
    except ValueError:
        return None


def _too_large(request: httpx.Request, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{request.method} {request.url.path}: response body too large (over {limit} bytes decoded)",
        request=request,
        limit=limit,
    )


def _decoded_response(response: httpx.Response, request: httpx.Request, body: bytes) -> httpx.Response:
    headers = [
        (k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=body, extensions=response.extensions, request=request
    )


class BodyLimitTransport(httpx.BaseTransport):
    """Reads each response body (decoded) up to ``limit`` bytes; more raises :class:`ResponseTooLargeError`."""

    def __init__(self, transport: httpx.BaseTransport, limit: int | None = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self._transport = transport
        self._limit = limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._transport.handle_request(request)
        limit = self._limit
        if limit is None:
            return response
        try:
            declared = _declared_length(response)
            if declared is not None and body_limit_exceeded(declared, limit):
                raise _too_large(request, limit)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if body_limit_exceeded(len(body), limit):
                    raise _too_large(request, limit)
        finally:
            response.close()
        return _decoded_response(response, request, bytes(body))

    def close(self) -> None:
        self._transport.close()


class AsyncBodyLimitTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`BodyLimitTransport`."""

    def __init__(self, transport: httpx.AsyncBaseTransport, limit: int | None = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self._transport = transport
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        limit = self._limit
        if limit is None:
            return response
        try:
            declared = _declared_length(response)
            if declared is not None and body_limit_exceeded(declared, limit):
                raise _too_large(request, limit)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if body_limit_exceeded(len(body), limit):
                    raise _too_large(request, limit)
        finally:
            await response.aclose()
        return _decoded_response(response, request, bytes(body))

    async def aclose(self) -> None:
        await self._transport.aclose()
