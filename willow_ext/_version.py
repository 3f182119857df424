"""The installed distribution's version (``willow_ext.__version__``, ``willow --version``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "installed_version"]

DISTRIBUTION = "willow-api"


def installed_version() -> str:
    """The version pip recorded for ``willow-api``; ``0+unknown`` when run from a bare source tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
