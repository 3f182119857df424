"""The semver rule and the changelog draft (willow_ext._spec_semver)."""

from __future__ import annotations

from pathlib import Path

import pytest

from willow_ext._spec_diff import SpecChange
from willow_ext._spec_semver import bump_version, changelog_entry, insert_changelog_entry, propose_bump

ROOT = Path(__file__).resolve().parent.parent

OP_ADDED = SpecChange("added", "GET /twins/{id}/history", "operation added", False, "operation")
FIELD_ADDED = SpecChange("added", "Model.version", "required field added", False, "response")
NOW_OPTIONAL = SpecChange("changed", "Twin.modelId", "became optional", True, "response")


@pytest.mark.parametrize(
    ("changes", "bump"),
    [
        ([], None),
        ([FIELD_ADDED], "patch"),
        ([FIELD_ADDED, OP_ADDED], "minor"),
        ([OP_ADDED, NOW_OPTIONAL], "major"),
    ],
)
def test_propose_bump(changes: list[SpecChange], bump: str | None) -> None:
    assert propose_bump(changes) == bump


def test_bump_version() -> None:
    assert [bump_version("0.1.0", b) for b in ("major", "minor", "patch")] == ["1.0.0", "0.2.0", "0.1.1"]
    with pytest.raises(ValueError, match=r"X\.Y\.Z"):
        bump_version("1.0.0rc1", "patch")


def test_changelog_entry_groups_by_kind_breaking_first() -> None:
    entry = changelog_entry([FIELD_ADDED, OP_ADDED, NOW_OPTIONAL], "1.0.0", "2026-11-27")
    assert entry.splitlines()[0] == "## [1.0.0] - 2026-11-27"
    added = entry.split("### Added\n\n")[1].split("\n\n")[0].splitlines()
    assert added == [
        "- `Model.version`: required field added (response side)",
        "- `GET /twins/{id}/history`: operation added",
    ]
    assert "### Changed\n\n- **BREAKING** `Twin.modelId`: became optional (response side)\n" in entry
    assert "### Removed" not in entry


def test_entry_goes_between_unreleased_and_the_newest_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    entry = changelog_entry([OP_ADDED], "0.2.0", "2026-11-27")
    updated = insert_changelog_entry(changelog, entry)
    assert updated.index("## [Unreleased]") < updated.index("## [0.2.0]") < updated.index("## [0.1.0]")
    assert updated.replace(entry, "").replace("\n\n\n", "\n\n") == changelog
    with pytest.raises(ValueError, match="Unreleased"):
        insert_changelog_entry("# Changelog\n", entry)
