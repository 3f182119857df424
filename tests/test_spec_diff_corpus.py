"""The spec differ on a corpus of mutations of the pinned spec (tests/spec_mutations.py): every case
is classified correctly, breaking or not, on the right side (request, response, operation)."""

from __future__ import annotations

import pytest

from tests.spec_mutations import CASES, Case, documents
from willow_ext._spec_diff import SpecChange, diff_specs, format_changes
from willow_ext._spec_semver import propose_bump


def verdict(changes: list[SpecChange]) -> tuple[bool, set[str]]:
    """(breaking?, the sides that decide it): breaking changes' sides, else every change's side."""
    breaking = [change for change in changes if change.breaking]
    return bool(breaking), {change.side for change in (breaking or changes)}


def test_corpus_is_large_enough_and_covers_both_verdicts_and_sides() -> None:
    assert len(CASES) >= 30
    assert {case.breaking for case in CASES} == {True, False}
    assert {"request", "response", "operation"} <= {case.side for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_mutation_is_classified(case: Case) -> None:
    old, new = documents(case)
    changes = diff_specs(old, new, open_enums=case.open_enums)
    report = format_changes(changes)
    if case.side is None:
        assert changes == [], report
        return
    assert changes, f"{case.name}: not detected"
    assert verdict(changes) == (case.breaking, {case.side}), report
    assert (propose_bump(changes) == "major") == case.breaking


def test_the_model_id_case_names_the_field_and_both_sides() -> None:
    """Twin is sent (PUT /twins) and received: optional is fine to send, breaking to read."""
    case = next(case for case in CASES if "Twin.modelId" in case.name)
    changes = diff_specs(*documents(case))
    assert [(c.where, c.what, c.side, c.breaking) for c in changes] == [
        ("Twin.modelId", "became optional", "request", False),
        ("Twin.modelId", "became optional", "response", True),
    ]


def test_identical_documents_have_no_changes() -> None:
    old, _ = documents(CASES[0])
    assert diff_specs(old, old) == []
