"""The house rules for imports (import-linter contracts in pyproject.toml), enforced in CI:
runtime modules import nothing from the CLI, demo or local server, and there are no cycles."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{package_parent}{os.pathsep}{ROOT / 'generated'}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=package_parent,
        check=False,
        timeout=120,
    )


def test_every_private_module_is_under_the_runtime_contract() -> None:
    private = {
        f"willow_ext.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "willow_ext").iterdir()
        if path.name.startswith("_") and not path.name.startswith("__") and (path.suffix == ".py" or path.is_dir())
    }
    runtime = next(c for c in _contracts() if c["type"] == "forbidden")
    # Each private module is either runtime (held by the contract) or part of the CLI side.
    assert private <= set(runtime["source_modules"]) | set(runtime["forbidden_modules"])  # type: ignore[arg-type]


def test_the_contracts_hold() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The old circle: ids checked in the client module that imports the request builders.
        ("_requests.py", "from ._base import ClientBase  # noqa", "No import cycles"),
        ("_bulk.py", "from .testing import LocalWillow  # noqa", "imports nothing from the CLI"),
        ("_async/_client.py", "from .. import cli  # noqa", "imports nothing from the CLI"),
    ],
)
def test_the_contracts_catch_a_violation(tmp_path: Path, module: str, line: str, broken: str) -> None:
    copy = tmp_path / "willow_ext"
    shutil.copytree(ROOT / "willow_ext", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert broken in done.stdout.replace("\n", " ")
