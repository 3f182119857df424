"""A cap on response body size, counted after decompression (so a gzip bomb is a typed error).

``body_limit_exceeded`` is the pure decision; the transport that applies it is
``_async/_body_limit_transport.py`` (and its generated sync twin), which streams the decoded body
and stops at the cap. The clients put it under the throttle and the retries (``max_response_bytes``).
"""

from __future__ import annotations

import httpx

from ._errors import WillowError, unframed_headers

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ResponseTooLargeError",
    "body_limit_exceeded",
    "declared_length",
    "decoded_response",
    "too_large",
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


def declared_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    if raw is None or response.headers.get("content-encoding"):
        return None  # a compressed length says nothing about the decoded size
    try:
        return int(raw)
    except ValueError:
        return None


def too_large(request: httpx.Request, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{request.method} {request.url.path}: response body too large (over {limit} bytes decoded)",
        request=request,
        limit=limit,
    )


def decoded_response(response: httpx.Response, request: httpx.Request, body: bytes) -> httpx.Response:
    """The response with its decoded body."""
    return httpx.Response(
        response.status_code,
        headers=unframed_headers(response),
        content=body,
        extensions=response.extensions,
        request=request,
    )
