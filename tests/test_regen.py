"""scripts/regen.sh: --check, drift detection, download + change summary, and bad input.

Each test works on a temporary copy of the files regen touches, so the checkout is never modified.
Downloads come from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIED = [
    "scripts",
    "openapi",
    "generator-config.yaml",
    "templates",
    "generated",
    "willow_ext",
    "pyproject.toml",
    "CHANGELOG.md",
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pristine")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, base / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, base / name)
    return base


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy)
    return copy


def regen(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    python = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").is_dir() else "python3"
    return subprocess.run(
        [str(repo / "scripts" / "regen.sh"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"WILLOW_PYTHON": python, "PATH": "/usr/bin:/bin"},
    )


def snapshot(repo: Path) -> dict[str, bytes]:
    files = [repo / "openapi" / "willow-api.yaml", *sorted((repo / "generated").rglob("*"))]
    return {str(p.relative_to(repo)): p.read_bytes() for p in files if p.is_file() and "__pycache__" not in p.parts}


Serve = Callable[[bytes, str, int], str]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Serve one body on loopback; returns its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(body: bytes, content_type: str = "application/yaml", status: int = 200) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/willow-api.yaml"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_check_passes_on_the_committed_tree(repo: Path) -> None:
    result = regen(repo, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_check_fails_when_one_field_of_the_pinned_spec_changes(repo: Path) -> None:
    spec = repo / "openapi" / "willow-api.yaml"
    text = spec.read_text()
    assert "        twinName:\n" in text
    spec.write_text(text.replace("        twinName:\n", "        twinDisplayName:\n", 1))
    result = regen(repo, "--check")
    assert result.returncode == 1
    assert "changed: generated/willow_api_client/models/insight.py" in result.stdout
    assert "changed: generated/SPEC.lock" in result.stdout


def test_check_fails_when_a_custom_template_changes(repo: Path) -> None:
    template = repo / "templates" / "model.py.jinja"
    template.write_text(template.read_text() + "\n# template edit\n")
    result = regen(repo, "--check")
    assert result.returncode == 1
    assert "changed: generated/willow_api_client/models/twin.py" in result.stdout
    assert "changed: generated/SPEC.lock" in result.stdout  # the lock hashes the templates


def test_check_fails_on_a_hand_edit_of_generated_code(repo: Path) -> None:
    target = repo / "generated" / "willow_api_client" / "models" / "twin.py"
    target.write_text(target.read_text() + "\n# hand edit\n")
    (repo / "generated" / "willow_api_client" / "stray.py").write_text("")
    result = regen(repo, "--check")
    assert result.returncode == 1
    assert "changed: generated/willow_api_client/models/twin.py" in result.stdout
    assert "extra:   generated/willow_api_client/stray.py" in result.stdout


def _modified_spec(repo: Path) -> bytes:
    doc = yaml.safe_load((repo / "openapi" / "willow-api.yaml").read_text())
    # An added operation, a removed field and a changed type.
    doc["paths"]["/twins/search"] = {
        "post": {
            "tags": ["Twins"],
            "operationId": "TwinsV2_Search",
            "summary": "Search twins",
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TwinPage"}}},
                }
            },
        }
    }
    del doc["components"]["schemas"]["Twin"]["properties"]["lastUpdateTime"]
    doc["components"]["schemas"]["Event"]["properties"]["eventTypeId"] = {"type": "string"}
    return yaml.safe_dump(doc, sort_keys=False).encode()


def test_download_shows_the_change_summary_then_replaces_spec_and_regenerates(repo: Path, serve: Serve) -> None:
    body = _modified_spec(repo)
    result = regen(repo, "--url", serve(body, "application/yaml", 200))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "+ POST /twins/search: operation added" in out
    # Twin and Event are both sent and received: each side is judged on its own.
    assert "- Twin.lastUpdateTime: field removed (request)  [BREAKING]" in out
    assert "- Twin.lastUpdateTime: field removed (response)  [BREAKING]" in out
    assert "~ Event.eventTypeId: type integer -> string (response)  [BREAKING]" in out
    version = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    major = f"{int(version.split('.')[0]) + 1}.0.0"
    assert f"Proposed bump: **major** ({version} -> {major})." in out
    assert f"## [{major}] - " in out  # the changelog draft; nothing is written without --apply-version
    assert major not in (repo / "pyproject.toml").read_text() + (repo / "CHANGELOG.md").read_text()
    assert (repo / "openapi" / "willow-api.yaml").read_bytes() == body
    assert (repo / "generated" / "willow_api_client" / "api" / "twins" / "twins_v2_search.py").is_file()
    assert "last_update_time" not in (repo / "generated" / "willow_api_client" / "models" / "twin.py").read_text()
    assert regen(repo, "--check").returncode == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html", 200, "HTML"),
        (b"<html>oops</html>", "application/yaml", 200, "HTML"),
        (b"not found", "text/plain", 404, "HTTP 404"),
        (b"openapi: [unclosed", "application/yaml", 200, "not valid YAML"),
        (b"title: no openapi key\n", "application/yaml", 200, "not an OpenAPI document"),
        (b"openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n", "application/yaml", 200, "not a valid OpenAPI"),
    ],
)
def test_bad_downloads_fail_clearly_and_change_nothing(
    repo: Path, serve: Serve, body: bytes, content_type: str, status: int, message: str
) -> None:
    before = snapshot(repo)
    result = regen(repo, "--url", serve(body, content_type, status))
    assert result.returncode == 2
    assert message in result.stderr
    assert "nothing was changed" in result.stderr
    assert snapshot(repo) == before


def test_unreachable_url_fails_clearly_and_changes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    result = regen(repo, "--url", "http://127.0.0.1:9/willow-api.yaml")
    assert result.returncode == 2
    assert "cannot reach" in result.stderr
    assert snapshot(repo) == before


def test_invalid_pinned_spec_fails_offline_without_touching_generated(repo: Path) -> None:
    spec = repo / "openapi" / "willow-api.yaml"
    spec.write_text(spec.read_text().replace("openapi: 3.0.3", "openapi: 3.0.3\nbogus_root_key: 1", 1))
    before = snapshot(repo)
    result = regen(repo, "--offline")
    assert result.returncode == 2
    assert "not a valid OpenAPI document" in result.stderr
    assert snapshot(repo) == before
