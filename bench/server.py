"""A replaying Willow for benchmarks, in its own process, so the server is not the bottleneck.

Behind it runs the local Willow (``willow_ext.testing.LocalWillow``, spec validation off, optional
insight load). The first time a request is seen (method, target and body, byte for byte) it is
forwarded there and the answer is kept; every later identical request is answered from memory by
a minimal asyncio HTTP/1.1 loop, which costs a few tens of microseconds instead of the local
Willow's per-page rescan. The benchmark warms both sides up before timing, so timed requests are
replays (the ``misses`` counter says if one was not).

``POST /time-series`` is never forwarded: the body is decoded (orjson), its points counted and
checked for the required keys, and the local Willow's 202 answer replayed. Nothing is stored, so a
1,000,000-point ingest does not grow the server.

Prints one JSON line with base_url / client_id / client_secret / pid, then serves until stdin
closes; ``GET /__bench_stats`` answers the counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from typing import Any

import httpx
import orjson

from willow_ext.testing import LocalWillow, add_insight_trees

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found"}
_REQUIRED_POINT_KEYS = ("connectorId", "sourceTimestamp", "scalarValue")


def _render(status: int, content_type: str | None, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\ncontent-length: {len(body)}\r\n"
    if content_type:
        head += f"content-type: {content_type}\r\n"
    return head.encode() + b"\r\n" + body


class Replayer:
    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=120)
        self.cache: dict[tuple[bytes, bytes, bytes], bytes] = {}
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "misses": 0, "points": 0, "bad_points": 0}
        answer = self.upstream.post("/api/v3/time-series", json=[])  # an empty array: 400, no point stored
        self.accepted = _render(202, None, b"")
        self.bad_request = _render(answer.status_code, answer.headers.get("content-type"), answer.content)

    def answer(self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        self.stats["requests"] += 1
        if target == b"/__bench_stats":
            return _render(200, "application/json", json.dumps(self.stats).encode())
        if method == b"POST" and target.split(b"?")[0].endswith(b"/time-series"):
            points = orjson.loads(body)
            if not points or not all(all(k in p for k in _REQUIRED_POINT_KEYS) for p in points):
                self.stats["bad_points"] += len(points)
                return self.bad_request
            self.stats["points"] += len(points)
            return self.accepted
        key = (method, target, body)
        cached = self.cache.get(key)
        if cached is None:
            self.stats["misses"] += 1
            forward = {k.decode(): v.decode() for k, v in headers.items() if k in (b"content-type", b"authorization")}
            with self.lock:
                answer = self.upstream.request(method.decode(), target.decode(), content=body, headers=forward)
            cached = _render(answer.status_code, answer.headers.get("content-type"), answer.content)
            self.cache[key] = cached
        return cached


class _Connection(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and Content-Length bodies: all httpx sends here."""

    def __init__(self, replayer: Replayer) -> None:
        self.replayer = replayer
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            self.transport.write(self.replayer.answer(method, target, headers, body))


async def serve(replayer: Replayer, started: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(replayer), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started["base_url"] = f"http://127.0.0.1:{port}/api/v3"
    print(json.dumps(started), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # serve until the parent closes our stdin
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insight-roots", type=int, default=0)
    args = parser.parse_args()
    with LocalWillow(seed=True, validate_requests=False, validate_responses=False) as willow:
        if args.insight_roots:
            add_insight_trees(willow.store, roots=args.insight_roots, children_per_root=[0, 1, 3, 2], prefix="BENCH")
        upstream = willow.base_url.removesuffix("/api/v3")
        replayer = Replayer(upstream)
        # The JSON-able part only (client_kwargs() also carries the local server's ThrottlePolicy).
        kwargs = willow.client_kwargs()
        started = {**{k: kwargs[k] for k in ("base_url", "client_id", "client_secret")}, "pid": os.getpid()}
        asyncio.run(serve(replayer, started))


if __name__ == "__main__":
    main()
