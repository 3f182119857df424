"""One ingest run in a fresh process, so its peak RSS and CPU are its own. Prints a JSON result line.

Everything the run needs is imported before the clock starts (raw mode never imports willow_ext,
so its RSS stays the raw baseline).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx

BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TWINS = 100


def points(count: int) -> Iterator[dict[str, Any]]:
    for index in range(count):
        yield {
            "connectorId": "CON-BENCH",
            "dtId": f"PNT-BENCH-{index % TWINS}",
            "scalarValue": index * 0.5,
            "sourceTimestamp": (BASE + dt.timedelta(seconds=index // TWINS)).isoformat(),
        }


def raw(kwargs: dict[str, Any], count: int, batch: int, concurrency: int) -> int:
    """What a careful user would write with httpx alone: token, batches, a bounded thread pool."""
    base = kwargs["base_url"]
    with httpx.Client(base_url=base, timeout=60) as http:
        token = http.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": kwargs["client_id"],
                "client_secret": kwargs["client_secret"],
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        sent = 0
        in_flight: dict[Any, int] = {}
        chunk: list[dict[str, Any]] = []

        def post(body: list[dict[str, Any]]) -> None:
            http.post("/time-series", json=body).raise_for_status()

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for point in points(count):
                chunk.append(point)
                if len(chunk) == batch:
                    if len(in_flight) >= concurrency:
                        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                            sent += in_flight.pop(future)
                    in_flight[pool.submit(post, chunk)] = len(chunk)
                    chunk = []
            if chunk:
                in_flight[pool.submit(post, chunk)] = len(chunk)
            for future in wait(in_flight).done:
                future.result()
                sent += in_flight[future]
    return sent


def willow_runner() -> Callable[[dict[str, Any], int, int, int], int]:
    from willow_ext import ThrottlePolicy, WillowClient, ingest  # imported here, before the clock starts

    def run(kwargs: dict[str, Any], count: int, batch: int, concurrency: int) -> int:
        # The replaying server has no rate limit, and raw httpx does not throttle either.
        with WillowClient(**kwargs, throttle=ThrottlePolicy.disabled()) as client:
            report = ingest(client, points(count), batch_size=batch, concurrency=concurrency)
        assert report.ok, str(report)
        return report.sent

    return run


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["raw", "willow"])
    parser.add_argument("--server", required=True, help="JSON client kwargs")
    parser.add_argument("--points", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    kwargs = json.loads(args.server)
    run = raw if args.mode == "raw" else willow_runner()
    cpu = cpu_seconds()
    started = time.perf_counter()
    sent = run(kwargs, args.points, args.batch, args.concurrency)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    print(json.dumps({"sent": sent, "seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process's own peak RSS. Not ru_maxrss: on Linux that survives exec and reports the
    parent's peak at fork time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()
