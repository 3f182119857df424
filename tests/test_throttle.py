"""The client-side throttle: pure rules as tables, backends, and the transports over real HTTP.

Servers here enforce a scaled fixed window (a few requests per fraction of a second) so the tests
stay fast; the rules do not depend on the scale.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from willow_ext import AsyncThrottleTransport, InvalidRequestError, ThrottleTransport
from willow_ext._throttle import Slot, ThrottlePolicy, exhausted_until, limiter_key, live_slots, path_group, wait_time
from willow_ext._throttle_backends import MemoryBackend, RedisBackend, SqliteBackend, ThrottleBackend, backend_from_url
from willow_ext._throttle_transport import (
    RETRY_AFTER_EXTENSION,
    THROTTLE_WAIT_EXTENSION,
    ThrottleStats,
    shared_backend,
    shared_limiter,
)
from willow_ext.testing import FaultConfig, LocalWillow

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/api/v3/twins", "/twins"),
        ("/api/v3/twins/AHU-1", "/twins"),
        ("/api/v3/twins/relationships", "/twins"),
        ("/api/v3/time-series/PNT-1/latest", "/time-series"),
        ("/api/v3/time-series", "/time-series"),
        ("/api/v3/twinsfoo", None),
        ("/api/v3/models", None),
        ("/api/v3/oauth2/token", None),
        ("/other/twins", None),
        ("/twins", None),
    ],
)
def test_path_group(path: str, group: str | None) -> None:
    assert path_group(path, "/api/v3", ("/twins", "/time-series")) == group


def test_path_group_at_the_host_root() -> None:
    assert path_group("/twins/x", "", ("/twins",)) == "/twins"
    assert path_group("/twins/x", "/", ("/twins",)) == "/twins"


P = ThrottlePolicy(limit=3, window=10.0, lease=100.0)


@pytest.mark.parametrize(
    ("slots", "blocked_until", "now", "expected"),
    [
        ([], 0.0, 50.0, 0.0),
        ([Slot(49, 49.1), Slot(49.2, 49.3)], 0.0, 50.0, 0.0),  # 2 of 3 used
        ([Slot(40, 41), Slot(42, 43), Slot(44, 45)], 0.0, 50.0, 1.0),  # the oldest frees at 41 + 10
        ([Slot(30, 39), Slot(42, 43), Slot(44, 45)], 0.0, 50.0, 0.0),  # 39 + 10 <= 50: freed
        ([Slot(40, 41), Slot(42, 43), Slot(44)], 0.0, 50.0, 1.0),  # finished ones free first
        ([Slot(40), Slot(42), Slot(44)], 0.0, 50.0, 10.0),  # all in flight: not before now + window
        ([Slot(-60), Slot(42, 43), Slot(44, 45)], 0.0, 50.0, 0.0),  # in flight past the lease (-60 + 100 + 10)
        ([Slot(-55), Slot(42, 43), Slot(44, 45)], 0.0, 50.0, 3.0),  # that one frees at 55; 43 + 10 = 53 first
        ([], 57.5, 50.0, 7.5),  # exhausted by a 429 from elsewhere
        ([Slot(40, 41), Slot(40, 41), Slot(40, 41), Slot(48, 49)], 0.0, 50.0, 1.0),  # over the limit: 2 must free
        ([Slot(40, 41), Slot(40, 42), Slot(40, 45), Slot(48, 49)], 0.0, 50.0, 2.0),
    ],
)
def test_wait_time(slots: list[Slot], blocked_until: float, now: float, expected: float) -> None:
    assert wait_time(slots, blocked_until, now, P) == pytest.approx(expected)


def test_a_slot_frees_exactly_one_window_after_its_response() -> None:
    slots = [Slot(0, 1), Slot(0, 1), Slot(0, 1)]
    assert wait_time(slots, 0.0, 10.999, P) > 0
    assert wait_time(slots, 0.0, 11.0, P) == 0.0
    assert live_slots(slots, 11.0, P) == []
    assert live_slots([Slot(0)], 1e6, ThrottlePolicy(lease=5, window=1)) == []
    assert live_slots([Slot(0)], 5.9, ThrottlePolicy(lease=5, window=1)) == [Slot(0)]


def test_never_more_than_limit_in_any_server_window_whatever_its_alignment() -> None:
    """Simulate a greedy client with random latencies; check every fixed window of every offset."""
    import random

    rng = random.Random(7)
    policy = ThrottlePolicy(limit=5, window=1.0)
    slots: list[Slot] = []
    arrivals: list[float] = []
    now = 0.0
    in_flight: dict[int, float] = {}  # index in slots -> when its response arrives
    while len(arrivals) < 400:
        for index, finish in list(in_flight.items()):
            if finish <= now:
                slots[index] = Slot(slots[index].started, finish)
                del in_flight[index]
        wait = wait_time(slots, 0.0, now, policy)
        if wait > 0:  # asks again as soon as anything changes: greedier than the real shells
            now = min([now + wait, *in_flight.values()])
            continue
        latency = rng.uniform(0.001, 0.3)
        arrivals.append(now + rng.uniform(0, latency))  # the server counts it somewhere in the round trip
        slots.append(Slot(now))
        in_flight[len(slots) - 1] = now + latency
    for offset in [i / 20 for i in range(20)]:
        counts: dict[int, int] = {}
        for a in arrivals:
            counts[int((a - offset) // 1.0)] = counts.get(int((a - offset) // 1.0), 0) + 1
        assert max(counts.values()) <= policy.limit, offset


def test_exhausted_until_is_one_window_ahead() -> None:
    assert exhausted_until(100.0, ThrottlePolicy(window=10)) == 110.0


def test_limiter_key_separates_credentials_and_hides_them() -> None:
    a = limiter_key("https://x.app.willowinc.com/api/v3", "client-a", "/twins")
    assert a == limiter_key("https://x.app.willowinc.com/api/v3/", "client-a", "/twins")
    assert a != limiter_key("https://x.app.willowinc.com/api/v3", "client-b", "/twins")
    assert a != limiter_key("https://y.app.willowinc.com/api/v3", "client-a", "/twins")
    assert a != limiter_key("https://x.app.willowinc.com/api/v3", "client-a", "/time-series")
    assert "client-a" not in a


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 0}, {"window": 0}, {"window": -1.0}, {"lease": 0}, {"groups": ("twins",)}, {"groups": ("/x/",)}],
)
def test_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError):
        ThrottlePolicy(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- backends


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port (installed by ``scripts/bootstrap --system``)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (scripts/bootstrap --system installs it when run as root)")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrottleBackend]:
    made: ThrottleBackend
    if request.param == "memory":
        made = MemoryBackend()
    elif request.param == "sqlite":
        made = SqliteBackend(tmp_path / "throttle.db")
    else:
        made = RedisBackend(request.getfixturevalue("redis_url"), prefix=f"test:{time.monotonic_ns()}:")
    yield made
    made.close()


def test_backend_holds_each_slot_until_one_window_after_release(backend: ThrottleBackend) -> None:
    policy = ThrottlePolicy(limit=3, window=0.3)
    ids = [backend.try_acquire("k", policy) for _ in range(3)]
    assert all(slot is not None and wait == 0.0 for slot, wait in ids)
    assert len({slot for slot, _ in ids}) == 3
    slot, wait = backend.try_acquire("k", policy)
    assert slot is None
    assert 0.29 <= wait <= 0.31  # all in flight: at least a window
    assert backend.try_acquire("other-key", policy)[0] is not None  # keys are independent
    backend.release("k", str(ids[0][0]))
    released = time.monotonic()
    slot, wait = backend.try_acquire("k", policy)
    assert slot is None
    assert 0.2 <= wait <= 0.31
    time.sleep(max(0.0, wait - (time.monotonic() - released)) + 0.02)
    assert backend.try_acquire("k", policy)[0] is not None
    assert backend.try_acquire("k", policy)[0] is None


def test_backend_exhaust_blocks_for_a_window(backend: ThrottleBackend) -> None:
    policy = ThrottlePolicy(limit=3, window=0.3)
    assert backend.exhaust("k", policy) == pytest.approx(0.3, abs=0.02)
    slot, wait = backend.try_acquire("k", policy)
    assert slot is None
    assert 0.25 <= wait <= 0.31
    time.sleep(wait + 0.01)
    assert backend.try_acquire("k", policy)[0] is not None


def test_backend_frees_a_slot_whose_worker_died_after_the_lease(backend: ThrottleBackend) -> None:
    policy = ThrottlePolicy(limit=1, window=0.1, lease=0.2)
    assert backend.try_acquire("k", policy)[0] is not None  # never released
    assert backend.try_acquire("k", policy)[0] is None
    time.sleep(0.32)
    assert backend.try_acquire("k", policy)[0] is not None


async def test_backend_async_forms(backend: ThrottleBackend) -> None:
    policy = ThrottlePolicy(limit=2, window=0.3)
    first, _ = await backend.atry_acquire("k", policy)
    second, _ = await backend.atry_acquire("k", policy)
    assert first is not None
    assert second is not None
    assert (await backend.atry_acquire("k", policy))[0] is None
    await backend.arelease("k", first)
    assert (await backend.aexhaust("k", policy)) == pytest.approx(0.3, abs=0.02)


def test_backend_from_url(tmp_path: Path) -> None:
    assert isinstance(backend_from_url("memory://"), MemoryBackend)
    sqlite = backend_from_url(f"sqlite:///{tmp_path}/t.db")
    assert isinstance(sqlite, SqliteBackend)
    assert sqlite.path == f"{tmp_path}/t.db"
    sqlite.close()
    assert isinstance(backend_from_url("redis://127.0.0.1:1/0"), RedisBackend)  # connects lazily
    with pytest.raises(InvalidRequestError, match="backend URL"):
        backend_from_url("postgres://x")


def test_the_registry_shares_one_limiter_and_one_backend_per_url() -> None:
    assert shared_backend() is shared_backend("memory://")
    a = shared_limiter("http://127.0.0.1:1/api/v3", "c")
    assert a is shared_limiter("http://127.0.0.1:1/api/v3/", "c")
    assert a is not shared_limiter("http://127.0.0.1:1/api/v3", "d")
    assert a.backend is shared_backend()


# ---------------------------------------------------------------------------------------- over HTTP

LIMIT, WINDOW = 5, 0.4
SCALED = ThrottlePolicy(limit=LIMIT, window=WINDOW)


@pytest.fixture
def limited() -> Iterator[LocalWillow]:
    """A server enforcing a scaled fixed window: LIMIT requests per WINDOW seconds per client."""
    faults = FaultConfig(rate_limit=True, rate_limit_requests=LIMIT, rate_limit_window=WINDOW)
    with LocalWillow(faults=faults) as server:
        yield server


def _token(server: LocalWillow) -> dict[str, str]:
    body = httpx.post(
        f"{server.base_url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret},
    ).json()
    return {"Authorization": f"Bearer {body['access_token']}"}


def _throttled(server: LocalWillow, **kwargs: object) -> httpx.Client:
    transport = ThrottleTransport(
        httpx.HTTPTransport(),
        base_url=server.base_url,
        client_id=server.client_id,
        **kwargs,  # type: ignore[arg-type]
    )
    return httpx.Client(transport=transport, headers=_token(server), timeout=30)


def _assert_never_over(server: LocalWillow, limit: int = LIMIT) -> None:
    hits = server.app.stats.window_hits
    assert hits, "the server counted nothing"
    assert max(hits.values()) <= limit, hits
    assert server.app.stats.status_429 == 0


def test_sync_threads_stay_under_the_limit(limited: LocalWillow) -> None:
    stats = ThrottleStats()
    statuses: list[int] = []
    with _throttled(limited, policy=SCALED, stats=stats) as client:

        def work() -> None:
            for _ in range(6):
                statuses.append(client.get(f"{limited.base_url}/twins/AHU-1").status_code)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 24
    assert stats.requests == 24
    assert stats.waits > 0
    assert stats.rate_limited == 0
    _assert_never_over(limited)


async def test_async_tasks_stay_under_the_limit(limited: LocalWillow) -> None:
    stats = ThrottleStats()
    transport = AsyncThrottleTransport(
        httpx.AsyncHTTPTransport(), base_url=limited.base_url, client_id=limited.client_id, policy=SCALED, stats=stats
    )
    ticks = 0

    async def heartbeat() -> None:  # the loop keeps running while requests wait for slots
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    async with httpx.AsyncClient(transport=transport, headers=_token(limited), timeout=30) as client:
        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.get(f"{limited.base_url}/time-series/PNT-AHU-1-SAT/latest") for _ in range(16))
        )
        elapsed = time.monotonic() - started
    beat.cancel()
    assert [r.status_code for r in responses] == [200] * 16
    assert stats.rate_limited == 0
    assert elapsed > 2 * WINDOW
    assert ticks > 10  # the loop ran while requests waited for slots
    _assert_never_over(limited)


def test_separate_clients_share_one_limiter(limited: LocalWillow) -> None:
    with _throttled(limited, policy=SCALED) as one, _throttled(limited, policy=SCALED) as two:
        for _ in range(8):
            assert one.get(f"{limited.base_url}/twins/AHU-1").status_code == 200
            assert two.get(f"{limited.base_url}/twins/AHU-1").status_code == 200
    _assert_never_over(limited)


def test_unthrottled_paths_and_a_disabled_policy_pass_straight_through(limited: LocalWillow) -> None:
    stats = ThrottleStats()
    with _throttled(limited, policy=SCALED, stats=stats) as client:
        for _ in range(12):
            assert client.get(f"{limited.base_url}/models").status_code == 200
    assert stats.requests == 0
    stats = ThrottleStats()
    with _throttled(limited, policy=ThrottlePolicy.disabled(), stats=stats) as client:
        statuses = [client.get(f"{limited.base_url}/twins/AHU-1").status_code for _ in range(3 * LIMIT)]
    assert 429 in statuses  # proves the server would have refused an unthrottled burst
    assert stats.requests == 0


def test_a_429_from_elsewhere_blocks_the_group_for_the_next_window(limited: LocalWillow) -> None:
    stats = ThrottleStats()
    with _throttled(limited, policy=SCALED, stats=stats) as client:
        limited.faults.burst_429 = 1  # another process spent the window
        first = client.get(f"{limited.base_url}/twins/AHU-1")
        refused_at = time.monotonic()
        assert first.status_code == 429
        assert first.extensions[RETRY_AFTER_EXTENSION] == pytest.approx(WINDOW, abs=0.05)
        second = client.get(f"{limited.base_url}/twins/AHU-1")
        assert second.status_code == 200
        assert time.monotonic() - refused_at >= WINDOW - 0.02
        assert second.extensions[THROTTLE_WAIT_EXTENSION] >= WINDOW - 0.05
        assert client.get(f"{limited.base_url}/models").status_code == 200  # other paths are not held
    assert stats.rate_limited == 1


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_processes_sharing_a_backend_stay_under_the_limit(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = f"sqlite:///{tmp_path}/throttle.db" if kind == "sqlite" else request.getfixturevalue("redis_url")
    limit, window, per_worker = 10, 0.5, 20
    faults = FaultConfig(rate_limit=True, rate_limit_requests=limit, rate_limit_window=window)
    with LocalWillow(faults=faults) as server:
        headers = _token(server)
        token = headers["Authorization"].split(" ", 1)[1]
        start_at = time.time() + 3.0
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.throttle_worker",
                    server.base_url,
                    token,
                    backend,
                    str(per_worker),
                    str(limit),
                    str(window),
                    str(start_at),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [json.loads(w.communicate(timeout=90)[0]) for w in workers]
        stats = server.app.stats
    assert [w.returncode for w in workers] == [0] * 4
    assert [r["ok"] for r in results] == [per_worker] * 4
    # At most one 429 per server window across all four (the task's bar); in practice none.
    assert all(count <= limit + 1 for count in stats.window_hits.values()), stats.window_hits
    assert sum(r["rate_limited"] for r in results) == stats.rate_limited
    assert stats.rate_limited <= len(stats.window_hits)


@pytest.mark.parametrize("use_async", [False, True])
def test_ceiling_helper_sees_no_429_and_never_over_the_limit(use_async: bool) -> None:
    from bench.ceiling import measure_ceiling

    result = measure_ceiling(40, limit=10, window=0.25, concurrency=4, use_async=use_async)
    assert result.requests == 40
    assert result.rate_limited == 0
    assert result.max_per_window <= 10
    assert result.ratio > 0


def test_an_unreachable_store_is_a_short_typed_error_without_the_url() -> None:
    from willow_ext._throttle_transport import ThrottleError

    port = _free_port()  # nothing listens there
    transport = ThrottleTransport(
        httpx.MockTransport(lambda request: httpx.Response(200)),
        base_url="http://127.0.0.1:9/api/v3",
        client_id="c",
        backend=RedisBackend(f"redis://:hunter2@127.0.0.1:{port}/0"),
    )
    with httpx.Client(transport=transport) as client, pytest.raises(ThrottleError) as caught:
        client.get("http://127.0.0.1:9/api/v3/twins/x")
    assert "hunter2" not in str(caught.value)
    assert str(caught.value) == "throttle store RedisBackend failed: ConnectionError"


async def test_a_cancelled_request_gives_its_slot_back() -> None:
    backend = MemoryBackend()
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(30)
        return httpx.Response(200)

    policy = ThrottlePolicy(limit=1, window=0.05)
    transport = AsyncThrottleTransport(
        httpx.MockTransport(hang), base_url="http://127.0.0.1:9/api/v3", client_id="c", policy=policy, backend=backend
    )
    async with httpx.AsyncClient(transport=transport) as client:
        task = asyncio.create_task(client.get("http://127.0.0.1:9/api/v3/twins/x"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await asyncio.sleep(0.06)
    key = limiter_key("http://127.0.0.1:9/api/v3", "c", "/twins")
    assert backend.try_acquire(key, policy)[0] is not None


def test_local_willow_enforces_fixed_windows_per_client_and_group() -> None:
    assert (FaultConfig().rate_limit_requests, FaultConfig().rate_limit_window) == (20, 10.0)  # rate_limit=True
    window = 2.0
    faults = FaultConfig(rate_limit=True, rate_limit_requests=3, rate_limit_window=window)
    with LocalWillow(faults=faults) as server, httpx.Client(timeout=10) as http:
        server.app.clients["other-client"] = "other-secret"
        mine = _token(server)
        body = {"grant_type": "client_credentials", "client_id": "other-client", "client_secret": "other-secret"}
        token = http.post(f"{server.base_url}/oauth2/token", data=body).json()["access_token"]
        theirs = {"Authorization": f"Bearer {token}"}
        twin = f"{server.base_url}/twins/AHU-1"
        time.sleep(window - time.time() % window + 0.01)  # windows are aligned to the epoch: start one afresh
        assert [http.get(twin, headers=mine).status_code for _ in range(4)] == [200, 200, 200, 429]
        refused = http.get(twin, headers=mine)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/plain")
        assert "retry-after" not in refused.headers
        assert refused.text.startswith("Rate limit exceeded for twins endpoint")
        assert http.get(f"{server.base_url}/time-series/PNT-AHU-1-SAT/latest", headers=mine).status_code == 200
        assert http.get(twin, headers=theirs).status_code == 200  # counted per client
        assert http.get(f"{server.base_url}/models", headers=mine).status_code == 200  # not limited
        time.sleep(window - time.time() % window + 0.01)
        assert http.get(twin, headers=mine).status_code == 200  # the next window
        assert server.app.stats.rate_limited == 2
        assert server.app.stats.status_429 == 2
