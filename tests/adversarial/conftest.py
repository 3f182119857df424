"""Hostile loopback servers and the helpers every adversarial test shares.

``HostileServer`` is a tiny threaded ``http.server`` on 127.0.0.1 whose every answer comes from a
function the test gives it: a ``Reply`` (status, headers, body) or raw bytes written straight to
the socket (for broken HTTP). The token endpoint and the API share one server, as on Willow.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from willow_ext import RetryPolicy, WillowClient

SECRET = "adv-Sup3r/Secret+Value=&ünïcode\"q'<x>"
TOKEN = "adv-token-AbCdEf0123456789.xyz_~+/"
CLIENT_ID = "adv-client"
FAST = RetryPolicy(max_attempts=2, backoff_initial=0.001, backoff_max=0.005, max_total_seconds=3)
NO_RETRY = RetryPolicy.disabled()


def forms(secret: str) -> set[str]:
    """How a hostile server may reflect a secret (independent of the package's own list)."""
    escaped = json.dumps(secret)[1:-1]
    out = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe="").lower(),
    }
    return out


def leaks(text: str, *secrets: str) -> list[str]:
    return [form for secret in secrets for form in forms(secret) if form in text]


def exception_texts(exc: BaseException) -> Iterator[str]:
    """str/repr of the exception, its args and attributes, through the whole cause/context chain."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        for arg in current.args:
            yield str(arg)
        for name, value in vars(current).items():
            if isinstance(value, str | bytes | int | float | dict | list | tuple) or value is None:
                yield f"{name}={value!r}"
                if isinstance(value, bytes):
                    yield value.decode("utf-8", "replace")
            else:
                yield repr(value)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def assert_no_leak(exc: BaseException, *secrets: str) -> None:
    found = [form for text in exception_texts(exc) for form in leaks(text, *(secrets or (SECRET, TOKEN)))]
    assert not found, f"secret leaked in {type(exc).__name__}: {found[:3]}"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reason: str | None = None

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        self.headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode()


def jreply(body: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Raw = bytes
Handler = Callable[[Seen], "Reply | Raw | None"]


def token_reply(seen: Seen) -> Reply:
    return jreply({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is part of the attacks. Printing its traceback from this
        # thread would also race pytest: Python 3.11 tracebacks call ast.parse, whose recursion
        # counter is shared ("AST constructor recursion depth mismatch").
        pass


class HostileServer:
    """Answers every request with ``handler(seen)``; ``/oauth2/token`` has its own handler."""

    def __init__(self, handler: Handler, token: Handler = token_reply) -> None:
        self.handler = handler
        self.token = token
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                with outer.lock:
                    outer.seen.append(seen)
                chosen = outer.token if self.path.split("?")[0].endswith("/oauth2/token") else outer.handler
                try:
                    reply = chosen(seen)
                except Exception as exc:  # a bug in a test handler: answer 599 so it shows
                    reply = Reply(599, repr(exc).encode())
                if reply is None:  # hang up without answering
                    self.close_connection = True
                    return
                if isinstance(reply, bytes):
                    self.wfile.write(reply)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.encoded()
                try:
                    self.send_response(reply.status, reply.reason)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815 - http.server names

        self.httpd = _QuietServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/v3"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def api(self) -> list[Seen]:
        return [s for s in self.seen if not s.path.endswith("/oauth2/token")]

    def tokens(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/oauth2/token")]

    def client(self, **kwargs: Any) -> WillowClient:
        options: dict[str, Any] = {"timeout": 2.0, "retry": FAST}
        options.update(kwargs)
        return WillowClient(base_url=self.base_url, client_id=CLIENT_ID, client_secret=SECRET, **options)

    def kwargs(self, **kwargs: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"timeout": 2.0, "retry": FAST}
        options.update(kwargs)
        return {"base_url": self.base_url, "client_id": CLIENT_ID, "client_secret": SECRET, **options}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., HostileServer]]:
    """``serve(handler, token=...)`` starts a hostile server, stopped when the test ends."""
    servers: list[HostileServer] = []

    def start(handler: Handler = lambda s: jreply({}), token: Handler = token_reply) -> HostileServer:
        server = HostileServer(handler, token)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def twin(twin_id: Any = "T-1", **extra: Any) -> dict[str, Any]:
    return {"id": twin_id, "modelId": "dtmi:com:willowinc:AirHandlingUnit;1", **extra}
