"""Semantic versions tied to the spec diff, and the changelog entry that goes with them.

The rule (https://semver.org/): a breaking API change is a major bump, a new operation a minor one,
any other client-relevant change a patch. Entries follow Keep a Changelog
(https://keepachangelog.com/en/1.1.0/): Added / Changed / Removed sections under a version heading.
"""

from __future__ import annotations

import re
from typing import Literal

from willow_ext._spec_diff import SpecChange

__all__ = ["Bump", "bump_version", "changelog_entry", "insert_changelog_entry", "propose_bump"]

Bump = Literal["major", "minor", "patch"]

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_UNRELEASED = re.compile(r"^## \[Unreleased\][^\n]*\n", re.MULTILINE)


def propose_bump(changes: list[SpecChange]) -> Bump | None:
    """The bump the changes call for; ``None`` when nothing client-relevant changed."""
    if not changes:
        return None
    if any(change.breaking for change in changes):
        return "major"
    if any(change.side == "operation" and change.kind == "added" for change in changes):
        return "minor"
    return "patch"


def bump_version(version: str, bump: Bump) -> str:
    """``0.1.0`` + ``minor`` -> ``0.2.0``. Only plain ``X.Y.Z`` versions are accepted."""
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"not a plain X.Y.Z version: {version!r}")
    major, minor, patch = (int(part) for part in match.groups())
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _line(change: SpecChange) -> str:
    flag = "**BREAKING** " if change.breaking else ""
    side = f" ({change.side} side)" if change.side in ("request", "response") else ""
    return f"- {flag}`{change.where}`: {change.what}{side}"


def changelog_entry(changes: list[SpecChange], version: str, date: str) -> str:
    """A Keep a Changelog section for ``version`` drafted from the spec changes (breaking ones first)."""
    sections: dict[str, list[SpecChange]] = {"Added": [], "Changed": [], "Removed": []}
    for change in changes:
        sections[{"added": "Added", "changed": "Changed", "removed": "Removed"}[change.kind]].append(change)
    lines = [f"## [{version}] - {date}", "", "Regenerated from an updated Willow API spec.", ""]
    for title, items in sections.items():
        if items:
            ordered = sorted(items, key=lambda change: not change.breaking)  # stable: keeps diff order
            lines += [f"### {title}", "", *(_line(change) for change in ordered), ""]
    return "\n".join(lines).rstrip() + "\n"


def insert_changelog_entry(changelog: str, entry: str) -> str:
    """``changelog`` with ``entry`` placed right after the ``[Unreleased]`` section's heading line
    and whatever that section holds, i.e. before the newest released version."""
    heading = _UNRELEASED.search(changelog)
    if heading is None:
        raise ValueError("CHANGELOG.md has no '## [Unreleased]' heading")
    next_version = re.compile(r"^## \[", re.MULTILINE).search(changelog, heading.end())
    at = next_version.start() if next_version else len(changelog)
    before = changelog[:at].rstrip("\n") + "\n\n"
    return before + entry.rstrip("\n") + "\n\n" + changelog[at:]
