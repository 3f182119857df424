"""scripts/spec-sync (the steps of .github/workflows/spec-sync.yml) against a spec served on loopback.

Works on a throw-away copy of the repository, so the real working tree is never touched. The served
spec makes Twin.modelId optional: the differ flags it as a breaking response change, the gate finds
the new mypy error in willow_ext (``twin.model_id.split`` on ``str | Unset``), and the pull-request
body says both, with a major bump and a changelog draft.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.spec_mutations import pinned_spec

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str, cwd: Path) -> str:
    cmd = ["git", "-c", "user.name=spec-sync test", "-c", "user.email=spec-sync@test.invalid", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def copy_of_repo(target: Path) -> Path:
    """The tracked files (as they are on disk) in a fresh git repository, plus mypy's cache for speed."""
    for name in _git("ls-files", "-z", cwd=ROOT).split("\0"):
        source = ROOT / name
        if name and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", target / ".mypy_cache")
    _git("init", "-q", cwd=target)
    _git("add", "-A", cwd=target)
    _git("commit", "-q", "-m", "copy", cwd=target)
    return target


@pytest.fixture
def served_spec(tmp_path: Path) -> Iterator[str]:
    site = tmp_path / "site"
    site.mkdir()
    doc = pinned_spec()
    doc["components"]["schemas"]["Twin"]["required"].remove("modelId")
    (site / "willow-api.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/willow-api.yaml"
    finally:
        server.shutdown()
        server.server_close()


def test_spec_sync_produces_the_pull_request_body(tmp_path: Path, served_spec: str) -> None:
    before = _git("status", "--porcelain", cwd=ROOT)
    repo = copy_of_repo(tmp_path / "repo")
    out, outputs = tmp_path / "out", tmp_path / "github-output"
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs)}
    cmd = [sys.executable, "scripts/spec_sync.py", "--url", served_spec, "--out", str(out), "--apply-version"]
    result = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    major = int(version.split(".")[0]) + 1
    body = (out / "pr-body.md").read_text()
    assert body.startswith("# Sync with the published Willow API spec (BREAKING)")
    assert "- **BREAKING** `Twin.modelId`: became optional (response)" in body
    assert "- `Twin.modelId`: became optional (request)" in body
    # The gate: willow_ext/demo.py calls .split on the now `str | Unset` attribute.
    assert ":warning: **BREAKING**: type-checking" in body
    assert "willow_ext/demo.py" in body
    assert 'Item "Unset" of "str | Unset" has no attribute "split"' in body
    assert f"Proposed bump: **major** ({version} -> {major}.0.0)." in body
    assert f"## [{major}.0.0] - " in body

    assert set(outputs.read_text().splitlines()) >= {"changed=true", "breaking=true", f"body-path={out / 'pr-body.md'}"}
    # The copy was regenerated and bumped; the spec, generated code, version and changelog moved together.
    assert "model_id: str | Unset" in (repo / "generated/willow_api_client/models/twin.py").read_text()
    assert f'version = "{major}.0.0"' in (repo / "pyproject.toml").read_text()
    assert f"## [{major}.0.0] - " in (repo / "CHANGELOG.md").read_text()
    assert (
        "modelId"
        not in yaml.safe_load((repo / "openapi/willow-api.yaml").read_text())["components"]["schemas"]["Twin"][
            "required"
        ]
    )
    # ... and the real repository did not change.
    assert _git("status", "--porcelain", cwd=ROOT) == before
