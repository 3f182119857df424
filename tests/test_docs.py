"""The documentation build: a reference to a name that does not exist fails ``mkdocs build --strict``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def build(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


def test_a_broken_reference_fails_the_strict_build(tmp_path: Path) -> None:
    # The project's own configuration, on a copy of the docs with one reference renamed away.
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    handler = config["plugins"][1]["mkdocstrings"]["handlers"]["python"]
    handler["paths"] = [str(ROOT / path) for path in handler["paths"]]
    config["site_dir"] = str(tmp_path / "site")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    page = tmp_path / "docs" / "reference" / "retries.md"
    page.write_text(page.read_text().replace("willow_ext.RetryPolicy", "willow_ext.RetryPolicyRenamed"))
    result = build(tmp_path / "mkdocs.yml")
    assert result.returncode != 0
    assert "willow_ext.RetryPolicyRenamed could not be found" in result.stdout + result.stderr
