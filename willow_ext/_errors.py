"""Typed errors: one hierarchy, one factory (``make_status_error``).

WillowError
├── InvalidRequestError          bad input caught before anything is sent (also a ValueError)
│   └── InvalidArgumentTypeError a wrong argument type (also a TypeError)
├── AuthenticationError          the token endpoint refused or answered nonsense
├── APIConnectionError           the request did not complete (DNS, refused, reset)
│   └── APITimeoutError
├── ResponseValidationError      a 2xx body that does not match the spec
└── APIStatusError               any non-2xx answer, carrying ProblemDetails fields
    ├── BadRequestError (400), AuthenticationStatusError (401), PermissionDeniedError (403),
    ├── NotFoundError (404), ConflictError (409), UnprocessableEntityError (422),
    └── RateLimitError (429), InternalServerError (5xx)
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from ._redact import MASK, redact, safe_text

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AuthenticationStatusError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "InvalidArgumentTypeError",
    "InvalidPointError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "WillowError",
    "excerpt",
    "make_status_error",
    "safe_request",
    "transport_stand_in",
    "unframed_headers",
]

EXCERPT_LIMIT = 300
#: Every message is bounded: a 2 MB ``detail`` is quoted, not copied.
MESSAGE_LIMIT = 1000
#: How deep a decoded error body is kept; deeper levels are replaced by a note.
_BODY_DEPTH = 32
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-ms-request-id", "traceparent")
#: Request headers that carry credentials: masked on any request an error exposes, whatever they hold.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
#: Credential fields of a form body (RFC 6749 section 4.4.2: the token request's client_secret),
#: masked even when the value is too short to be registered.
_FORM_CREDENTIAL = re.compile(rb"(?i)((?:^|&)(?:client_secret|client_assertion|password|refresh_token)=)[^&]*")


def excerpt(data: bytes | str, limit: int = EXCERPT_LIMIT) -> str:
    """A bounded, single-line, printable, redacted quote of a body for error messages."""
    return safe_text(data, limit)


class WillowError(Exception):
    """Base class of every error this package raises.

    The message is made safe here, once for every subclass: registered secrets masked in every
    encoding, control characters neutralised, length bounded.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(safe_text(message, MESSAGE_LIMIT))


class InvalidRequestError(WillowError, ValueError):
    """The call was refused locally, before any request was sent (e.g. an empty or '..' id)."""


class InvalidArgumentTypeError(InvalidRequestError, TypeError):
    """An argument of the wrong type (e.g. ``max_items="5"``), refused before anything is sent."""


class InvalidPointError(InvalidRequestError):
    """One telemetry point was refused locally; ``reason`` says why. Bulk ingest records it in the
    report and carries on with the other points (it never aborts a batch)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthenticationError(WillowError):
    """No usable access token: the token endpoint refused the credentials or sent an unusable body."""

    def __init__(self, message: str, *, status_code: int | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        #: The OAuth2 ``error`` code when the endpoint sent one (e.g. ``invalid_client``).
        self.error = error


class APIConnectionError(WillowError):
    """The request could not be completed (connection refused, reset, DNS failure)."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.request = safe_request(request)


class APITimeoutError(APIConnectionError):
    """The request timed out (after any retries)."""


class ResponseValidationError(WillowError):
    """A success response whose body does not match the spec (malformed JSON or wrong shape)."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(f"{message}; body: {excerpt(response.content)!r}")
        self.response = _scrubbed(response)
        self.status_code = response.status_code


class APIStatusError(WillowError):
    """The server answered with a non-2xx status. ProblemDetails fields are parsed when present."""

    status_code: int

    def __init__(self, message: str, *, response: httpx.Response, body: object) -> None:
        super().__init__(message)
        self.response = _scrubbed(response)
        self.request = self.response.request
        self.status_code = response.status_code
        #: The decoded JSON body, or the text when it was not JSON (registered secrets masked).
        body = _redacted(body)
        self.body = body
        problem = body if isinstance(body, dict) else {}
        self.type: str | None = _str_or_none(problem.get("type"))
        self.title: str | None = _str_or_none(problem.get("title"))
        self.detail: str | None = _str_or_none(problem.get("detail"))
        self.instance: str | None = _str_or_none(problem.get("instance"))
        errors = problem.get("errors")
        #: ASP.NET validation errors: field name -> messages.
        self.errors: dict[str, list[str]] = _validation_errors(errors)
        self.request_id: str | None = next(
            (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
        )


class BadRequestError(APIStatusError):
    status_code: int = 400


class AuthenticationStatusError(APIStatusError):
    """401 from an API call even after one token refresh."""

    status_code: int = 401


class PermissionDeniedError(APIStatusError):
    status_code: int = 403


class NotFoundError(APIStatusError):
    status_code: int = 404


class ConflictError(APIStatusError):
    status_code: int = 409


class UnprocessableEntityError(APIStatusError):
    status_code: int = 422


class RateLimitError(APIStatusError):
    status_code: int = 429


class InternalServerError(APIStatusError):
    """Any 5xx."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationStatusError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _scrubbed(response: httpx.Response) -> httpx.Response:
    """A copy of the response fit to travel on an error, its history included: registered secrets
    masked in its body (dropped past ``KEPT_BODY_BYTES``) and header values, the server-chosen reason
    phrase masked and bounded (``repr(response)`` shows it), and its request replaced by a
    :func:`safe_request` copy (the history holds the token request, its form the client secret)."""
    safe = _safe_response(response)
    safe.history = [_safe_response(earlier) for earlier in response.history]
    return safe


#: The largest response body an error keeps (masked): enough for any error document. A larger one
#: (a huge 2xx page that failed validation) is dropped, not cut: a cut could split a secret and keep
#: its first half unmasked. ``client.last_response`` still has the raw answer.
KEPT_BODY_BYTES = 1 << 20


def _safe_response(response: httpx.Response) -> httpx.Response:
    try:
        content = response.content
    except httpx.ResponseNotRead:  # a streamed body nobody read: nothing to keep
        content = b""
    headers = [(name, _masked_bytes(value)) for name, value in unframed_headers(response)]
    extensions = {key: value for key, value in response.extensions.items() if key == "http_version"}
    reason = response.extensions.get("reason_phrase")
    if isinstance(reason, bytes):
        extensions["reason_phrase"] = safe_text(reason.decode("ascii", errors="replace"), 100).encode(
            "ascii", errors="replace"
        )
    try:
        request: httpx.Request | None = safe_request(response.request)
    except RuntimeError:  # a response built without a request
        request = None
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=_masked_bytes(content) if len(content) <= KEPT_BODY_BYTES else b"",
        extensions=extensions,
        request=request,
    )


#: Headers that describe the body as it came off the wire; stale on a response rebuilt around
#: its decoded (or normalised, or masked) body.
_BODY_FRAMING = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


def unframed_headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The headers to rebuild ``response`` with around a new body: raw bytes (httpx re-encodes str
    values as ASCII, so a server's ``X-Note: café`` in UTF-8 or latin-1 would raise), framing dropped."""
    return [(name, value) for name, value in response.headers.raw if name.lower() not in _BODY_FRAMING]


def _masked_bytes(data: bytes) -> bytes:
    """``data`` with registered secrets masked; bytes that are not UTF-8 pass through unchanged."""
    text = data.decode("utf-8", errors="surrogateescape")
    masked = redact(text)
    return data if masked == text else masked.encode("utf-8", errors="surrogateescape")


def safe_request(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` fit to travel on an error: credential headers masked, registered
    secrets masked in its URL, headers and body, credential form fields masked, no extensions
    (the token request's ``trace`` hook holds the transport error)."""
    url = str(request.url)
    headers = [
        (name, MASK if name.lower() in _CREDENTIAL_HEADERS else redact(value))
        for name, value in request.headers.multi_items()
    ]
    try:
        content = request.content
    except httpx.RequestNotRead:  # a streamed body that was never read: nothing to show
        content = b""
    safe_content = _masked_bytes(_FORM_CREDENTIAL.sub(rb"\1" + MASK.encode(), content))
    if safe_content != content:
        headers = [(n, str(len(safe_content)) if n.lower() == "content-length" else v) for n, v in headers]
    return httpx.Request(request.method, redact(url), headers=headers, content=safe_content)


def transport_stand_in(error: BaseException) -> BaseException:
    """What to chain as ``__cause__`` of the typed error for ``error``: the same type, its message
    redacted and bounded, and nothing else (no ``.request``, no chain of its own). httpx and h11
    quote what the server sent ("illegal header line: bytearray(b'...')"), reflected secrets included."""
    message = safe_text(error, EXCERPT_LIMIT)
    try:
        return type(error)(message)
    except Exception:  # a type with another constructor
        return httpx.TransportError(message)


def _redacted(value: object, depth: int = 0) -> Any:
    """A copy of a decoded body with every registered secret masked in keys and strings."""
    if isinstance(value, str):
        return redact(value)
    if depth >= _BODY_DEPTH:
        return "…(nested too deep)"
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, depth + 1) for v in value]
    return value


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _validation_errors(value: object) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, list[str]] = {}
    for field, messages in value.items():
        if isinstance(messages, list):
            out[str(field)] = [str(m) for m in messages]
        elif messages is not None:
            out[str(field)] = [str(messages)]
    return out


def _decode(response: httpx.Response) -> object:
    try:
        return json.loads(response.content) if response.content else None
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return response.text


def _message(response: httpx.Response, body: object) -> str:
    request = response.request
    head = f"{request.method} {request.url.path} -> {response.status_code} {response.reason_phrase}"
    if isinstance(body, dict):
        parts = [excerpt(body[k]) for k in ("title", "detail") if isinstance(body.get(k), str) and body[k]]
        errors = _validation_errors(body.get("errors"))
        parts.extend(excerpt(f"{field}: {'; '.join(msgs)}", 120) for field, msgs in list(errors.items())[:5])
        if len(errors) > 5:
            parts.append(f"(+{len(errors) - 5} more fields)")
        if parts:
            return f"{head}: {' — '.join(parts)}"
    if body:
        return f"{head}: {excerpt(body if isinstance(body, str) else _dumps(body))}"
    return head


def _dumps(body: object) -> str:
    try:
        return json.dumps(body, default=str)
    except (ValueError, RecursionError):
        return repr(type(body))


def make_status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a non-2xx response (the body must already be read)."""
    body = _decode(response)
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    return cls(_message(response, body), response=response, body=body)
