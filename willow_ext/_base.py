"""What the sync and async clients share, none of it I/O: settings, the response record that
decides each call's outcome, environment configuration and the outcome decision itself.

The generated package's parsers expect the documented bodies and crash on anything else (an HTML
403, an empty 404). So each call records the raw final response through an httpx response hook,
and the outcome is decided from that raw response first: non-2xx -> :func:`make_status_error`;
2xx that the generated model cannot read -> :class:`ResponseValidationError`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from willow_api_client.types import Response as GeneratedResponse

from ._auth import ClientCredentials, ClientCredentialsAuth, Secret
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidArgumentTypeError,
    InvalidRequestError,
    ResponseValidationError,
    WillowError,
    excerpt,
    make_status_error,
)
from ._operations import OperationFacts
from ._redact import safe_text
from ._requests import (
    base_url_for,
    check_headers,
    check_number,
    check_text,
    check_timeout,
    check_whole,
    checked_base_url,
)
from ._required import first_violation
from ._retry import RETRY_POLICY_EXTENSION, RetryPolicy, RetryStats, enter_call_scope, exit_call_scope
from ._throttle import ThrottlePolicy
from ._tolerant import Accepted, accept_unparsed, find_operation, read_success

__all__ = [
    "DEFAULT_ACCEPT",
    "DEFAULT_TIMEOUT",
    "PARSE_ERRORS",
    "CallRecord",
    "ClientBase",
    "async_record_response",
    "async_retry_policy_hook",
    "check_settings",
    "connection_error",
    "merged_hooks",
    "outcome",
    "policy_with_max_retries",
    "proxy_for",
    "settings_from_env",
    "sync_record_response",
    "sync_retry_policy_hook",
]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: JSON preferred (ASP.NET lists text/plain first for some operations), but binary operations such
#: as ticket attachments produce application/octet-stream, so anything else is acceptable too.
DEFAULT_ACCEPT = "application/json, */*;q=0.1"
#: What a generated parser raises on a body it cannot read (RecursionError: deeply nested JSON).
PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, RecursionError)

# The responses seen during the current call (one list per call; contextvars keep threads and
# asyncio tasks apart). The last one is the final answer after auth replays.
_responses: ContextVar[list[httpx.Response] | None] = ContextVar("willow_responses", default=None)


def sync_record_response(response: httpx.Response) -> None:
    seen = _responses.get()
    if seen is not None:
        seen.append(response)


async def async_record_response(response: httpx.Response) -> None:
    # httpx.AsyncClient awaits its event hooks, so the async client needs a coroutine.
    sync_record_response(response)


class CallRecord:
    """One client call: collects its raw responses and opens its retry deadline scope.
    ``with CallRecord() as seen: ...``."""

    __slots__ = ("_reset", "_scope", "responses")

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def __enter__(self) -> list[httpx.Response]:
        self._reset = _responses.set(self.responses)
        self._scope = enter_call_scope()
        return self.responses

    def __exit__(self, *_: object) -> None:
        exit_call_scope(self._scope)
        _responses.reset(self._reset)


def outcome(
    seen: list[httpx.Response],
    result: GeneratedResponse[Any] | None,
    parse_error: Exception | None,
    kind: type[Any] | tuple[type[Any], ...] | None = None,
    *,
    api_root: str = "",
    reparse: Callable[[httpx.Response], Any] | None = None,
) -> Any:
    """Decide a call's result from the raw final response (pure: no I/O).

    Non-2xx: the typed status error. 2xx: strict where the spec is published, tolerant where it
    guesses (``willow_ext._tolerant``): a write the server accepted is never turned into an error
    (an :class:`Accepted` comes back instead), and a body that cannot be read is never turned into
    a silently empty result. ``reparse`` runs the operation's generated parser on a normalised copy.
    """
    if not seen:
        if parse_error is not None:
            # Nothing left the client: the arguments could not become a request (a lone surrogate
            # no encoding can carry, a value JSON cannot hold). Bad input, not a network failure.
            raise InvalidRequestError(
                f"the request could not be built from these arguments: {type(parse_error).__name__}: "
                f"{safe_text(parse_error, 160)}"
            ) from None
        raise WillowError("no response was received (was the call made with client=<this client>.generated?)")
    raw = seen[-1]
    if not raw.is_success:
        # Not `from parse_error`: a parser's JSONDecodeError keeps the whole body in `.doc`.
        raise make_status_error(raw) from None
    facts = find_operation(raw.request.method, raw.request.url.path, api_root=api_root)
    parsed = result.parsed if result is not None else None
    if facts is None:  # not one of the 43 (a newer server's operation, called through call())
        return _checked(raw, parsed, parse_error, kind)
    if parse_error is None and _plainly_documented(facts, raw) and (kind is None or isinstance(parsed, kind)):
        violation = first_violation(parsed)
        if violation is None:
            return parsed  # the common case, decided without decoding the body a second time
    reading = read_success(facts, raw)  # raises ResponseValidationError when it cannot be success
    if isinstance(reading, Accepted):
        return reading
    if reading.changed:
        if reparse is None:
            return accept_unparsed(facts, raw, TypeError("the answer needs normalising and no parser was given"))
        try:
            parsed = reparse(reading.response)
        except PARSE_ERRORS as exc:
            return accept_unparsed(facts, raw, exc)
    elif parse_error is not None:
        return accept_unparsed(facts, raw, parse_error)
    if kind is not None and not isinstance(parsed, kind):
        return accept_unparsed(facts, raw, TypeError(f"not the documented {_kind_name(kind)}: {type(parsed).__name__}"))
    violation = first_violation(parsed)
    if violation is not None:
        return accept_unparsed(facts, raw, ValueError(f"required field {violation}"))
    return parsed


def _kind_name(kind: type[Any] | tuple[type[Any], ...]) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


_OPENERS = {"array": b"[", "object": b"{"}


def _plainly_documented(facts: OperationFacts, raw: httpx.Response) -> bool:
    """A documented success status whose body opens with the documented top-level JSON shape (a
    cheap look at the first byte: a bare array parsed as an envelope would read as an empty page)."""
    if raw.status_code not in facts.success or raw.status_code in facts.no_body or facts.body != "json":
        return False
    if "html" in raw.headers.get("content-type", "").lower():
        return False
    opener = _OPENERS.get(facts.shape)
    return opener is None or raw.content.lstrip()[:1] == opener


def _checked(
    raw: httpx.Response,
    parsed: Any,
    parse_error: Exception | None,
    kind: type[Any] | tuple[type[Any], ...] | None,
) -> Any:
    """The strict reading for an operation the pinned spec does not know."""
    where = f"{raw.request.method} {raw.request.url.path}"
    if parse_error is not None:
        raise ResponseValidationError(
            f"{where}: response does not match the spec ({type(parse_error).__name__}: {parse_error})", response=raw
        ) from None
    if kind is not None and not isinstance(parsed, kind):
        raise ResponseValidationError(
            f"{where}: HTTP {raw.status_code} body is not the documented {_kind_name(kind)} "
            f"(got {type(parsed).__name__})",
            response=raw,
        )
    violation = first_violation(parsed)
    if violation is not None:
        raise ResponseValidationError(f"{where}: required field {violation}", response=raw)
    return parsed


def connection_error(exc: httpx.RequestError) -> APIConnectionError:
    """The typed error for anything httpx raises while sending or reading (``DecodingError``, a
    body that does not match its ``Content-Encoding``, included)."""
    request = exc.request
    where = f"{request.method} {request.url.path}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{where} timed out ({type(exc).__name__})", request=request)
    if isinstance(exc, httpx.DecodingError):
        return APIConnectionError(
            f"{where}: the response body could not be decoded ({type(exc).__name__})", request=request
        )
    return APIConnectionError(f"{where} failed: {type(exc).__name__}: {excerpt(str(exc))}", request=request)


def settings_from_env(overrides: Mapping[str, Any]) -> dict[str, Any]:
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


def merged_hooks(
    existing: Mapping[str, list[Callable[..., Any]]],
    user: Mapping[str, list[Callable[..., Any]]],
    record: Callable[..., Any],
) -> dict[str, list[Callable[..., Any]]]:
    """Existing hooks, then the caller's, then the response capture that decides each outcome."""
    return {
        "request": [*existing.get("request", []), *user.get("request", [])],
        "response": [*existing.get("response", []), *user.get("response", []), record],
    }


class ClientBase:
    """What both clients share: credentials, URLs, the auth flow, retry counters, construction
    from the environment and a safe repr."""

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
        check_text(client_id, "client_id")
        if not isinstance(client_secret, str | Secret):  # checked before Secret() registers it
            raise InvalidArgumentTypeError(f"client_secret must be a string, got {type(client_secret).__name__}")
        check_number(token_leeway, "token_leeway")
        self.base_url = checked_base_url(base_url if base_url is not None else base_url_for(instance or ""))
        #: The path prefix of every operation (``/api/v3``): retries and throttling key on what follows.
        self.api_root = urlsplit(self.base_url).path
        secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        self.credentials = ClientCredentials(client_id, secret, f"{self.base_url}/oauth2/token")
        self.auth = ClientCredentialsAuth(self.credentials, leeway=token_leeway)
        self.retry_stats = RetryStats()

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Build from WILLOW_INSTANCE / WILLOW_BASE_URL, WILLOW_CLIENT_ID, WILLOW_CLIENT_SECRET."""
        return cls(**settings_from_env(overrides))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, client_id={self.credentials.client_id!r})"


def check_settings(
    *,
    timeout: object,
    retry: object,
    headers: object,
    max_connections: object,
    throttle: object,
    max_response_bytes: object,
) -> dict[str, str]:
    """Refuse a client setting of the wrong type or range before anything is built (pure); returns
    the checked extra headers."""
    check_timeout(timeout)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidArgumentTypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
    if throttle is not None and not isinstance(throttle, ThrottlePolicy):
        raise InvalidArgumentTypeError(f"throttle must be a ThrottlePolicy, got {type(throttle).__name__}")
    check_whole(max_connections, "max_connections", minimum=1, maximum=None)
    check_whole(max_response_bytes, "max_response_bytes", minimum=1, maximum=None, optional=True)
    return check_headers(headers)


# ------------------------------------------------------------------ per-request options


def policy_with_max_retries(policy: RetryPolicy, max_retries: int | None) -> RetryPolicy:
    """``policy`` with ``max_retries`` retries (``max_attempts = max_retries + 1``)."""
    if max_retries is None:
        return policy
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
    return dataclasses.replace(policy, max_attempts=max_retries + 1)


def sync_retry_policy_hook(policy: RetryPolicy) -> Callable[[httpx.Request], None]:
    """A request hook that makes the retry transport use ``policy`` for this view's requests."""

    def hook(request: httpx.Request) -> None:
        request.extensions[RETRY_POLICY_EXTENSION] = policy

    return hook


def async_retry_policy_hook(policy: RetryPolicy) -> Callable[[httpx.Request], Awaitable[None]]:
    sync_hook = sync_retry_policy_hook(policy)

    async def hook(request: httpx.Request) -> None:
        sync_hook(request)

    return hook


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, minus
    NO_PROXY), as httpx itself honours them; our transports are built by hand, so httpx would not
    apply them for us. https://www.python-httpx.org/environment_variables/"""
    import urllib.request  # here, not at the top: 30 ms of import time that most callers never need

    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    host = parts.hostname or ""
    if not proxies or urllib.request.proxy_bypass(host):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")
