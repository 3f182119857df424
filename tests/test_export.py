"""Resumable export to files against the local server: planning, formats, partitions, checkpoints
(an in-process interruption, an expired token, a SIGKILL'd subprocess) and the optional extras."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST_RETRY
from tests.dual import AsyncAsSync
from willow_ext import (
    AuthenticationError,
    ExportReport,
    InvalidRequestError,
    WillowClient,
    aexport_to_files,
    export_to_files,
    partial_result,
    plan_export,
    to_arrow,
    to_pandas,
)
from willow_ext._export_plan import day_windows, group_size, requests_for
from willow_ext.testing import LocalWillow

BASE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
TWINS = [f"PNT-EXP-{i}" for i in range(5)]
DAYS = 3
STEP = dt.timedelta(minutes=20)  # 72 points per twin per day: scaled-down 1-minute data


def seed(willow: LocalWillow, twins: list[str] = TWINS) -> int:
    """Points every 20 minutes over three days (both ends included), newest first so the server's
    order differs from the output's; one twin has a gap day."""
    rows = []
    for t, twin in enumerate(twins):
        for step in range(DAYS * 72 + 1):
            moment = BASE + step * STEP
            if t == 2 and moment.date() == (BASE + dt.timedelta(days=1)).date():
                continue
            rows.append(
                {
                    "connectorId": "CON-EXP",
                    "dtId": twin,
                    "sourceTimestamp": moment.isoformat(),
                    "scalarValue": step * 0.5 if t != 4 else bool(step % 2),
                }
            )
    willow.store.ingest(list(reversed(rows)))
    return len(rows)


def run_export(client: Any, *args: Any, **kwargs: Any) -> ExportReport:
    """``export_to_files`` in sync mode, ``aexport_to_files`` in async mode (tests/dual.py)."""
    if isinstance(client, AsyncAsSync):
        return client.runner.run(aexport_to_files(client.async_client, *args, **kwargs))
    return export_to_files(client, *args, **kwargs)


END = BASE + dt.timedelta(days=DAYS)
OPTIONS: dict[str, Any] = {"page_size": 50, "points_per_day": 72}


# ------------------------------------------------------------------ the plan (pure)


def test_grouping_is_chosen_only_when_it_saves_requests() -> None:
    assert requests_for(0, 1000) == 1
    assert requests_for(2001, 1000) == 3
    # 1-minute data, page 1000: a twin alone needs 2 requests a day; grouped, 72 twin-days fit in 100.
    assert group_size(1440, 1000, 100) == 69  # capped by the points a unit may hold (100,000)
    assert group_size(1000, 1000, 100) == 1  # exact pages: grouping saves nothing
    assert group_size(10, 1000, 100) == 100  # sparse twins: 100 per request
    plan = plan_export([f"T{i}" for i in range(50)], BASE, BASE + dt.timedelta(days=1))
    assert plan.estimated_requests == 72
    assert plan.requests_one_twin_per_request == 100
    assert plan.seconds_at_ceiling == 36.0
    assert "72 requests (100 without grouping)" in plan.describe()


def test_days_are_cut_at_utc_midnight_and_each_instant_belongs_to_one_unit() -> None:
    start = dt.datetime(2026, 3, 1, 22, tzinfo=dt.timezone(dt.timedelta(hours=-2)))  # 2 March 00:00 UTC
    windows = day_windows(start, start + dt.timedelta(hours=36))
    assert [(a.isoformat(), b.isoformat()) for a, b in windows] == [
        ("2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"),
        ("2026-03-03T00:00:00+00:00", "2026-03-03T12:00:00+00:00"),
    ]
    plan = plan_export(["A"], BASE, END, points_per_day=72)
    midnight = BASE + dt.timedelta(days=1)
    assert [unit.owns(midnight) for unit in plan.units] == [False, True, False]
    assert [unit.owns(END) for unit in plan.units] == [False, False, True]  # end is inclusive


def test_bad_plans_are_refused() -> None:
    with pytest.raises(InvalidRequestError):
        plan_export([], BASE, END)
    with pytest.raises(InvalidRequestError):
        plan_export(["A"], END, BASE)
    with pytest.raises(InvalidRequestError):
        plan_export(["A"], BASE, END, page_size=0)
    assert plan_export(["A"], BASE, END).fingerprint != plan_export(["A", "B"], BASE, END).fingerprint


# ------------------------------------------------------------------ files


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_to_csv_is_complete_sorted_and_grouped(
    willow: LocalWillow, client: WillowClient, tmp_path: Path
) -> None:
    total = seed(willow)
    report = run_export(client, TWINS, BASE, END, tmp_path / "out.csv", **OPTIONS)
    assert report.ok, str(report)
    rows = read_csv(tmp_path / "out.csv")
    assert len(rows) == report.points == total
    assert [r["twinId"] for r in rows] == sorted((r["twinId"] for r in rows), key=TWINS.index)
    for twin in TWINS:
        stamps = [r["sourceTimestamp"] for r in rows if r["twinId"] == twin]
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)
    assert report.points_by_twin == {twin: 217 if twin != "PNT-EXP-2" else 217 - 72 for twin in TWINS}
    # Grouped: 5 twins share each day's pages. The estimate was exact for this density.
    assert willow.app.stats.by_operation["POST /time-series/ids"] == report.requests
    assert report.requests <= report.estimated_requests + 1
    assert not (tmp_path / "out.csv.parts").exists()  # the work directory is gone once done


def test_partitions_and_every_format_load_in_the_users_tools(
    willow: LocalWillow, client: WillowClient, tmp_path: Path
) -> None:
    ds = pytest.importorskip("pyarrow.dataset")
    total = seed(willow)
    report = run_export(client, TWINS, BASE, END, tmp_path / "parts", format="parquet", **OPTIONS)
    assert report.ok
    day_dirs = sorted(p.name for p in (tmp_path / "parts" / "twinId=PNT-EXP-0").iterdir())
    assert day_dirs == ["date=2026-03-01", "date=2026-03-02", "date=2026-03-03", "date=2026-03-04"]
    assert not (tmp_path / "parts" / "twinId=PNT-EXP-2" / "date=2026-03-02").exists()  # its gap day
    table = ds.dataset(tmp_path / "parts", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == total
    assert set(table.column("twinId").to_pylist()) == set(TWINS)

    single = run_export(client, TWINS, BASE, END, tmp_path / "all.parquet", **OPTIONS)
    frame = to_pandas([])  # the helpers work on nothing too
    assert list(frame.columns)[:4] == ["twinId", "externalId", "connectorId", "sourceTimestamp"]
    pq = importlib.import_module("pyarrow.parquet")
    whole = pq.read_table(tmp_path / "all.parquet")
    assert whole.num_rows == single.points == total
    assert str(whole.schema.field("sourceTimestamp").type) == "timestamp[us, tz=UTC]"
    pairs = zip(whole.column("twinId").to_pylist(), whole.column("scalarValue").to_pylist(), strict=True)
    booleans = [value for twin, value in pairs if twin == "PNT-EXP-4"]
    assert set(booleans) == {0.0, 1.0}

    run_export(client, TWINS, BASE, END, tmp_path / "all.jsonl", **OPTIONS)
    lines = (tmp_path / "all.jsonl").read_text().splitlines()
    assert len(lines) == total
    assert json.loads(lines[0])["twinId"] == "PNT-EXP-0"


def test_to_arrow_and_to_pandas_from_points(willow: LocalWillow, client: WillowClient) -> None:
    seed(willow)
    points = list(client.time_series.iter("PNT-EXP-1", BASE, BASE + dt.timedelta(hours=2)))
    table = to_arrow(points)
    assert table.num_rows == len(points) == 7
    frame = to_pandas(points)
    assert frame["scalarValue"].tolist() == [p.scalar_value for p in points]


def test_missing_extras_name_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_pyarrow(name: str, package: str | None = None) -> Any:
        if name.startswith(("pyarrow", "pandas")):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_pyarrow)
    with pytest.raises(InvalidRequestError, match=r"willow-api\[parquet\]"):
        to_arrow([])
    with pytest.raises(InvalidRequestError, match=r"willow-api\[pandas\]"):
        to_pandas([])


# ------------------------------------------------------------------ failures, resume


class StopExportError(Exception):
    pass


def test_an_interrupted_export_resumes_to_the_same_bytes(
    willow: LocalWillow, client: WillowClient, tmp_path: Path
) -> None:
    seed(willow)
    options = {**OPTIONS, "max_twins_per_request": 2}  # 3 groups × 3 days
    whole = run_export(client, TWINS, BASE, END, tmp_path / "whole.csv", **options)
    requests_whole = whole.requests
    pages = 0

    def stop_after_7(done: int, total: int) -> None:
        nonlocal pages
        pages += 1
        if pages == 7:
            raise StopExportError

    target = tmp_path / "resumed.csv"
    target.write_text("an older file, kept intact until the export completes\n")
    with pytest.raises(StopExportError) as raised:
        run_export(client, TWINS, BASE, END, target, progress=stop_after_7, **options)
    partial = partial_result(raised.value)
    assert isinstance(partial, ExportReport)
    # Units run concurrently: the others in flight stop at their next page, the checkpoint says where.
    assert 7 <= partial.requests < requests_whole
    assert target.read_text().startswith("an older file")  # never half-written
    checkpoint = json.loads((tmp_path / "resumed.csv.checkpoint.json").read_text())
    assert any(unit["token"] for unit in checkpoint["units"].values())  # stopped mid-unit

    resumed = run_export(client, TWINS, BASE, END, target, resume=True, **options)
    assert resumed.ok
    assert resumed.units_skipped >= 1
    assert target.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert partial.requests + resumed.requests == requests_whole  # exactly once: no page fetched twice

    again = run_export(client, TWINS, BASE, END, target, resume=True, **options)
    assert (again.requests, again.units_skipped, again.points) == (0, again.units_total, resumed.points)
    assert target.read_bytes() == (tmp_path / "whole.csv").read_bytes()  # a finished export stays whole


def test_an_expired_token_restarts_its_unit_and_a_changed_query_is_refused(
    willow: LocalWillow, client: WillowClient, tmp_path: Path
) -> None:
    seed(willow)
    run_export(client, TWINS, BASE, END, tmp_path / "whole.jsonl", **OPTIONS)
    target = tmp_path / "out.jsonl"

    def stop_mid_unit(done: int, total: int) -> None:
        if done >= 120:
            raise StopExportError

    with pytest.raises(StopExportError):
        run_export(client, TWINS, BASE, END, target, progress=stop_mid_unit, **OPTIONS)
    path = tmp_path / "out.jsonl.checkpoint.json"
    saved = json.loads(path.read_text())
    for unit in saved["units"].values():
        if unit["token"]:
            unit["token"] = "expired-token"
    path.write_text(json.dumps(saved))
    resumed = run_export(client, TWINS, BASE, END, target, resume=True, **OPTIONS)
    assert resumed.ok
    assert target.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()

    with pytest.raises(InvalidRequestError, match="another export"):
        run_export(client, TWINS[:2], BASE, END, target, resume=True, **OPTIONS)


def test_a_failed_unit_is_reported_and_a_resume_completes_it(
    willow: LocalWillow, client: WillowClient, tmp_path: Path
) -> None:
    seed(willow)
    run_export(client, TWINS, BASE, END, tmp_path / "whole.csv", **OPTIONS)
    client.twins.get("AHU-1")
    willow.faults.queue[:] = ["none", "none", "503"]  # the third request fails for good
    one_at_a_time = {**OPTIONS, "concurrency": 1}  # so the third request is the first unit's
    report = run_export(client.with_options(max_retries=0), TWINS, BASE, END, tmp_path / "out.csv", **one_at_a_time)
    assert not report.ok
    first_unit = plan_export(TWINS, BASE, END, **OPTIONS).units[0]
    assert [f.twin_ids for f in report.failures] == [list(first_unit.twin_ids)]
    assert "InternalServerError" in report.failures[0].reason
    assert report.units_done == report.units_total - 1  # the other days were exported
    resumed = run_export(client, TWINS, BASE, END, tmp_path / "out.csv", resume=True, **OPTIONS)
    assert resumed.ok
    assert resumed.units_skipped == report.units_done
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_unknown_twins_are_reported_not_failed(willow: LocalWillow, client: WillowClient, tmp_path: Path) -> None:
    report = run_export(client, ["nobody-1", "nobody-2"], BASE, END, tmp_path / "out.csv", **OPTIONS)
    assert report.ok
    assert report.not_found == ["nobody-1", "nobody-2"]
    assert report.empty_twins == ["nobody-1", "nobody-2"]
    assert read_csv(tmp_path / "out.csv") == []


def test_an_auth_failure_stops_the_export_with_the_partial_report(willow: LocalWillow, tmp_path: Path) -> None:
    wrong = willow.client_kwargs(retry=FAST_RETRY, client_secret="wrong")
    with WillowClient(**wrong) as client, pytest.raises(AuthenticationError) as raised:
        export_to_files(client, TWINS, BASE, END, tmp_path / "out.csv", **OPTIONS)
    assert isinstance(raised.value.partial, ExportReport)  # type: ignore[attr-defined]
    assert willow.app.stats.by_operation.get("POST /oauth2/token") == 1
    assert not (tmp_path / "out.csv").exists()


# ------------------------------------------------------------------ SIGKILL, through the CLI


def cli(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "willow_ext.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
        **kwargs,
    )


def test_an_export_killed_with_sigkill_resumes_to_byte_identical_output(willow: LocalWillow, tmp_path: Path) -> None:
    seed(willow)
    env = {
        "WILLOW_BASE_URL": willow.base_url,
        "WILLOW_CLIENT_ID": willow.client_id,
        "WILLOW_CLIENT_SECRET": willow.client_secret,
    }
    window = ["--start", BASE.isoformat(), "--end", END.isoformat(), "--page-size", "25", "--points-per-day", "72"]
    whole = cli("timeseries", "export", *TWINS, *window, "--output", str(tmp_path / "whole.csv"), env=env)
    _, err = whole.communicate(timeout=60)
    assert whole.returncode == 0, err

    willow.faults.slow_seconds = 0.03  # slow enough to be caught midway
    target = tmp_path / "killed.csv"
    checkpoint = tmp_path / "killed.csv.checkpoint.json"
    victim = cli("timeseries", "export", *TWINS, *window, "--output", str(target), env=env)
    deadline = time.monotonic() + 60
    pages = 0
    while time.monotonic() < deadline and victim.poll() is None:
        if checkpoint.exists():
            units = json.loads(checkpoint.read_text())["units"].values()
            pages = sum(unit["pages"] for unit in units)
            if pages >= 8:
                break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    victim.communicate()
    assert pages >= 8
    assert not target.exists()  # nothing half-written

    willow.faults.slow_seconds = 0
    resumed = cli("timeseries", "export", *TWINS, *window, "--output", str(target), "--resume", env=env)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert "from a checkpoint" in err
    assert target.read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_dry_run_prints_the_estimate_and_sends_nothing(willow: LocalWillow) -> None:
    env = {"WILLOW_BASE_URL": willow.base_url, "WILLOW_CLIENT_ID": "x", "WILLOW_CLIENT_SECRET": "y"}
    args = ["timeseries", "export", *[f"T{i}" for i in range(50)], "--start", "2026-01-01", "--end", "2026-01-02"]
    plain = cli(*args, "--dry-run", env=env)
    out, _ = plain.communicate(timeout=60)
    assert plain.returncode == 0
    assert "72 requests (100 without grouping)" in out
    assert "0:00:36 at the rate limit" in out
    as_json = cli("--json", *args, "--dry-run", env=env)
    out, _ = as_json.communicate(timeout=60)
    assert json.loads(out)["estimated_requests"] == 72
    assert willow.app.stats.requests == 0


def test_cli_ingest_with_a_wrong_secret_exits_3_after_one_token_request(willow: LocalWillow, tmp_path: Path) -> None:
    source = tmp_path / "points.jsonl"
    source.write_text(
        "".join(
            json.dumps({"dtId": "PNT-EXP-0", "sourceTimestamp": (BASE + i * STEP).isoformat(), "scalarValue": i}) + "\n"
            for i in range(5_000)
        )
    )
    env = {"WILLOW_BASE_URL": willow.base_url, "WILLOW_CLIENT_ID": willow.client_id, "WILLOW_CLIENT_SECRET": "nope"}
    run = cli("timeseries", "ingest", str(source), "--connector-id", "C", "--batch-size", "100", env=env)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 3, err
    assert "Traceback" not in err
    assert "nope" not in err
    assert willow.app.stats.by_operation.get("POST /oauth2/token") == 1
    assert "POST /time-series" not in willow.app.stats.by_operation
