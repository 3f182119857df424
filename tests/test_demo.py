"""The README's first command: the demo runs against the embedded server and finds no spec violation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_end_to_end() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "willow_ext.demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in ("1. OAuth2", "2. Twin search", "3. Twin graph", "4. Time series", "5. Insight trees", "6. A ticket"):
        assert step in out
    assert "read back 60 points" in out
    assert "INS 2.2: diagnostic step 3" in out
    assert "0 spec violations" in out
    assert "local-secret" not in out
