"""Class 4: one deadline per call (token fetch, retries and the 401 replay together), no sleep
past it, odd Retry-After values handled, and a shared retry budget under many callers."""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from willow_ext import (
    APITimeoutError,
    AsyncWillowClient,
    InternalServerError,
    RetryPolicy,
    ThrottlePolicy,
    WillowClient,
    WillowError,
)

from .conftest import CLIENT_ID, SECRET, TOKEN, Reply, Seen


def _policy(total: float, attempts: int = 8, initial: float = 0.05) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=attempts, backoff_initial=initial, backoff_max=0.2, jitter=0.0, max_total_seconds=total
    )


def _timed(fn: Any) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        fn()
    except BaseException as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_retries_of_a_failing_server_stop_within_the_total_budget(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"down"))
    with server.client(retry=_policy(0.5)) as client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, InternalServerError)
    assert elapsed < 0.9
    assert len(server.api()) >= 2


def test_a_retry_after_longer_than_the_remaining_budget_is_not_slept(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"down", {"Retry-After": "2"}))
    with server.client(retry=_policy(0.5)) as client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, InternalServerError)
    assert elapsed < 0.5
    assert len(server.api()) == 1


def test_the_token_fetch_counts_against_the_call_deadline(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"down"), token=lambda s: Reply(200, {"access_token": TOKEN}, delay=0.5))
    with server.client(retry=_policy(0.6)) as client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, InternalServerError)
    assert elapsed < 0.9


def test_one_slow_attempt_cannot_outlast_the_budget(serve: Any) -> None:
    server = serve(lambda s: Reply(200, {"id": "T-1", "modelId": "m"}, delay=1.5))
    with server.client(timeout=5.0, retry=_policy(0.4)) as client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, WillowError)
    assert elapsed < 1.0


def test_the_401_replay_shares_the_budget_of_the_first_attempt(serve: Any) -> None:
    calls = {"n": 0}

    def api(seen: Seen) -> Reply:
        calls["n"] += 1
        if calls["n"] <= 2:
            return Reply(503, b"down")
        if calls["n"] == 3:
            return Reply(401, b"")
        return Reply(503, b"down")

    server = serve(api)
    with server.client(retry=_policy(0.6, attempts=8, initial=0.15)) as client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, WillowError)
    assert elapsed < 0.75  # the two loops each spend ~0.55 s today


def _http_date(delta: timedelta) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + delta, usegmt=True)


RETRY_AFTER = {
    "year-9999-date": {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
    "year-1-date": {"Retry-After": "Mon, 01 Jan 0001 00:00:00 GMT"},
    "far-past-offset": {"Retry-After": "Mon, 01 Jan 0001 00:00:00 -2359"},
    "huge-integer": {"Retry-After": "9" * 400},
    "negative": {"Retry-After": "-5"},
    "nan": {"Retry-After": "nan"},
    "infinity": {"Retry-After": "inf"},
    "garbage": {"Retry-After": "soon-ish"},
    "ms-overflow": {"retry-after-ms": "1e400"},
    "ms-negative": {"retry-after-ms": "-1"},
    "date-in-one-hour": {"Retry-After": _http_date(timedelta(hours=1))},
}


@pytest.mark.parametrize("label", RETRY_AFTER)
def test_odd_retry_after_gives_a_typed_error_quickly(serve: Any, label: str) -> None:
    server = serve(lambda s: Reply(503, b"down", dict(RETRY_AFTER[label])))
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.02, max_total_seconds=1, max_retry_after=1)
    with server.client(retry=policy) as client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, InternalServerError), repr(exc)
    assert elapsed < 1.5


def test_many_threads_against_a_failing_server_spend_a_bounded_retry_budget(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"down"))
    # Unthrottled: pacing at 20 requests / 10 s would spread the calls over two budget windows.
    unthrottled = ThrottlePolicy.disabled()
    with (
        server.client(retry=_policy(5.0, attempts=8, initial=0.001), throttle=unthrottled) as client,
        ThreadPoolExecutor(20) as pool,
    ):
        list(pool.map(lambda _: _timed(lambda: client.twins.get("T-1")), range(20)))
    # 20 first attempts; a retry budget keeps retries a bounded fraction (half of the calls
    # plus a reserve of 10 per 10 s window by default), not 20 x 7 = 140.
    assert len(server.api()) <= 20 + 0.5 * 20 + 10


async def test_many_tasks_against_a_failing_server_spend_a_bounded_retry_budget(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"down"))
    unthrottled = ThrottlePolicy.disabled()
    async with AsyncWillowClient(
        **server.kwargs(retry=_policy(5.0, attempts=8, initial=0.001), throttle=unthrottled)
    ) as client:
        await asyncio.gather(*(client.twins.get("T-1") for _ in range(20)), return_exceptions=True)
    assert len(server.api()) <= 20 + 0.5 * 20 + 10


async def test_async_retries_stop_within_the_total_budget(serve: Any) -> None:
    server = serve(lambda s: Reply(503, b"down"))
    async with AsyncWillowClient(**server.kwargs(retry=_policy(0.5))) as client:
        started = time.monotonic()
        with pytest.raises(InternalServerError):
            await client.twins.get("T-1")
        assert time.monotonic() - started < 0.9


# --------------------------------------------------------------------------- trickling servers
# A server that keeps every read timeout happy (a byte every 0.2 s) must still not outlast the
# call's budget: the deadline covers the whole attempt, not each read.


class _Trickler:
    """Raw loopback server: a normal token (unless ``part`` is "token"), then an answer whose
    ``part`` ("body", "headers" or "token" body) arrives one byte every ``every`` seconds."""

    def __init__(self, part: str, every: float = 0.2, total: int = 60) -> None:
        self.part, self.every, self.total = part, every, total
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/v3"
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket, head: bytes, unit: bytes) -> None:
        conn.sendall(head)
        for _ in range(self.total):
            if not self.open:
                return
            conn.sendall(unit)
            time.sleep(self.every)

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                while length and len(body) < int(length.group(1)):
                    body += conn.recv(65536)
                is_token = b"/oauth2/token" in head.split(b"\r\n", 1)[0]
                ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                if is_token and self.part != "token":
                    token = json.dumps({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}).encode()
                    conn.sendall(ok.replace(b"500", str(len(token)).encode()) + token)
                elif self.part == "headers":
                    self._drip(conn, b"HTTP/1.1 200 OK\r\n", b"X-A: b\r\n")
                else:
                    self._drip(conn, ok, b" ")
            except OSError:
                pass

    def close(self) -> None:
        self.open = False
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[Callable[[str], _Trickler]]:
    servers: list[_Trickler] = []

    def start(part: str) -> _Trickler:
        servers.append(_Trickler(part))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


TRICKLE_POLICY = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.02, max_total_seconds=1.5)


@pytest.mark.parametrize("part", ["body", "token"])
def test_a_trickled_answer_ends_at_the_call_deadline(trickler: Callable[[str], _Trickler], part: str) -> None:
    server = trickler(part)
    client = WillowClient(
        base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, timeout=1.0, retry=TRICKLE_POLICY
    )
    with client:
        elapsed, exc = _timed(lambda: client.twins.get("T-1"))
    assert isinstance(exc, APITimeoutError), exc
    assert elapsed < 1.5 + 0.6  # the budget plus a read timeout's slack at most, not 60 bytes x 0.2 s


@pytest.mark.parametrize("part", ["body", "token", "headers"])
async def test_a_trickled_answer_ends_at_the_call_deadline_async(
    trickler: Callable[[str], _Trickler], part: str
) -> None:
    server = trickler(part)
    started = time.monotonic()
    async with AsyncWillowClient(
        base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET, timeout=1.0, retry=TRICKLE_POLICY
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.twins.get("T-1")
    assert time.monotonic() - started < 1.5 + 0.6
