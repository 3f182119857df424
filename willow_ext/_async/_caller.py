"""The typed seam to the generated operations: send one, return its parsed body or raise.

``operation`` is a generated ``asyncio_detailed`` function and ``*args, **kwargs`` are checked
against its signature by the type checker (``ParamSpec``), so a misspelled keyword or a wrong
argument type fails ``mypy --strict`` at the call site.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, overload

import httpx
from willow_api_client import Client as GeneratedClient
from willow_api_client.types import Response as GeneratedResponse

from .._base import PARSE_ERRORS, CallRecord, connection_error, outcome
from .._errors import APIConnectionError, transport_stand_in

__all__ = ["AsyncCaller"]

P = ParamSpec("P")
M = TypeVar("M")
N = TypeVar("N")


class AsyncCaller:
    """Sends generated operations through one generated client and records the raw responses."""

    def __init__(self, generated: GeneratedClient, api_root: str = "") -> None:
        #: The generated package's client: pass it as ``client=`` to every generated operation.
        self.generated = generated
        self._api_root = api_root
        # Per caller and per thread/task: the final raw response of the latest call.
        self._last_response: ContextVar[httpx.Response | None] = ContextVar("willow_last_response", default=None)

    @property
    def last_response(self) -> httpx.Response | None:
        return self._last_response.get()

    @overload
    async def __call__(
        self,
        kind: type[M],
        operation: Callable[P, Awaitable[GeneratedResponse[Any]]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> M: ...
    @overload
    async def __call__(
        self,
        kind: tuple[type[M], type[N]],
        operation: Callable[P, Awaitable[GeneratedResponse[Any]]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> M | N: ...
    @overload
    async def __call__(
        self,
        kind: None,
        operation: Callable[P, Awaitable[GeneratedResponse[Any]]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any: ...
    async def __call__(
        self,
        kind: type[Any] | tuple[type[Any], ...] | None,
        operation: Callable[P, Awaitable[GeneratedResponse[Any]]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any:
        """Send ``operation(*args, **kwargs)``; the parsed body must be an instance of ``kind``
        (``None``: any body is accepted)."""
        result: GeneratedResponse[Any] | None = None
        parse_error: Exception | None = None
        failure: tuple[APIConnectionError, BaseException] | None = None
        with CallRecord() as seen:
            try:
                result = await operation(*args, **kwargs)
            except httpx.RequestError as exc:
                failure = connection_error(exc), transport_stand_in(exc)
            except PARSE_ERRORS as exc:
                parse_error = exc
        if failure is not None:
            # Raised out here, chained to a stand-in: the httpx error (its message may quote a
            # reflected secret, its .request holds the token form or the Bearer header) must be
            # neither __cause__ nor __context__.
            error, cause = failure
            raise error from cause
        if seen:
            self._last_response.set(seen[-1])
        return outcome(seen, result, parse_error, kind, api_root=self._api_root, reparse=self._reparser(operation))

    def _reparser(self, operation: Callable[..., Any]) -> Callable[[httpx.Response], Any] | None:
        """The generated module's own parser, for an answer normalised by tolerant reading."""
        parse = getattr(sys.modules.get(operation.__module__), "_parse_response", None)
        if parse is None:
            return None
        generated = self.generated
        return lambda response: parse(client=generated, response=response)
