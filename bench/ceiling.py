"""How close a throttled client gets to the rate-limit ceiling, and whether it ever goes over.

    python -m bench.ceiling --requests 200 --limit 20 --window 1 --concurrency 4 [--async]

Sends N ``GET /twins/{id}`` through an httpx client on a ``ThrottleTransport`` against a local
Willow that enforces a scaled fixed window (LIMIT requests per WINDOW seconds, aligned to the
epoch, 429 beyond it), and reports:

- ``ratio``: achieved rate ÷ ceiling, where the job's time runs from the first request to one
  window after the last response (when its slot frees). A client using every slot the moment it
  frees scores 1.0 whatever N is; plain N ÷ elapsed would flatter short jobs with a free first burst.
- ``raw_ratio``: N ÷ (first request to last response) ÷ ceiling, for comparison.
- ``rate_limited``: 429s the server answered; ``max_per_window``: the most requests the server saw
  in one of its windows (never above LIMIT for a correct throttle).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from dataclasses import asdict, dataclass

import httpx

from willow_ext import AsyncThrottleTransport, ThrottleTransport
from willow_ext._throttle import ThrottlePolicy
from willow_ext.testing import FaultConfig, LocalWillow

__all__ = ["CeilingResult", "measure_ceiling"]

TWIN = "AHU-1"


@dataclass(frozen=True)
class CeilingResult:
    requests: int
    limit: int
    window: float
    seconds: float
    ratio: float
    raw_ratio: float
    rate_limited: int
    max_per_window: int


def _token(server: LocalWillow) -> dict[str, str]:
    body = httpx.post(
        f"{server.base_url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret},
    ).json()
    return {"Authorization": f"Bearer {body['access_token']}"}


def _run_sync(server: LocalWillow, policy: ThrottlePolicy, requests: int, concurrency: int) -> list[int]:
    transport = ThrottleTransport(
        httpx.HTTPTransport(), base_url=server.base_url, client_id=server.client_id, policy=policy
    )
    statuses: list[int] = []
    remaining = iter(range(requests))
    lock = threading.Lock()
    with httpx.Client(transport=transport, headers=_token(server), timeout=60) as client:

        def work() -> None:
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                statuses.append(client.get(f"{server.base_url}/twins/{TWIN}").status_code)

        threads = [threading.Thread(target=work) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return statuses


async def _run_async(server: LocalWillow, policy: ThrottlePolicy, requests: int, concurrency: int) -> list[int]:
    transport = AsyncThrottleTransport(
        httpx.AsyncHTTPTransport(), base_url=server.base_url, client_id=server.client_id, policy=policy
    )
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=transport, headers=_token(server), timeout=60) as client:

        async def one() -> int:
            async with gate:
                return (await client.get(f"{server.base_url}/twins/{TWIN}")).status_code

        return list(await asyncio.gather(*(one() for _ in range(requests))))


def measure_ceiling(
    requests: int = 200, *, limit: int = 20, window: float = 1.0, concurrency: int = 4, use_async: bool = False
) -> CeilingResult:
    """Run the job against a fresh local server enforcing ``limit`` per ``window`` seconds."""
    policy = ThrottlePolicy(limit=limit, window=window)
    faults = FaultConfig(rate_limit=True, rate_limit_requests=limit, rate_limit_window=window)
    with LocalWillow(faults=faults, validate_requests=False, validate_responses=False) as server:
        started = time.monotonic()
        if use_async:
            statuses = asyncio.run(_run_async(server, policy, requests, concurrency))
        else:
            statuses = _run_sync(server, policy, requests, concurrency)
        seconds = time.monotonic() - started
        stats = server.app.stats
    if len(statuses) != requests or any(s not in (200, 429) for s in statuses):
        raise RuntimeError(f"unexpected answers: {sorted(set(statuses))}")
    ceiling = limit / window
    return CeilingResult(
        requests=requests,
        limit=limit,
        window=window,
        seconds=round(seconds, 3),
        ratio=round(requests / (seconds + window) / ceiling, 3),
        raw_ratio=round(requests / seconds / ceiling, 3),
        rate_limited=stats.rate_limited,
        max_per_window=max(stats.window_hits.values(), default=0),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--async", dest="use_async", action="store_true")
    args = parser.parse_args(argv)
    result = measure_ceiling(
        args.requests, limit=args.limit, window=args.window, concurrency=args.concurrency, use_async=args.use_async
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
