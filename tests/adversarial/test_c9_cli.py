"""Class 9: the CLI never shows a traceback: bad files give a one-line error naming the line and
a documented exit code; server and user text is printed literally; --output is written atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import CLIENT_ID, SECRET, Reply, Seen, jreply, twin

EXIT_API, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_PARTIAL, EXIT_CONNECTION = 1, 2, 3, 4, 5, 6


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run_cli(server: Any, *args: str, env: dict[str, str] | None = None, process: bool = False) -> Outcome:
    """Run ``willow`` in a subprocess (``process=True``, the real thing) or in-process with Click's
    runner (same code and streams, ~50x faster); an escaping exception counts as a traceback."""
    environment = {
        "WILLOW_BASE_URL": server.base_url if server else "",
        "WILLOW_CLIENT_ID": CLIENT_ID,
        "WILLOW_CLIENT_SECRET": SECRET,
        "WILLOW_INSTANCE": "",
        "COLUMNS": "400",
        **(env or {}),
    }
    if process:
        full = {**os.environ, "PYTHONIOENCODING": "utf-8", **environment}
        done = subprocess.run(
            [sys.executable, "-m", "willow_ext.cli", *args], env=full, capture_output=True, text=True, timeout=60
        )
        return Outcome(done.returncode, done.stdout, done.stderr)
    from typer.testing import CliRunner

    from willow_ext.cli import app

    result = CliRunner().invoke(app, list(args), env=environment)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += f"\nTraceback (escaped): {type(result.exception).__name__}: {result.exception}"
    return Outcome(result.exit_code, result.stdout, stderr)


def assert_clean_error(result: Outcome, code: int, *must: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    for text in must:
        assert text in lines[0], lines[0]


def _sink(serve: Any) -> Any:
    return serve(lambda s: Reply(202, b""))  # POST /time-series is documented 202 Accepted


GOOD = '{"connectorId": "c", "dtId": "T-1", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1}'

BAD_JSONL: dict[str, bytes] = {
    "binary": b"\x00\x01\xff\xfe\x80garbage\n",
    "broken-json-line-3": f'{GOOD}\n{GOOD}\n{{"dtId": \n'.encode(),
    "non-object-line-2": f"{GOOD}\n[1, 2, 3]\n".encode(),
    "string-line": b'"just a string"\n',
    "nan": GOOD.replace('"scalarValue": 1', '"scalarValue": NaN').encode() + b"\n",
    "infinity": GOOD.replace('"scalarValue": 1', '"scalarValue": -Infinity').encode() + b"\n",
    "1e999": GOOD.replace('"scalarValue": 1', '"scalarValue": 1e999').encode() + b"\n",
    "deeply-nested": b"[" * 100_000 + b"\n",
}
LINE_OF = {"broken-json-line-3": "line 3", "non-object-line-2": "line 2"}


@pytest.mark.parametrize("label", BAD_JSONL)
def test_a_bad_jsonl_file_gives_a_one_line_error_naming_the_line(serve: Any, tmp_path: Path, label: str) -> None:
    server = _sink(serve)
    path = tmp_path / "points.jsonl"
    path.write_bytes(BAD_JSONL[label])
    result = run_cli(server, "timeseries", "ingest", str(path), process=label == "binary")
    assert_clean_error(result, EXIT_USAGE, LINE_OF.get(label, "line 1"))


def test_a_csv_field_larger_than_the_csv_limit_gives_a_one_line_error(serve: Any, tmp_path: Path) -> None:
    server = _sink(serve)
    path = tmp_path / "points.csv"
    path.write_text(
        "dtId,sourceTimestamp,scalarValue,connectorId\n"
        + "T-1,2026-01-01T00:00:00Z,1,c\n"
        + "T-2,"
        + "x" * 200_000
        + ",1,c\n"
    )
    result = run_cli(server, "timeseries", "ingest", str(path))
    assert_clean_error(result, EXIT_USAGE, "line 3")


def test_a_csv_that_is_not_utf8_gives_a_one_line_error(serve: Any, tmp_path: Path) -> None:
    server = _sink(serve)
    path = tmp_path / "points.csv"
    path.write_bytes(b"dtId,sourceTimestamp,scalarValue\nT-\xe9,2026-01-01T00:00:00Z,1\n")
    result = run_cli(server, "timeseries", "ingest", str(path))
    assert_clean_error(result, EXIT_USAGE, "line 2")


def test_a_csv_with_an_excel_byte_order_mark_is_read_normally(serve: Any, tmp_path: Path) -> None:
    server = _sink(serve)
    path = tmp_path / "points.csv"
    rows = (
        "dtId,sourceTimestamp,scalarValue,connectorId\r\n"
        "T-1,2026-01-01T00:00:00Z,1.5,c\r\nT-2,2026-01-01T00:00:00Z,2,c\r\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    result = run_cli(server, "--json", "timeseries", "ingest", str(path), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == 2


def test_a_good_csv_is_ingested(serve: Any, tmp_path: Path) -> None:
    server = _sink(serve)
    path = tmp_path / "points.csv"
    path.write_text("dtId,sourceTimestamp,scalarValue,connectorId\nT-1,2026-01-01T00:00:00Z,1.5,c\n")
    result = run_cli(server, "--json", "timeseries", "ingest", str(path), "--no-progress", process=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == 1
    assert len(server.api()) == 1


# ------------------------------------------------------------------ server and user text printed literally


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("closing tag [/] here", id="bare-close-tag"),
        pytest.param("[bold]loud[/bold]", id="bold-markup"),
        pytest.param("[link=http://evil]click[/link]", id="link-markup"),
        pytest.param("\x1b[31mred\x1b[0m \x1b]0;title\x07", id="terminal-escapes"),
    ],
)
def test_server_error_text_is_printed_literally(serve: Any, text: str) -> None:
    server = serve(lambda s: jreply({"title": "Conflict", "detail": text}, 409))
    result = run_cli(server, "twins", "get", "T-1", process=text.startswith("closing"))
    assert_clean_error(result, EXIT_API)
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    if not text.startswith("\x1b"):  # markup must show as typed; escapes only neutralised
        assert text in result.stderr


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("AHU [/] one", id="bare-close-tag"),
        pytest.param("[bold]AHU[/bold]", id="bold-markup"),
        pytest.param("[red]x", id="open-tag"),
    ],
)
def test_twin_names_from_the_server_are_shown_literally_in_tables(serve: Any, name: str) -> None:
    def api(seen: Seen) -> Reply:
        return jreply({"content": [twin("T-1", contents={"name": name})], "continuationToken": None})

    server = serve(api)
    result = run_cli(server, "twins", "search")
    assert result.returncode == 0, result.stderr
    assert name in result.stdout


def test_an_escape_sequence_in_a_twin_name_never_reaches_the_terminal_raw(serve: Any) -> None:
    def api(seen: Seen) -> Reply:
        return jreply({"content": [twin("T-1", contents={"name": "\x1b[2Jwiped"})], "continuationToken": None})

    server = serve(api)
    result = run_cli(server, "twins", "search")
    assert result.returncode == 0, result.stderr
    assert "\x1b[2J" not in result.stdout


def test_an_instance_name_with_markup_gives_a_literal_configuration_error() -> None:
    result = run_cli(None, "twins", "get", "T-1", env={"WILLOW_BASE_URL": "", "WILLOW_INSTANCE": "bad[/]name"})
    assert_clean_error(result, EXIT_AUTH, "bad[/]name")


def test_a_user_id_with_control_characters_is_refused_cleanly(serve: Any) -> None:
    server = serve(lambda s: jreply(twin()))
    result = run_cli(server, "twins", "get", "T-1\x1b[2J")
    assert_clean_error(result, EXIT_USAGE)
    assert "\x1b" not in result.stderr
    assert not server.api()


# ------------------------------------------------------------------ exit codes


def test_a_wrong_secret_exits_3_with_one_line(serve: Any) -> None:
    server = serve(lambda s: jreply(twin()), token=lambda s: jreply({"error": "invalid_client"}, 401))
    result = run_cli(server, "twins", "get", "T-1", process=True)
    assert_clean_error(result, EXIT_AUTH, "invalid_client")


def test_ingest_with_a_wrong_secret_exits_3_after_one_token_request(serve: Any, tmp_path: Path) -> None:
    server = serve(lambda s: Reply(204, b""), token=lambda s: jreply({"error": "invalid_client"}, 401))
    path = tmp_path / "points.jsonl"
    path.write_text("\n".join([GOOD] * 50) + "\n")
    result = run_cli(server, "timeseries", "ingest", str(path), "--batch-size", "5", "--no-progress")
    assert result.returncode == EXIT_AUTH
    assert len(server.tokens()) == 1


def test_a_missing_twin_exits_4(serve: Any) -> None:
    server = serve(lambda s: jreply({"title": "Not Found"}, 404))
    result = run_cli(server, "twins", "get", "T-404")
    assert_clean_error(result, EXIT_NOT_FOUND)


# ------------------------------------------------------------------ --output is atomic


def test_a_bad_format_argument_leaves_an_existing_output_untouched(serve: Any, tmp_path: Path) -> None:
    server = serve(lambda s: jreply({}))
    out = tmp_path / "export.csv"
    out.write_text("precious\n")
    result = run_cli(
        server,
        "timeseries",
        "export",
        "T-1",
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-02",
        "--format",
        "xml",
        "--output",
        str(out),
    )
    assert result.returncode == EXIT_USAGE
    assert out.read_text() == "precious\n"


def test_a_bad_timestamp_argument_leaves_an_existing_output_untouched(serve: Any, tmp_path: Path) -> None:
    server = serve(lambda s: jreply({}))
    out = tmp_path / "export.csv"
    out.write_text("precious\n")
    result = run_cli(
        server, "timeseries", "export", "T-1", "--start", "not-a-date", "--end", "2026-01-02", "--output", str(out)
    )
    assert result.returncode == EXIT_USAGE
    assert out.read_text() == "precious\n"


def test_a_failed_export_leaves_an_existing_output_untouched(serve: Any, tmp_path: Path) -> None:
    server = serve(lambda s: jreply({"title": "boom"}, 500))
    out = tmp_path / "export.csv"
    out.write_text("precious\n")
    result = run_cli(
        server,
        "timeseries",
        "export",
        "T-1",
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-02",
        "--output",
        str(out),
        process=True,
    )
    assert result.returncode == EXIT_API
    assert out.read_text() == "precious\n"
    assert "Traceback" not in result.stderr
