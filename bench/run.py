"""Benchmarks: willow_ext against raw httpx doing the same HTTP work, side by side in one run.
Writes bench/RESULTS.md.

How it stays honest (issue 14):
- the server (bench/server.py, its own process) replays pre-rendered answers, so it is not the
  bottleneck; its CPU share of each timed region is reported;
- raw and willow runs alternate (blocks of calls, whole passes, whole ingest processes), at least
  5 of each; every figure is a median with its spread (min-max of the runs);
- the client's own CPU time per item (``time.process_time`` / ``getrusage`` of the client process)
  is reported next to each wall-clock ratio;
- imports happen before any clock starts; each ingest run is a fresh process against a fresh server.

Run with ``scripts/bench`` (``--quick`` for a smaller, noisier pass). Not part of the test suite.
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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from willow_ext import AsyncWillowClient, ThrottlePolicy, WillowClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    """One side's runs: wall seconds per item, client CPU seconds per item, server CPU per item."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    extra: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float, server: float, items: int) -> None:
        self.wall.append(wall / items)
        self.cpu.append(cpu / items)
        self.server.append(server / items)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def server_share(self) -> float:
        return statistics.median(self.server) / self.median


@dataclass
class Figure:
    name: str
    willow: Side
    raw: Side
    scale: float  # wall and CPU per item are shown multiplied by this, in ``unit``
    unit: str
    target: float  # wall ratio target
    higher_is_better: bool = False  # throughput: the ratio is raw time / willow time
    cpu_target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        # For throughput the ratio is willow/raw items per second, i.e. raw time over willow time.
        if self.higher_is_better:
            return self.raw.median / self.willow.median
        return self.willow.median / self.raw.median

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(self.willow.cpu) / statistics.median(self.raw.cpu)

    @property
    def met(self) -> bool:
        wall_ok = self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target
        return wall_ok and (self.cpu_target is None or self.cpu_ratio <= self.cpu_target)


def server_cpu(pid: int) -> float:
    """CPU seconds the server process has used so far (utime + stime, /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def server(insight_roots: int = 0) -> Iterator[dict[str, Any]]:
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
        process.wait(timeout=60)
        process.stdout.close()


def client_kwargs(info: dict[str, Any]) -> dict[str, Any]:
    return {key: info[key] for key in ("base_url", "client_id", "client_secret")}


#: The replaying server has no rate limit and raw httpx does not throttle, so the headline figures
#: turn the client's throttle off. The "throttle on" row measures its bookkeeping when it never
#: waits: Willow's 20-request limit, but a 1 ms window, so as few slots are live as in real use.
NO_THROTTLE = ThrottlePolicy.disabled()
NEVER_WAITING_THROTTLE = ThrottlePolicy(limit=20, window=0.001)


def server_stats(info: dict[str, Any]) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(info["base_url"].removesuffix("/api/v3") + "/__bench_stats").json()
    return stats


def raw_token(http: httpx.Client, kwargs: dict[str, Any]) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": kwargs["client_id"],
        "client_secret": kwargs["client_secret"],
    }
    http.headers["Authorization"] = "Bearer " + http.post("/oauth2/token", data=body).json()["access_token"]


def per_call(
    pid: int, rounds: int, block: int, raw_call: Callable[[], Any], willow_call: Callable[[], Any]
) -> tuple[Side, Side]:
    """Alternating blocks of raw and willow calls (cancels drift); each block is one run."""
    raw, willow = Side(), Side()
    for _ in range(block):  # warm up both paths (and fill the server's replay cache)
        raw_call()
        willow_call()
    for _ in range(rounds):
        for call, side in ((raw_call, raw), (willow_call, willow)):
            times = []
            cpu, srv = time.process_time(), server_cpu(pid)
            for _ in range(block):
                started = time.perf_counter()
                call()
                times.append(time.perf_counter() - started)
            side.add(statistics.median(times) * block, time.process_time() - cpu, server_cpu(pid) - srv, block)
    return willow, raw


async def per_call_async(
    pid: int,
    rounds: int,
    block: int,
    raw_call: Callable[[], Awaitable[Any]],
    willow_call: Callable[[], Awaitable[Any]],
) -> tuple[Side, Side]:
    raw, willow = Side(), Side()
    for _ in range(block):
        await raw_call()
        await willow_call()
    for _ in range(rounds):
        for call, side in ((raw_call, raw), (willow_call, willow)):
            times = []
            cpu, srv = time.process_time(), server_cpu(pid)
            for _ in range(block):
                started = time.perf_counter()
                await call()
                times.append(time.perf_counter() - started)
            side.add(statistics.median(times) * block, time.process_time() - cpu, server_cpu(pid) - srv, block)
    return willow, raw


#: The generated operations send the spec's default explicitly; the raw side sends the same request.
NO_RELATIONSHIPS = {"includeRelationships": "false"}
IDS = [f"BLDG-1-L0{level}-R0{room}" for level in (1, 2, 3) for room in (1, 2, 3, 4)] + ["AHU-1", "AHU-2"]


def overhead_figures(info: dict[str, Any], rounds: int, block: int) -> list[Figure]:
    kwargs, pid = client_kwargs(info), info["pid"]
    figures = []
    with (
        WillowClient(**kwargs, throttle=NO_THROTTLE) as client,
        WillowClient(**kwargs, throttle=NEVER_WAITING_THROTTLE) as throttled,
        httpx.Client(base_url=kwargs["base_url"], timeout=30) as http,
    ):
        raw_token(http, kwargs)
        w, r = per_call(
            pid,
            rounds,
            block,
            lambda: http.get("/twins/AHU-1", params=NO_RELATIONSHIPS).json(),
            lambda: client.twins.get("AHU-1"),
        )
        figures.append(Figure("GET /twins/{id}, sync, per call", w, r, 1e3, "ms", 1.05))
        w, r = per_call(
            pid,
            rounds,
            block,
            lambda: http.post("/twins/ids", json=IDS, params=NO_RELATIONSHIPS).json(),
            lambda: client.twins.get_by_ids(IDS),
        )
        figures.append(Figure("POST /twins/ids (14 ids), sync, per call", w, r, 1e3, "ms", 1.05))
        w, r = per_call(
            pid,
            rounds,
            block,
            lambda: http.get("/twins/AHU-1", params=NO_RELATIONSHIPS).json(),
            lambda: throttled.twins.get("AHU-1"),
        )
        name = "GET /twins/{id}, sync, throttle on (20 per 1 ms: never waits), per call"
        figures.append(Figure(name, w, r, 1e3, "ms", 1.05))

    async def run_async() -> list[Figure]:
        out = []
        async with (
            AsyncWillowClient(**kwargs, throttle=NO_THROTTLE) as client,
            httpx.AsyncClient(base_url=kwargs["base_url"]) as http,
        ):
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

            w, r = await per_call_async(pid, rounds, block, raw_get, lambda: client.twins.get("AHU-1"))
            out.append(Figure("GET /twins/{id}, async, per call", w, r, 1e3, "ms", 1.05))
            w, r = await per_call_async(pid, rounds, block, raw_ids, lambda: client.twins.get_by_ids(IDS))
            out.append(Figure("POST /twins/ids (14 ids), async, per call", w, r, 1e3, "ms", 1.05))
        return out

    return figures + asyncio.run(run_async())


def insight_figure(info: dict[str, Any], repeats: int, roots: int) -> Figure:
    kwargs, pid = client_kwargs(info), info["pid"]

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

    raw, willow = Side(), Side()
    with (
        WillowClient(**kwargs, throttle=NO_THROTTLE) as client,
        httpx.Client(base_url=kwargs["base_url"], timeout=120) as http,
    ):
        raw_token(http, kwargs)

        def raw_pass() -> int:
            return raw_trees(http)

        def willow_trees() -> int:
            return sum(1 + len(tree.children) for tree in client.insights.iter_trees(page_size=1000))

        counts = {raw_trees(http), willow_trees()}  # warm-up: fills the server's replay cache
        assert len(counts) == 1, counts
        (count,) = counts
        misses = server_stats(info)["misses"]
        for _ in range(repeats):
            for run, side in ((raw_pass, raw), (willow_trees, willow)):
                cpu, srv, started = time.process_time(), server_cpu(pid), time.perf_counter()
                assert run() == count
                side.add(time.perf_counter() - started, time.process_time() - cpu, server_cpu(pid) - srv, count)
        assert server_stats(info)["misses"] == misses, "a timed request was not a replay"
    return Figure(
        f"insight trees, {roots:,} roots + children ({count:,} insights), per insight",
        willow,
        raw,
        1e6,
        "µs",
        1.15,
        cpu_target=2.0,
    )


def ingest_run(mode: str, count: int) -> dict[str, float]:
    """A fresh server and a fresh worker process for each run."""
    with server() as info:
        started = server_cpu(info["pid"])
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.ingest_worker",
                mode,
                "--server",
                json.dumps(client_kwargs(info)),
                "--points",
                str(count),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        parsed: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
        parsed["server_cpu_seconds"] = server_cpu(info["pid"]) - started
        received = server_stats(info)["points"]
    assert parsed["sent"] == count == received, (parsed, count, received)
    return parsed


def ingest_figures(big: int, small: int, repeats: int) -> list[Figure]:
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    for size in (big, small):
        for _ in range(repeats):
            for mode in ("raw", "willow"):
                runs.setdefault((mode, size), []).append(ingest_run(mode, size))

    def side(mode: str, size: int) -> Side:
        out = Side()
        for run in runs[(mode, size)]:
            out.add(run["seconds"], run["cpu_seconds"], run["server_cpu_seconds"], size)
            out.extra.append(run["peak_rss_mib"])
        return out

    def rss(mode: str, size: int) -> Side:
        out = Side()
        for run in runs[(mode, size)]:
            out.add(run["peak_rss_mib"], float("nan"), float("nan"), 1)
        return out

    willow_big, raw_big = side("willow", big), side("raw", big)
    return [
        Figure(
            f"ingest {big:,} points (batches of 1000, 4 in flight), per point (ratio: throughput)",
            willow_big,
            raw_big,
            1e6,
            "µs",
            1.0,
            higher_is_better=True,
        ),
        Figure(
            f"ingest peak RSS, willow at {big:,} vs willow at {small:,} points",
            rss("willow", big),
            rss("willow", small),
            1.0,
            "MiB",
            1.10,
            note=f"raw httpx: {statistics.median(rss('raw', big).wall):.0f} MiB at {big:,}, "
            f"{statistics.median(rss('raw', small).wall):.0f} MiB at {small:,}",
        ),
    ]


IMPORTS = {
    "import willow_ext": "import willow_ext",
    "from willow_ext import WillowClient, ingest (first real use)": "from willow_ext import WillowClient, ingest",
    # httpx imports its CLI (rich, click, pygments) whenever those are installed, as they are here
    # through the `cli` extra; a base install lacks them. Blocking them reproduces that install.
    "from willow_ext import WillowClient, ingest, base install (no rich/click)": (
        "import sys; sys.modules['click'] = sys.modules['rich'] = None  # type: ignore\n"
        "from willow_ext import WillowClient, ingest"
    ),
    "import httpx (the dependency alone, for scale)": "import httpx",
}
_TIMED_IMPORT = (
    "import time, json\n"
    "w, c = time.perf_counter(), time.process_time()\n"
    "{code}\n"
    "print(json.dumps([time.perf_counter() - w, time.process_time() - c]))\n"
)


def import_rows(repeats: int) -> list[str]:
    """Each import timed inside a fresh interpreter (start-up excluded), cold but with .pyc files."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in IMPORTS}
    for _ in range(repeats):
        for name, code in IMPORTS.items():  # alternate, so load changes hit all three alike
            out = subprocess.run(
                [sys.executable, "-c", _TIMED_IMPORT.format(code=code)],
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
            ).stdout
            wall, cpu = json.loads(out)
            samples[name].append((wall * 1e3, cpu * 1e3))
    rows = []
    for name, pairs in samples.items():
        walls = [w for w, _ in pairs]
        cpus = [c for _, c in pairs]
        target = "≤ 200 ms (min, idle proxy)" if name.startswith(("import willow_ext", "from willow_ext")) else "—"
        met = ("yes" if min(walls) <= 200 else "**no**") if target != "—" else "—"
        rows.append(
            f"| `{name}` | {statistics.median(walls):.0f} ms ({min(walls):.0f}–{max(walls):.0f}) | "
            f"{statistics.median(cpus):.0f} ms | {target} | {met} |"
        )
    return rows


def _spread(values: list[float], scale: float) -> str:
    return f"{statistics.median(values) * scale:,.1f} ({min(values) * scale:,.1f}–{max(values) * scale:,.1f})"


def figure_row(f: Figure) -> str:
    if f.unit == "MiB":
        return (
            f"| {f.name} ({f.note}) | {_spread(f.willow.wall, 1)} MiB | {_spread(f.raw.wall, 1)} MiB | "
            f"{f.ratio:.3f} | — | — | — | ratio ≤ {f.target:.2f} | {'yes' if f.met else '**no**'} |"
        )
    cpu_w = statistics.median(f.willow.cpu) * f.scale
    cpu_r = statistics.median(f.raw.cpu) * f.scale
    target = f"ratio {'≥' if f.higher_is_better else '≤'} {f.target:.2f}"
    if f.cpu_target is not None:
        target += f", CPU ratio ≤ {f.cpu_target:.1f}"
    return (
        f"| {f.name} | {_spread(f.willow.wall, f.scale)} {f.unit} | {_spread(f.raw.wall, f.scale)} {f.unit} | "
        f"{f.ratio:.3f} | {cpu_w:,.1f} / {cpu_r:,.1f} {f.unit} | {f.cpu_ratio:.2f} | "
        f"{f.willow.server_share:.0%} / {f.raw.server_share:.0%} | {target} | {'yes' if f.met else '**no**'} |"
    )


def write_results(
    figures: list[Figure], imports: list[str], seconds: float, args: argparse.Namespace, load: tuple[str, str]
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `scripts/bench{' --quick' if args.quick else ''}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
        f"in {seconds:.0f} s. willow_ext and raw httpx do the same HTTP work in the same run against "
        "`bench/server.py` on loopback (its own process, replaying pre-rendered answers of the local Willow; "
        "ingest: a fresh server per run that counts points and stores none).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; httpx {version('httpx')}; orjson {version('orjson')}; "
        f"willow-api {version('willow-api')}; openapi-python-client {version('openapi-python-client')}. "
        f"Load average (1, 5, 15 min; `uptime`) at start {load[0]}, at end {load[1]} (other work shares the cores).",
        "",
        "Each side is a median over alternated runs (raw, willow, raw, willow, …) with the spread of "
        "the runs (min–max) in brackets. Wall and client CPU are per item (call, insight or point). "
        "*server share*: the server's CPU time as a fraction of the wall time of the same runs "
        "(willow / raw); a small share means the figure measures the client.",
        "",
        "| figure | willow_ext wall | raw httpx wall | wall ratio | client CPU willow / raw | CPU ratio | "
        "server share | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    lines += [figure_row(f) for f in figures]
    lines += [
        "",
        "Import time, each in a fresh interpreter (start-up excluded, `.pyc` present), alternated, "
        f"{args.import_repeats} runs: median (min–max) wall, median CPU. On a loaded machine the minimum is the best "
        "proxy for an idle one.",
        "",
        "| import | wall | CPU | target | met |",
        "| --- | ---: | ---: | --- | --- |",
        *imports,
    ]
    text = "\n".join(lines) + "\n"
    path = HERE / "RESULTS.md"
    # A hand-written reading of a run (profiles, misses) follows ANALYSIS_MARKER; a new run keeps
    # it, so it can be revised against the new figures instead of silently lost.
    previous = path.read_text() if path.exists() else ""
    if ANALYSIS_MARKER in previous:
        text += "\n" + previous[previous.index(ANALYSIS_MARKER) :]
    path.write_text(text)
    return text


ANALYSIS_MARKER = "<!-- analysis: written by hand, kept by bench/run.py -->"


def load_average() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run; noisier)")
    args = parser.parse_args()
    roots = 1_000 if args.quick else 10_000
    big, small = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    repeats = 5  # runs per side for every figure (the issue asks for at least 5)
    args.import_repeats = 9 if args.quick else 15
    load_start = load_average()
    started = time.perf_counter()
    figures: list[Figure] = []
    with server(insight_roots=roots) as info:
        figures += overhead_figures(info, rounds=repeats, block=100 if args.quick else 300)
        figures.append(insight_figure(info, repeats=repeats, roots=roots))
    figures += ingest_figures(big, small, repeats)
    imports = import_rows(args.import_repeats)
    text = write_results(figures, imports, time.perf_counter() - started, args, (load_start, load_average()))
    print(text)


if __name__ == "__main__":
    main()
