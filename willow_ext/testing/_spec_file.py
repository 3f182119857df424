"""Where the pinned spec lives (standard library only: ``willow spec diff`` needs it without the testing extra)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["spec_path"]


def spec_path() -> Path:
    """The pinned spec: packaged in the wheel, or read from the source checkout."""
    packaged = resources.files("willow_ext.testing").joinpath("willow-api.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "openapi" / "willow-api.yaml"
