"""Every `willow` command, run as a subprocess against the local server (or a spec on loopback)."""

from __future__ import annotations

import csv
import datetime as dt
import http.server
import importlib.metadata
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import willow_ext
from willow_ext.testing import LocalWillow

ROOT = Path(__file__).resolve().parent.parent


def willow_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "willow_ext.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": os.environ["PATH"], "COLUMNS": "160", **(env or {})},
    )


@pytest.fixture
def env(willow: LocalWillow) -> dict[str, str]:
    return {
        "WILLOW_BASE_URL": willow.base_url,
        "WILLOW_CLIENT_ID": willow.client_id,
        "WILLOW_CLIENT_SECRET": willow.client_secret,
    }


def test_auth_check(env: dict[str, str]) -> None:
    result = willow_cli("--json", "auth", "check", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


def test_auth_failures_exit_3(env: dict[str, str]) -> None:
    wrong = willow_cli("auth", "check", env={**env, "WILLOW_CLIENT_SECRET": "nope"})
    assert wrong.returncode == 3
    assert "invalid_client" in wrong.stderr
    assert "nope" not in wrong.stderr
    missing = willow_cli("auth", "check", env={"WILLOW_INSTANCE": "contoso"})
    assert missing.returncode == 3
    assert "WILLOW_CLIENT_ID" not in missing.stderr or "client_id" in missing.stderr


def test_twins_get_search_graph(env: dict[str, str]) -> None:
    got = willow_cli("--json", "twins", "get", "AHU-1", "--relationships", env=env)
    assert got.returncode == 0
    assert json.loads(got.stdout)["id"] == "AHU-1"
    assert willow_cli("twins", "get", "no-such-twin", env=env).returncode == 4
    search = willow_cli("twins", "search", "--model", "dtmi:com:willowinc:Level;1", env=env)
    assert search.returncode == 0
    assert "BLDG-1-L03" in search.stdout
    assert "3 twins" in search.stdout
    limited = willow_cli("--json", "twins", "search", "--limit", "5", env=env)
    assert len(json.loads(limited.stdout)) == 5
    graph = willow_cli(
        "--json", "twins", "graph", "AHU-1", "--incoming", "isCapabilityOf", "--outgoing", "serves", env=env
    )
    body = json.loads(graph.stdout)
    assert len(body["in:isCapabilityOf"]) == 4
    assert len(body["out:serves"]) == 3


def test_timeseries_latest_export_and_ingest(env: dict[str, str], tmp_path: Path) -> None:
    latest = willow_cli("--json", "timeseries", "latest", "PNT-AHU-1-SAT", "PNT-AHU-2-RUN", env=env)
    assert {p["twinId"] for p in json.loads(latest.stdout)} == {"PNT-AHU-1-SAT", "PNT-AHU-2-RUN"}

    source = tmp_path / "points.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dtId", "sourceTimestamp", "scalarValue"])
        for minute in range(1500):
            stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
            writer.writerow(["PNT-AHU-2-SAT", stamp.isoformat(), minute / 10])
        writer.writerow(["", "2026-01-02T00:00:00Z", "1"])  # no twin reference: refused, reported
    ingested = willow_cli(
        "--json",
        "timeseries",
        "ingest",
        str(source),
        "--connector-id",
        "CON-CLI",
        "--batch-size",
        "400",
        "--progress",
        env=env,
    )
    assert ingested.returncode == 5  # one point refused: partial failure
    report = json.loads(ingested.stdout)
    assert (report["sent"], report["failed"], report["requests"]) == (1500, 1, 4)
    assert "ingest" in ingested.stderr  # the progress bar

    out = tmp_path / "export.csv"
    exported = willow_cli(
        "timeseries",
        "export",
        "PNT-AHU-2-SAT",
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-02T01:00:00Z",
        "--output",
        str(out),
        "--progress",
        env=env,
    )
    assert exported.returncode == 0, exported.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1500
    assert "exported 1500 points" in exported.stderr
    lines = willow_cli(
        "timeseries",
        "export",
        "PNT-AHU-2-SAT",
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-01T00:09:00Z",
        "--format",
        "jsonl",
        env=env,
    )
    assert [json.loads(line)["scalarValue"] for line in lines.stdout.splitlines()] == [m / 10 for m in range(10)]
    bad = willow_cli("timeseries", "export", "X", "--start", "yesterday", "--end", "now", env=env)
    assert bad.returncode == 2


def test_insights_tree_and_tickets(env: dict[str, str]) -> None:
    tree = willow_cli("insights", "tree", env=env)
    assert tree.returncode == 0
    assert "INS 2.2: diagnostic step 3" in tree.stdout
    filtered = willow_cli("--json", "insights", "tree", "--filter", "type=fault", env=env)
    assert [t["root"]["type"] for t in json.loads(filtered.stdout)] == ["fault"]
    created = willow_cli("--json", "tickets", "create", "--summary", "From the CLI", "--twin", "AHU-2", env=env)
    assert created.returncode == 0
    ticket_id = json.loads(created.stdout)["id"]
    listed = willow_cli("--json", "tickets", "list", "--filter", "summary=From the CLI", env=env)
    assert [t["id"] for t in json.loads(listed.stdout)] == [ticket_id]
    assert willow_cli("tickets", "list", "--filter", "no-equals-sign", env=env).returncode == 2


def test_serve_local_prints_settings_that_work() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "willow_ext.cli", "--json", "serve-local", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )
    try:
        assert process.stdout is not None
        first = "".join(process.stdout.readline() for _ in range(5))
        settings = json.loads(first)
        check = willow_cli("--json", "auth", "check", env=settings)
        assert check.returncode == 0, check.stderr
        assert json.loads(check.stdout)["models"] == 12
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def spec_server() -> Iterator[dict[str, str]]:
    pinned = (ROOT / "openapi" / "willow-api.yaml").read_bytes()
    changed = yaml.safe_load(pinned)
    del changed["paths"]["/events/files"]
    bodies = {"/same.yaml": pinned, "/changed.yaml": yaml.safe_dump(changed).encode()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"same": base + "/same.yaml", "changed": base + "/changed.yaml", "missing": base + "/missing.yaml"}
    server.shutdown()
    server.server_close()


def test_spec_diff(spec_server: dict[str, str]) -> None:
    same = willow_cli("spec", "diff", spec_server["same"])
    assert (same.returncode, same.stdout.strip()) == (0, "No client-relevant changes.")
    changed = willow_cli("spec", "diff", spec_server["changed"])
    assert changed.returncode == 1
    assert "- POST /events/files: operation removed  [BREAKING]" in changed.stdout
    as_json = willow_cli("--json", "spec", "diff", spec_server["changed"])
    assert json.load(io.StringIO(as_json.stdout))[0]["breaking"] is True
    assert willow_cli("spec", "diff", spec_server["missing"]).returncode == 6


def test_demo_command() -> None:
    result = willow_cli("demo", timeout=120)
    assert result.returncode == 0
    assert "0 spec violations" in result.stdout


def test_usage_errors_exit_2_and_help_works() -> None:
    assert willow_cli("twins", "frobnicate").returncode == 2
    helped = willow_cli("--help")
    assert helped.returncode == 0
    assert "timeseries" in helped.stdout


def test_global_flags_work_after_the_subcommand(env: dict[str, str]) -> None:
    after = willow_cli("twins", "get", "AHU-1", "--json", env=env)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["id"] == "AHU-1"
    from willow_ext.cli import hoist_global_flags

    assert hoist_global_flags(["twins", "get", "X", "--json", "-v"]) == ["--json", "-v", "twins", "get", "X"]
    assert hoist_global_flags(["spec", "diff", "--", "--json"]) == ["spec", "diff", "--", "--json"]


def test_version() -> None:
    result = willow_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"willow {willow_ext.__version__}"
    assert willow_ext.__version__ == importlib.metadata.version("willow-api")


@pytest.mark.parametrize("how", ["--verbose", "WILLOW_LOG"])
def test_verbose_logs_each_request_to_stderr_without_credentials(
    env: dict[str, str], willow: LocalWillow, how: str
) -> None:
    before = set(willow.app._tokens)
    if how == "--verbose":
        result = willow_cli("auth", "check", "--verbose", env=env)
    else:
        result = willow_cli("auth", "check", env={**env, "WILLOW_LOG": "debug"})
    assert result.returncode == 0, result.stderr
    assert "willow_ext: POST /api/v3/oauth2/token -> 200" in result.stderr
    assert "httpcore.http11: receive_response_headers.complete" in result.stderr
    assert '"ok": true' in result.stdout  # logs go to stderr only
    issued = set(willow.app._tokens) - before
    assert issued, "the run obtained a token"
    for secret in [env["WILLOW_CLIENT_SECRET"], *issued]:
        assert secret not in result.stderr
        assert secret not in result.stdout
    bad_level = willow_cli("auth", "check", env={**env, "WILLOW_LOG": "loud"})
    assert bad_level.returncode == 2
    assert "WILLOW_LOG must be" in bad_level.stderr


@pytest.fixture
def without_testing_extra(tmp_path: Path) -> dict[str, str]:
    """An environment in which `uvicorn` (a testing-extra module) cannot be imported."""
    blocker = tmp_path / "uvicorn"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'uvicorn'\", name='uvicorn')\n")
    return {"PYTHONPATH": str(tmp_path)}


@pytest.mark.parametrize("command", ["serve-local", "demo"])
def test_commands_name_the_missing_extra(without_testing_extra: dict[str, str], command: str) -> None:
    result = willow_cli(command, env=without_testing_extra)
    assert result.returncode == 7
    assert "Traceback" not in result.stderr
    assert f"willow {command} needs the 'testing' extra (uvicorn is missing)" in result.stderr
    assert "pip install 'willow-api[testing]'" in result.stderr


def test_exit_codes_for_each_failure() -> None:
    import httpx

    from willow_ext import APITimeoutError, AuthenticationError, InvalidRequestError, NotFoundError, WillowError
    from willow_ext._cli_input import InputFileError
    from willow_ext.cli import exit_code_for

    request = httpx.Request("GET", "http://x/")
    not_found = NotFoundError("gone", response=httpx.Response(404, request=request), body=None)
    cases = {
        EXIT_CODES["auth"]: AuthenticationError("no"),
        EXIT_CODES["not_found"]: not_found,
        EXIT_CODES["connection"]: APITimeoutError("slow", request=request),
        EXIT_CODES["usage"]: InputFileError(Path("p.csv"), 3, "bad"),
        EXIT_CODES["api"]: WillowError("other"),
        EXIT_CODES["file"]: OSError(28, "No space left on device"),
        EXIT_CODES["internal"]: RuntimeError("bug"),
        EXIT_CODES["interrupted"]: KeyboardInterrupt(),
    }
    assert {code: exit_code_for(error) for code, error in cases.items()} == {code: code for code in cases}
    assert exit_code_for(InvalidRequestError("bad id")) == 2


EXIT_CODES = {
    "api": 1,
    "usage": 2,
    "auth": 3,
    "not_found": 4,
    "connection": 6,
    "file": 8,
    "internal": 70,
    "interrupted": 130,
}


def test_the_input_reader_keeps_quoted_newlines_and_names_the_right_line(tmp_path: Path) -> None:
    from willow_ext._cli_input import InputFileError, count_points, read_points

    good = tmp_path / "points.csv"
    good.write_text('dtId,sourceTimestamp,scalarValue,note\nT-1,2026-01-01T00:00:00Z,true,"two\nlines"\n\n')
    assert list(read_points(good)) == [
        {"dtId": "T-1", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": True, "note": "two\nlines"}
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dtId": "T-1"}\n\n{"dtId": NaN}\n')
    with pytest.raises(InputFileError) as raised:
        count_points(bad)
    assert (raised.value.line, str(raised.value)) == (3, f"{bad} line 3: NaN is not a number a point can carry")
