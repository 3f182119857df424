"""The audit's facts as LocalWillow now models them, and the fidelity table as CI checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from willow_api_client.api.time_series import post_telemetry
from willow_api_client.models import TimeSeriesWrite

from willow_ext import WillowClient, sort_by, where
from willow_ext.testing import LocalWillow

ROOT = Path(__file__).resolve().parent.parent


def _roots(willow: LocalWillow) -> list[dict[str, object]]:
    return sorted(
        (i for i in willow.store.insights.values() if i.get("scenarioId") is None), key=lambda i: str(i["id"])
    )


def test_insight_filters_resolve_entity_names_and_silently_drop_response_names(
    willow: LocalWillow, client: WillowClient
) -> None:
    roots = _roots(willow)
    roots[0]["lastStatus"] = "resolved"
    every = {tree.root.id for tree in client.insights.iter_trees()}
    assert len(every) == len(roots) > 1
    resolved = {tree.root.id for tree in client.insights.iter_trees(filters=[where("Status").equals("resolved")])}
    assert resolved == {roots[0]["id"]}
    # The response name does not resolve on the entity: Willow.Batch drops the filter (N9), unfiltered.
    ignored = {tree.root.id for tree in client.insights.iter_trees(filters=[where("lastStatus").equals("resolved")])}
    assert ignored == every


def test_insight_sorts_use_the_entity_name_last_occurred_date(willow: LocalWillow, client: WillowClient) -> None:
    roots = _roots(willow)
    for index, root in enumerate(roots):
        root["occurredDate"] = f"2026-01-{index + 1:02d}T00:00:00Z"
    newest_first = [tree.root.id for tree in client.insights.iter_trees(sort=[sort_by("LastOccurredDate").desc()])]
    assert newest_first == [root["id"] for root in reversed(roots)]


def test_a_point_named_only_by_twin_id_is_dropped_and_still_answered_202(willow: LocalWillow) -> None:
    # Direct use of the generated (sync) operation: what the README's "Time-series writes" warns about.
    before = willow.store.point_count()
    point = TimeSeriesWrite.from_dict(
        {"connectorId": "C", "twinId": "PNT-AHU-1-SAT", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1.5}
    )
    with WillowClient(**willow.client_kwargs()) as client:
        answer = post_telemetry.sync_detailed(client=client.generated, body=[point])
    assert answer.status_code == 202
    assert willow.store.point_count() == before
    assert willow.store.points_dropped == 1


def test_fidelity_table_in_the_readme_and_operations_table_are_current() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/fidelity.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    table = subprocess.run(
        [sys.executable, "scripts/fidelity.py"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert table.stdout in (ROOT / "README.md").read_text()
    assert "| **All** | 43 | 9 (21 %) | 14 (33 %) | 20 (47 %) |" in table.stdout
