"""Benchmarks: willow_ext against raw httpx doing the same HTTP work, side by side in one run, against
the local server in its own process on loopback. Writes bench/RESULTS.md.

Run with ``scripts/bench`` (``--quick`` for a smaller, faster pass). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from willow_ext import AsyncWillowClient, WillowClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass
class Figure:
    name: str
    willow: float
    raw: float
    unit: str
    target: float  # the largest acceptable willow/raw ratio (or absolute value when raw is 0)
    lower_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.willow / self.raw if self.raw else float("nan")

    @property
    def met(self) -> bool:
        if not self.raw:
            return self.willow <= self.target
        return self.ratio <= self.target if self.lower_is_better else self.ratio >= self.target


@contextmanager
def server(insight_roots: int) -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.server", "--insight-roots", str(insight_roots)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        process.stdout.close()


def raw_token(http: httpx.Client, kwargs: dict[str, Any]) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": kwargs["client_id"],
        "client_secret": kwargs["client_secret"],
    }
    http.headers["Authorization"] = "Bearer " + http.post("/oauth2/token", data=body).json()["access_token"]


def per_call(
    rounds: int, block: int, raw_call: Callable[[], Any], willow_call: Callable[[], Any]
) -> tuple[float, float]:
    """Median seconds per call, alternating blocks of raw and willow calls to cancel drift."""
    raw_times: list[float] = []
    willow_times: list[float] = []
    for _ in range(block):  # warm up both paths
        raw_call()
        willow_call()
    for _ in range(rounds):
        for call, sink in ((raw_call, raw_times), (willow_call, willow_times)):
            for _ in range(block):
                started = time.perf_counter()
                call()
                sink.append(time.perf_counter() - started)
    return statistics.median(willow_times), statistics.median(raw_times)


async def per_call_async(
    rounds: int, block: int, raw_call: Callable[[], Any], willow_call: Callable[[], Any]
) -> tuple[float, float]:
    raw_times: list[float] = []
    willow_times: list[float] = []
    for _ in range(block):
        await raw_call()
        await willow_call()
    for _ in range(rounds):
        for call, sink in ((raw_call, raw_times), (willow_call, willow_times)):
            for _ in range(block):
                started = time.perf_counter()
                await call()
                sink.append(time.perf_counter() - started)
    return statistics.median(willow_times), statistics.median(raw_times)


#: The generated operations send the spec's default explicitly; the raw side sends the same request.
NO_RELATIONSHIPS = {"includeRelationships": "false"}
IDS = [f"BLDG-1-L0{level}-R0{room}" for level in (1, 2, 3) for room in (1, 2, 3, 4)] + ["AHU-1", "AHU-2"]


def overhead_figures(kwargs: dict[str, Any], rounds: int, block: int) -> list[Figure]:
    figures = []
    with WillowClient(**kwargs) as client, httpx.Client(base_url=kwargs["base_url"], timeout=30) as http:
        raw_token(http, kwargs)
        w, r = per_call(
            rounds,
            block,
            lambda: http.get("/twins/AHU-1", params=NO_RELATIONSHIPS).json(),
            lambda: client.twins.get("AHU-1"),
        )
        figures.append(Figure("GET /twins/{id}, sync, median per call", w * 1e3, r * 1e3, "ms", 1.10))
        w, r = per_call(
            rounds,
            block,
            lambda: http.post("/twins/ids", json=IDS, params=NO_RELATIONSHIPS).json(),
            lambda: client.twins.get_by_ids(IDS),
        )
        figures.append(Figure("POST /twins/ids (14 ids), sync, median per call", w * 1e3, r * 1e3, "ms", 1.10))

    async def run_async() -> list[Figure]:
        out = []
        async with AsyncWillowClient(**kwargs) as client, httpx.AsyncClient(base_url=kwargs["base_url"]) as http:
            body = {
                "grant_type": "client_credentials",
                "client_id": kwargs["client_id"],
                "client_secret": kwargs["client_secret"],
            }
            http.headers["Authorization"] = (
                "Bearer " + (await http.post("/oauth2/token", data=body)).json()["access_token"]
            )

            async def raw_get() -> Any:
                return (await http.get("/twins/AHU-1", params=NO_RELATIONSHIPS)).json()

            async def raw_ids() -> Any:
                return (await http.post("/twins/ids", json=IDS, params=NO_RELATIONSHIPS)).json()

            w, r = await per_call_async(rounds, block, raw_get, lambda: client.twins.get("AHU-1"))
            out.append(Figure("GET /twins/{id}, async, median per call", w * 1e3, r * 1e3, "ms", 1.10))
            w, r = await per_call_async(rounds, block, raw_ids, lambda: client.twins.get_by_ids(IDS))
            out.append(Figure("POST /twins/ids (14 ids), async, median per call", w * 1e3, r * 1e3, "ms", 1.10))
        return out

    return figures + asyncio.run(run_async())


def insight_figure(kwargs: dict[str, Any], repeats: int, roots: int) -> Figure:
    def raw_trees(http: httpx.Client) -> int:
        """The paging loop a user would write: pages of roots, children grouped under them."""
        count, page = 0, 1
        while True:
            body = http.post("/insights", json={"page": page, "pageSize": 1000}).json()
            trees: dict[str, list[dict[str, Any]]] = {}
            for item in body["items"] or []:
                if item.get("scenarioId") is None:
                    trees.setdefault(item["id"], [])
                else:
                    trees.setdefault(item["scenarioId"], []).append(item)
            count += sum(1 + len(kids) for kids in trees.values())
            if not body["items"] or body["after"] <= 0:
                return count
            page += 1

    raw_times, willow_times = [], []
    with WillowClient(**kwargs) as client, httpx.Client(base_url=kwargs["base_url"], timeout=60) as http:
        raw_token(http, kwargs)
        for _ in range(repeats):
            started = time.perf_counter()
            raw_count = raw_trees(http)
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            willow_count = sum(1 + len(tree.children) for tree in client.insights.iter_trees(page_size=1000))
            willow_times.append(time.perf_counter() - started)
    assert raw_count == willow_count, (raw_count, willow_count)
    return Figure(
        f"insight trees, {roots:,} roots + children ({willow_count:,} insights), full pass",
        statistics.median(willow_times),
        statistics.median(raw_times),
        "s",
        1.15,
    )


def ingest_run(kwargs: dict[str, Any], mode: str, count: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.ingest_worker", mode, "--server", json.dumps(kwargs), "--points", str(count)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    parsed: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def ingest_figures(kwargs: dict[str, Any], big: int, small: int) -> list[Figure]:
    raw = ingest_run(kwargs, "raw", big)
    willow = ingest_run(kwargs, "willow", big)
    willow_small = ingest_run(kwargs, "willow", small)
    raw_small = ingest_run(kwargs, "raw", small)
    return [
        Figure(
            f"ingest {big:,} points (batches of 1000, 4 in flight), throughput",
            big / willow["seconds"],
            big / raw["seconds"],
            "points/s",
            0.90,
            lower_is_better=False,
        ),
        Figure(
            f"ingest peak RSS, {big:,} vs {small:,} points (willow)",
            willow["peak_rss_mib"],
            willow_small["peak_rss_mib"],
            "MiB",
            1.10,
            note="ratio of peaks: flat means ~1.0",
        ),
        Figure(
            f"ingest peak RSS at {big:,} points, willow vs raw httpx",
            willow["peak_rss_mib"],
            raw["peak_rss_mib"],
            "MiB",
            2.0,
            note=f"raw at {small:,}: {raw_small['peak_rss_mib']:.0f} MiB",
        ),
    ]


def import_figure(repeats: int) -> Figure:
    def timed(code: str) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    baseline = timed("pass")
    cold = timed("import willow_ext")
    return Figure(
        "`import willow_ext` cold (interpreter start subtracted)",
        (cold - baseline) * 1e3,
        0.0,
        "ms",
        300.0,
        note=f"interpreter start {baseline * 1e3:.0f} ms",
    )


def write_results(figures: list[Figure], seconds: float, args: argparse.Namespace) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `scripts/bench{' --quick' if args.quick else ''}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
        f"in {seconds:.0f} s. Each figure was measured side by side with raw httpx doing the same HTTP work in "
        "the same run, against the local Willow server (separate process, spec validation off) on loopback.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; httpx {version('httpx')}; willow-api {version('willow-api')}; "
        f"openapi-python-client {version('openapi-python-client')}.",
        "",
        "| figure | willow_ext | raw httpx | ratio | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for f in figures:
        raw = f"{f.raw:,.3f} {f.unit}" if f.raw else "—"
        ratio = f"{f.ratio:.3f}" if f.raw else "—"
        target = (
            (f"ratio ≤ {f.target:.2f}" if f.lower_is_better else f"ratio ≥ {f.target:.2f}")
            if f.raw
            else (f"≤ {f.target:.0f} {f.unit}")
        )
        note = f" ({f.note})" if f.note else ""
        lines.append(
            f"| {f.name}{note} | {f.willow:,.3f} {f.unit} | {raw} | {ratio} | {target} | "
            f"{'yes' if f.met else '**no**'} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    args = parser.parse_args()
    roots = 1_000 if args.quick else 10_000
    big, small = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    started = time.perf_counter()
    figures: list[Figure] = []
    with server(insight_roots=roots) as kwargs:
        figures += overhead_figures(kwargs, rounds=5 if args.quick else 10, block=100 if args.quick else 200)
        figures.append(insight_figure(kwargs, repeats=2 if args.quick else 3, roots=roots))
        figures += ingest_figures(kwargs, big, small)
    figures.append(import_figure(repeats=5 if args.quick else 9))
    print(write_results(figures, time.perf_counter() - started, args))


if __name__ == "__main__":
    main()
