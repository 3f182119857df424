"""Bulk jobs at the rate-limit ceiling: ``get_twins``, ``ingest`` and ``export_to_files`` with default
client settings against a local Willow enforcing a (scaled) fixed window, in one process or split
across several processes sharing the throttle through a SQLite file or Redis.

    python -m bench.ceiling_jobs [--limit 20] [--window 1] [--quick] [--out bench/CEILING.md]

Writes ``bench/CEILING.md``. For every run it reports the requests the server counted, the job's
seconds (all of it, and its request phase: start to the last response, after which export still sorts
and writes its file), ``rate ÷ ceiling`` over the request phase (see ``ceiling_ratio``), the 429s
the server answered, the most 429s in one server window, and the items lost or duplicated, checked
against the server's store and the job's own report.

The server runs in this process; each job runs in N worker processes (``python -m
bench.ceiling_jobs --worker``, one share each, the throttle in memory for N = 1) that use one
credential, so the server counts them in one window. Server and client are apart, as in real use:
in one process they would share one interpreter lock and each request's CPU would count twice.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["JobResult", "JobSize", "redis_server", "run_job"]

JOBS = ("get_twins", "ingest", "export")
DAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
MODEL = "dtmi:com:willowinc:Room;1"
SECRET_ENV = "WILLOW_CEILING_SECRET"  # noqa: S105 - the name of a variable, not a secret


@dataclass(frozen=True)
class JobSize:
    """How big each job is: ids for ``get_twins`` (``unknown`` of them not on the server), points for
    ``ingest``, twins × one day of ``points_per_day`` for ``export``."""

    twin_ids: int = 20_000
    unknown: int = 2
    points: int = 100_000
    export_twins: int = 50
    points_per_day: int = 1440  # 1-minute data


@dataclass(frozen=True)
class JobResult:
    job: str
    processes: int
    backend: str
    mode: str
    limit: int
    window: float
    requests: int
    #: The whole job, and its request phase (to the last response; export then writes its file).
    seconds: float
    request_seconds: float
    ratio: float
    status_429: int
    max_429_per_window: int
    max_per_window: int
    expected: int
    delivered: int
    lost: int
    duplicated: int

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


# ------------------------------------------------------------------------------ the data


def twin_ids(size: JobSize) -> list[str]:
    """The ids asked for: ``unknown`` of them are not on the server, spread through the list."""
    ids = [f"TW-CEIL-{i}" for i in range(size.twin_ids - size.unknown)]
    for n in range(size.unknown):
        ids.insert((n + 1) * len(ids) // (size.unknown + 1), f"TW-UNKNOWN-{n}")
    return ids


def ingest_points(start: int, stop: int) -> Iterator[dict[str, Any]]:
    """Points ``start`` .. ``stop - 1`` of the ingest job: 100 twins, one point per twin per second,
    so every point has its own (twin, timestamp) and the store's count shows loss."""
    for index in range(start, stop):
        yield {
            "connectorId": "CON-CEIL",
            "dtId": f"PNT-ING-{index % 100}",
            "scalarValue": index * 0.5,
            "sourceTimestamp": (DAY + dt.timedelta(seconds=index // 100)).isoformat(),
        }


def export_twins(size: JobSize) -> list[str]:
    return [f"PNT-EXP-{i}" for i in range(size.export_twins)]


def seed(server: Any, job: str, size: JobSize) -> None:
    if job == "get_twins":
        for twin_id in twin_ids(size):
            if not twin_id.startswith("TW-UNKNOWN"):
                server.store.upsert_twin({"id": twin_id, "modelId": MODEL, "contents": {}})
    elif job == "export":
        step = dt.timedelta(days=1) / size.points_per_day
        server.store.ingest(
            [
                {
                    "connectorId": "CON-CEIL",
                    "dtId": twin,
                    "sourceTimestamp": (DAY + n * step).isoformat(),
                    "scalarValue": float(n),
                }
                for twin in export_twins(size)
                for n in range(size.points_per_day)
            ]
        )


def share(items: int, part: int, parts: int) -> tuple[int, int]:
    """Part ``part`` of ``parts`` of ``range(items)`` as (start, stop)."""
    return items * part // parts, items * (part + 1) // parts


# ------------------------------------------------------------------------------ one share of a job


def _client_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    """Default client settings, except the throttle policy scaled to the server's window."""
    from willow_ext import ThrottlePolicy

    kwargs: dict[str, Any] = {
        "base_url": spec["base_url"],
        "client_id": spec["client_id"],
        "client_secret": spec["client_secret"],
        "throttle": ThrottlePolicy(limit=spec["limit"], window=spec["window"]),
    }
    if spec.get("backend"):
        kwargs["throttle_backend"] = spec["backend"]
    return kwargs


def _summary(job: str, outcome: Any, output: Path | None) -> dict[str, Any]:
    if job == "get_twins":
        return {
            "found": list(outcome.found),
            "missing": outcome.missing,
            "failed": outcome.failed_ids,
            "not_sent": outcome.not_sent,
        }
    if job == "ingest":
        return {"sent": outcome.sent, "failed": outcome.failed, "unsent": outcome.unsent}
    assert output is not None
    return {"ok": outcome.ok, "points": outcome.points, "failures": len(outcome.failures), "output": str(output)}


def _run_sync(spec: dict[str, Any], size: JobSize, output: Path | None, progress: Any) -> Any:
    from willow_ext import WillowClient, export_to_files, get_twins, ingest

    job, (start, stop) = spec["job"], spec["share"]
    with WillowClient(**_client_kwargs(spec)) as client:
        if job == "get_twins":
            return get_twins(client, twin_ids(size)[start:stop], progress=progress)
        if job == "ingest":
            return ingest(client, ingest_points(start, stop), progress=progress)
        assert output is not None
        end = DAY + dt.timedelta(days=1) - dt.timedelta(seconds=1)
        return export_to_files(client, export_twins(size)[start:stop], DAY, end, output, progress=progress)


async def _run_async(spec: dict[str, Any], size: JobSize, output: Path | None, progress: Any) -> Any:
    from willow_ext import AsyncWillowClient, aexport_to_files, aget_twins, aingest

    job, (start, stop) = spec["job"], spec["share"]
    async with AsyncWillowClient(**_client_kwargs(spec)) as client:
        if job == "get_twins":
            return await aget_twins(client, twin_ids(size)[start:stop], progress=progress)
        if job == "ingest":
            return await aingest(client, ingest_points(start, stop), progress=progress)
        assert output is not None
        end = DAY + dt.timedelta(days=1) - dt.timedelta(seconds=1)
        return await aexport_to_files(client, export_twins(size)[start:stop], DAY, end, output, progress=progress)


def run_share(spec: dict[str, Any]) -> dict[str, Any]:
    """One process's part of a job; returns what it did and when (wall clock, shared by processes)."""
    size = JobSize(**spec["size"])
    output = Path(spec["output"]) if spec["job"] == "export" else None
    time.sleep(max(0.0, spec.get("start_at", 0.0) - time.time()))  # start together, so workers compete
    last_response = [0.0]

    def progress(*_: int) -> None:  # called after each response: the job's last request ends at the last call
        last_response[0] = time.time()

    started = time.time()
    if spec["mode"] == "async":
        outcome = asyncio.run(_run_async(spec, size, output, progress))
    else:
        outcome = _run_sync(spec, size, output, progress)
    finished = time.time()
    summary = _summary(spec["job"], outcome, output)
    return {"started": started, "last_response": last_response[0], "finished": finished, **summary}


# ------------------------------------------------------------------------------ the driver


def ceiling_ratio(requests: int, seconds: float, limit: int, window: float) -> float:
    """Achieved rate ÷ ceiling for ``requests`` whose last response came ``seconds`` after the start.

    The job holds the limiter until its last slot frees, one window after its last response; of
    that last window it used only the slots its last round took, so only that share is counted.
    A client that takes every slot the moment it frees scores 1.0 for any number of requests
    (``bench/ceiling.py`` counts the whole last window, which is the same when ``requests`` is a
    multiple of ``limit``).
    """
    last_round = (requests - 1) % limit + 1
    return requests / (seconds + window * last_round / limit) / (limit / window)


def _accounting(
    job: str, size: JobSize, server: Any, shares: list[dict[str, Any]], baseline: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(expected, delivered, lost, duplicated), from the server's store and the jobs' outputs."""
    if job == "get_twins":
        requested = twin_ids(size)
        known = [i for i in requested if not i.startswith("TW-UNKNOWN")]
        found = [i for s in shares for i in s["found"]]
        missing = [i for s in shares for i in s["missing"]]
        answered = found + missing
        lost = len(set(known) - set(found)) + len(set(requested) - set(answered))
        duplicated = len(answered) - len(set(answered)) + len(set(found) - set(known))
        unaccounted = sum(len(s["failed"]) + len(s["not_sent"]) for s in shares)
        return len(requested), len(set(answered)), lost + unaccounted, duplicated
    if job == "ingest":
        stored = server.store.point_count() - baseline[0]
        received = server.store.points_received - baseline[1]
        sent = sum(s["sent"] for s in shares)
        lost = size.points - stored + sum(s["failed"] + s["unsent"] for s in shares)
        return size.points, stored, lost, max(0, received - size.points) + max(0, sent - size.points)
    expected = size.export_twins * size.points_per_day
    rows: list[tuple[str, str]] = []
    for s in shares:
        with open(s["output"], encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                rows.append((row["twinId"], row["sourceTimestamp"]))
    unique = set(rows)
    failed = sum(0 if s["ok"] else 1 for s in shares)
    return expected, len(unique), expected - len(unique) + failed, len(rows) - len(unique)


def _spawn_workers(specs: list[dict[str, Any]], secret: str) -> list[dict[str, Any]]:
    env = {**os.environ, SECRET_ENV: secret}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.ceiling_jobs", "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for _ in specs
    ]
    for proc, spec in zip(procs, specs, strict=True):  # every worker gets its job before any is waited for
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({k: v for k, v in spec.items() if k != "client_secret"}))
        proc.stdin.close()
    results = []
    for proc, spec in zip(procs, specs, strict=True):
        assert proc.stdout is not None
        with proc.stdout:  # closed here, not left to the garbage collector (a ResourceWarning)
            out = proc.stdout.read()
        if proc.wait(timeout=900) != 0:
            raise RuntimeError(f"worker for {spec['job']} exited with {proc.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def run_job(
    job: str,
    *,
    size: JobSize = JobSize(),
    processes: int = 1,
    backend: str = "memory",
    mode: str = "sync",
    limit: int = 20,
    window: float = 1.0,
    workdir: Path | None = None,
    spawn: bool = True,
) -> JobResult:
    """Run ``job`` against a fresh local server enforcing ``limit`` per ``window`` seconds.

    ``backend``: ``memory`` (one process only), a ``sqlite:///`` URL or a ``redis://`` URL.
    ``spawn``: run the job in worker processes, apart from the server (as a real client is); with
    ``spawn=False`` one process runs the job in this process, beside the server.
    """
    if processes > 1 and not spawn:
        raise ValueError("several processes are always spawned")
    from willow_ext.testing import FaultConfig, LocalWillow

    faults = FaultConfig(rate_limit=True, rate_limit_requests=limit, rate_limit_window=window)
    with (
        tempfile.TemporaryDirectory(dir=workdir) as tmp,
        LocalWillow(faults=faults, validate_requests=False, validate_responses=False) as server,
    ):
        seed(server, job, size)
        baseline = (server.store.point_count(), server.store.points_received)  # the seeded building's
        items = {"get_twins": size.twin_ids, "ingest": size.points, "export": size.export_twins}[job]
        specs = [
            {
                "job": job,
                "mode": mode,
                "size": asdict(size),
                "share": share(items, part, processes),
                "base_url": server.base_url,
                "client_id": server.client_id,
                "client_secret": server.client_secret,
                "limit": limit,
                "window": window,
                "backend": None if backend == "memory" else backend,
                "output": str(Path(tmp) / f"export-{part}.jsonl"),
                "start_at": time.time() + 3.0 if processes > 1 else 0.0,
            }
            for part in range(processes)
        ]
        if backend.startswith("sqlite:///"):
            # Create the file (schema, WAL mode) before the workers start: several processes opening
            # a fresh file at once can fail with "database is locked" (see the README).
            from willow_ext._throttle_backends import backend_from_url

            backend_from_url(backend).close()
        shares = _spawn_workers(specs, server.client_secret) if spawn else [run_share(specs[0])]
        stats = server.app.stats
        hits = [count for (client, _, _), count in stats.window_hits.items() if client == server.client_id]
        expected, delivered, lost, duplicated = _accounting(job, size, server, shares, baseline)
    requests = sum(hits)
    began = min(s["started"] for s in shares)
    seconds = max(s["finished"] for s in shares) - began
    requesting = max(s["last_response"] for s in shares) - began
    return JobResult(
        job=job,
        processes=processes,
        backend=backend.split(":", 1)[0],
        mode=mode,
        limit=limit,
        window=window,
        requests=requests,
        seconds=round(seconds, 2),
        request_seconds=round(requesting, 2),
        ratio=round(ceiling_ratio(requests, requesting, limit, window), 3),
        status_429=stats.status_429,
        max_429_per_window=max((max(0, h - limit) for h in hits), default=0),
        max_per_window=max(hits, default=0),
        expected=expected,
        delivered=delivered,
        lost=lost,
        duplicated=duplicated,
    )


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A redis-server on a free loopback port, stopped on exit; None when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
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


# ------------------------------------------------------------------------------ report


def table(results: list[JobResult]) -> str:
    lines = [
        "| job | processes | backend | requests | seconds (requests / job) | rate ÷ ceiling "
        "| 429s (most in a window) | lost / duplicated |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.job} | {r.processes} | {r.backend} | {r.requests} | {r.request_seconds:.2f} / {r.seconds:.2f} "
            f"| {r.ratio:.3f} "
            f"| {r.status_429} ({r.max_429_per_window}) | {r.lost} / {r.duplicated} of {r.expected:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--quick", action="store_true", help="a tenth of each job")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("CEILING.md"))
    args = parser.parse_args(argv)
    if args.worker:
        spec = json.loads(sys.stdin.read())
        spec["client_secret"] = os.environ[SECRET_ENV]
        print(json.dumps(run_share(spec)))
        return
    size = JobSize(2_000, 2, 10_000, 5) if args.quick else JobSize()
    results: list[JobResult] = []
    with tempfile.TemporaryDirectory() as tmp, redis_server() as redis_url:
        for job in args.jobs.split(","):
            runs: list[tuple[int, str]] = [(1, "memory"), (args.processes, f"sqlite:///{tmp}/{job}.db")]
            if redis_url is not None:
                runs.append((args.processes, redis_url))
            for processes, backend in runs:
                result = run_job(
                    job, size=size, processes=processes, backend=backend, limit=args.limit, window=args.window
                )
                print(json.dumps(asdict(result)), flush=True)
                results.append(result)
    args.out.write_text(_markdown(results, size, args, redis_url is not None), encoding="utf-8")


def _markdown(results: list[JobResult], size: JobSize, args: argparse.Namespace, had_redis: bool) -> str:
    return (
        "# Bulk jobs at the rate-limit ceiling\n\n"
        f"Written by `python -m bench.ceiling_jobs` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} cores, shared).\n\n"
        f"The local server enforces a **scaled** fixed window of {args.limit} requests / {args.window:g} s "
        f"(Willow's is 20 / 10 s, so the real window takes {10 / args.window:g}x as long); the clients use "
        "default settings with the default throttle policy scaled to the same window. Jobs: `get_twins` of "
        f"{size.twin_ids:,} ids ({size.unknown} unknown), `ingest` of {size.points:,} points, "
        f"`export_to_files` of one day of 1-minute data for {size.export_twins} twins. "
        '"rate ÷ ceiling" is requests ÷ (request seconds + the used share of one more window) ÷ '
        "(limit ÷ window): a client taking every slot the moment it frees scores 1.000 (`ceiling_ratio`); "
        "request seconds run from the job's start to its last response (export then sorts and writes "
        "its file). "
        "\"lost / duplicated\" is checked against the server's store and the job's output.\n\n"
        + table(results)
        + ("\n" if had_redis else "\n\nredis-server was not installed: no Redis rows.\n")
    )


if __name__ == "__main__":
    main()
