"""Planted deviations: LocalWillow answering in plausible ways the pinned spec did not guess.

A response-rewriting ASGI middleware around :class:`WillowApp`, so the app itself stays faithful
to the spec. Each :class:`Deviation` rewrites the 2xx JSON answers of one operation; the factories
below build the kinds a real tenant may show (a renamed member, another 2xx status, a bare array
instead of an envelope, a new enum value, a missing required member).

>>> with LocalWillow(middleware=deviating(status("GET", "/models/{id}", 201))) as willow: ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DeviatingApp",
    "Deviation",
    "Raw",
    "bare_array",
    "deviating",
    "drop_member",
    "enum_value",
    "html",
    "no_body",
    "rename_member",
    "status",
]

API_ROOT = "/api/v3"


@dataclass(frozen=True, slots=True)
class Raw:
    """A rewritten body sent as these exact bytes (not JSON-encoded), with this content type."""

    content: bytes
    content_type: str = ""


Rewrite = Callable[[int, Any], tuple[int, Any]]


@dataclass(frozen=True, slots=True)
class Deviation:
    """Rewrite the 2xx JSON answers to ``method`` + ``path`` (a template such as ``/twins/{id}``)."""

    method: str
    path: str
    rewrite: Rewrite
    what: str = ""

    def matches(self, method: str, path: str) -> bool:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path)) + "$"
        return method.upper() == self.method.upper() and re.match(pattern, path) is not None


def _apply(body: Any, at: str, change: Callable[[Any, str], None]) -> None:
    """Call ``change(container, key)`` for every container reached by the dotted path ``at``;
    ``*`` walks every item of a list (``items.*.type``)."""
    *parents, last = at.split(".") if at else [""]
    nodes = [body]
    for part in parents:
        following: list[Any] = []
        for node in nodes:
            if part == "*" and isinstance(node, list):
                following.extend(node)
            elif isinstance(node, dict) and part in node:
                following.append(node[part])
        nodes = following
    for node in nodes:
        if last == "*" and isinstance(node, list):
            continue
        if isinstance(node, dict):
            change(node, last)


def rename_member(method: str, path: str, at: str, new_name: str) -> Deviation:
    """``at`` (e.g. ``modelId`` or ``items.*.name``) is sent as ``new_name``."""

    def rewrite(code: int, body: Any) -> tuple[int, Any]:
        def change(node: Any, key: str) -> None:
            if key in node:
                node[new_name] = node.pop(key)

        _apply(body, at, change)
        return code, body

    return Deviation(method, path, rewrite, f"{at} renamed to {new_name}")


def drop_member(method: str, path: str, at: str) -> Deviation:
    """``at`` is left out of the answer."""

    def rewrite(code: int, body: Any) -> tuple[int, Any]:
        _apply(body, at, lambda node, key: node.pop(key, None))
        return code, body

    return Deviation(method, path, rewrite, f"{at} missing")


def enum_value(method: str, path: str, at: str, value: str) -> Deviation:
    """``at`` carries ``value``, which the spec's enum does not list."""

    def rewrite(code: int, body: Any) -> tuple[int, Any]:
        def change(node: Any, key: str) -> None:
            if key in node:
                node[key] = value

        _apply(body, at, change)
        return code, body

    return Deviation(method, path, rewrite, f"{at} = {value!r}")


def status(method: str, path: str, code: int) -> Deviation:
    """The same body with another 2xx status (e.g. 201 instead of 200)."""
    return Deviation(method, path, lambda _code, body: (code, body), f"HTTP {code}")


def no_body(method: str, path: str, code: int) -> Deviation:
    """Another 2xx status and no body at all (e.g. a create answered 201 or 204, empty)."""
    return Deviation(method, path, lambda _code, _body: (code, Raw(b"")), f"HTTP {code}, no body")


def html(method: str, path: str) -> Deviation:
    """An HTML page with the same 2xx status, as a proxy or a login page would send."""
    page = Raw(b"<!doctype html><html><body>Sign in</body></html>", "text/html; charset=utf-8")
    return Deviation(method, path, lambda code, _body: (code, page), "HTML instead of JSON")


def bare_array(method: str, path: str, key: str = "items") -> Deviation:
    """The envelope's ``key`` list alone, without the envelope."""

    def rewrite(code: int, body: Any) -> tuple[int, Any]:
        return code, body.get(key, []) if isinstance(body, dict) else body

    return Deviation(method, path, rewrite, f"bare array instead of the envelope's {key}")


class DeviatingApp:
    """ASGI middleware: buffers a matching 2xx JSON answer and sends the rewritten one."""

    def __init__(self, app: ASGIApp, deviations: Sequence[Deviation]) -> None:
        self.app = app
        self.deviations = tuple(deviations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        found = (
            next((d for d in self.deviations if d.matches(scope["method"], path[len(API_ROOT) :])), None)
            if scope["type"] == "http" and path.startswith(API_ROOT)
            else None
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await send_rewritten(start, b"".join(chunks))

        async def send_rewritten(begin: Message, body: bytes) -> None:
            code = int(begin["status"])
            headers = list(begin.get("headers", []))
            kind = dict(headers).get(b"content-type", b"")
            if 200 <= code < 300 and (not body or b"json" in kind):
                code, rewritten = found.rewrite(code, json.loads(body) if body else None)
                drop = {b"content-length"}
                if isinstance(rewritten, Raw):
                    body = rewritten.content
                    drop.add(b"content-type")
                else:
                    body = json.dumps(rewritten).encode()
                headers = [(k, v) for k, v in headers if k.lower() not in drop]
                if isinstance(rewritten, Raw) and rewritten.content_type:
                    headers.append((b"content-type", rewritten.content_type.encode()))
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**begin, "status": code, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, capture)


def deviating(*deviations: Deviation) -> Callable[[ASGIApp], ASGIApp]:
    """The ``middleware`` argument of :class:`LocalWillow` that plants ``deviations``."""
    return lambda app: DeviatingApp(app, deviations)
