"""`willow doctor`: safe reads only, every planted deviation found, nothing on a faithful server."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import OpenAPI

from willow_ext._operations import OPERATIONS
from willow_ext._probe import (
    OperationReport,
    RateLimiter,
    overrides_patch,
    probe,
    probe_steps,
    render_report,
    run_probe,
)
from willow_ext._tolerant import find_operation
from willow_ext.testing import LocalWillow
from willow_ext.testing._deviations import (
    bare_array,
    deviating,
    drop_member,
    enum_value,
    rename_member,
    status,
)
from willow_ext.testing._spec import load_spec

PLANTED = deviating(
    rename_member("GET", "/twins/{id}", "modelId", "modelID"),
    status("GET", "/models/{id}", 201),
    bare_array("POST", "/events"),
    enum_value("POST", "/insights", "items.*.type", "occupancy"),
    drop_member("GET", "/twins/{twinId}/relationships/outgoing", "*.targetId"),
)
EXPECTED = {
    ("GET /twins/{id}", "missing", "$.modelId"),
    ("GET /twins/{id}", "extra", "$.modelID"),
    ("GET /models/{id}", "status", "status"),
    ("POST /events", "shape", "$"),
    ("POST /insights", "enum", "$.items[*].type"),
    ("GET /twins/{twinId}/relationships/outgoing", "missing", "$[*].targetId"),
}


def attachment_ids(willow: LocalWillow) -> dict[str, str]:
    ticket, attachment = next(iter(willow.store.attachments))
    return {"ticket": ticket, "attachment": attachment}


def run(willow: LocalWillow, sent: list[httpx.Request] | None = None) -> tuple[list[OperationReport], dict[str, Any]]:
    hooks = {"request": [sent.append]} if sent is not None else {}
    return probe(
        willow.base_url, willow.client_id, willow.client_secret, known_ids=attachment_ids(willow), event_hooks=hooks
    )


def found(reports: list[OperationReport]) -> set[tuple[str, str, str]]:
    return {(r.operation, d.kind, d.where) for r in reports for d in r.differences}


@pytest.fixture(scope="module")
def planted() -> Iterator[tuple[list[OperationReport], dict[str, Any]]]:
    with LocalWillow(middleware=PLANTED) as willow:
        yield run(willow)


def test_the_plan_reads_every_safe_operation_and_nothing_else() -> None:
    planned = [find_operation(step.operation) for step in probe_steps()]
    assert all(f is not None and not f.writes for f in planned)
    safe = {f"{f.method} {f.path}" for f in OPERATIONS if not f.writes}
    assert {f"{f.method} {f.path}" for f in planned if f is not None} == safe
    assert len(safe) == 28


def test_a_faithful_server_conforms_everywhere_and_nothing_is_written() -> None:
    sent: list[httpx.Request] = []
    with LocalWillow() as willow:
        before = (
            len(willow.store.twins),
            len(willow.store.tickets),
            len(willow.store.events),
            willow.store.point_count(),
        )
        reports, patch = run(willow, sent)
        after = (
            len(willow.store.twins),
            len(willow.store.tickets),
            len(willow.store.events),
            willow.store.point_count(),
        )
        assert willow.app.stats.rejected_requests == []
    assert [(r.operation, r.outcome) for r in reports if r.outcome != "conforms"] == []
    assert len(reports) == 28
    assert patch == {"patches": []}
    assert before == after
    for request in sent:
        facts = find_operation(request.method, request.url.path, api_root="/api/v3")
        assert facts is not None, request.url.path
        assert not facts.writes, f"{request.method} {request.url.path}"
        if request.url.path.endswith(("/twins", "/insights", "/events", "/tickets", "/categories")):
            body = request.content.decode()
            assert '"pageSize": 1' in body or '"pageSize":1' in body


def test_every_planted_deviation_is_reported_and_nothing_else(planted: tuple[list[OperationReport], Any]) -> None:
    reports, _ = planted
    assert found(reports) == EXPECTED
    differs = {r.operation for r in reports if r.outcome == "differs"}
    assert differs == {operation for operation, _, _ in EXPECTED}
    assert all(r.outcome == "conforms" for r in reports if r.operation not in differs)


def test_each_difference_names_the_provenance_of_the_part_that_differs(
    planted: tuple[list[OperationReport], Any],
) -> None:
    reports, _ = planted
    by_key = {(r.operation, d.kind): d for r in reports for d in r.differences}
    assert by_key[("POST /insights", "enum")].provenance.startswith("src")  # InsightCore InsightType
    assert "occupancy" in by_key[("POST /insights", "enum")].detail
    assert by_key[("GET /models/{id}", "status")].provenance.startswith("published (response grade F)")
    assert "201" in by_key[("GET /models/{id}", "status")].detail
    assert by_key[("GET /twins/{id}", "missing")].provenance  # Twin: published, unmarked member
    assert "array" in by_key[("POST /events", "shape")].detail


def _validator(spec: dict[str, Any]) -> OpenAPI:
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": "/api/v3"}]
    spec.pop("security", None)
    spec["components"].pop("securitySchemes", None)
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.pop("security", None)
    return OpenAPI.from_dict(spec)


def _patched(spec: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for patch in patches:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in patch["pointer"].split("/")[1:]]
        node = out
        for part in parents:
            node = node[part]
        node[last] = copy.deepcopy(patch["value"])
    return out


def test_the_proposed_overrides_make_the_deviating_server_conform(planted: tuple[list[OperationReport], Any]) -> None:
    reports, patch = planted
    pointers = {p["pointer"] for p in patch["patches"]}
    assert pointers == {
        "/components/schemas/Twin/required",
        "/components/schemas/Twin/properties/modelID",
        "/paths/~1models~1{id}/get/responses/201",
        "/paths/~1events/post/responses/200/content/application~1json/schema",
        "/components/schemas/InsightType/enum",
        "/components/schemas/DigitalTwinRelationship/required",
    }
    assert all(p["why"] for p in patch["patches"])
    spec = _patched(load_spec(), patch["patches"])
    with LocalWillow(middleware=PLANTED) as willow, httpx.Client(base_url=willow.base_url) as http:
        token = http.post(
            "/oauth2/token",
            data={
                "client_id": willow.client_id,
                "client_secret": willow.client_secret,
                "grant_type": "client_credentials",
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        form = {
            "client_id": willow.client_id,
            "client_secret": willow.client_secret,
            "grant_type": "client_credentials",
        }
        again = run_probe(
            http, token_form=form, spec=spec, validator=_validator(spec), known_ids=attachment_ids(willow)
        )
    assert found(again) == set()
    assert overrides_patch(spec, again) == {"patches": []}
    text = render_report(reports, patch)
    assert "differs" in text
    assert "occupancy" in text


def test_the_report_never_contains_the_secret(planted: tuple[list[OperationReport], Any]) -> None:
    reports, patch = planted
    assert LocalWillow.client_secret not in render_report(reports, patch)


def test_rate_limiter_keeps_every_10_second_window_at_20() -> None:
    now = [0.0]
    sent: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    for _ in range(65):
        limiter.wait()
        sent.append(now[0])
        now[0] += 0.01
    for start in sent:
        assert sum(start <= t < start + 10 for t in sent) <= 20
    assert sent[-1] >= 30  # 65 requests need at least three full windows


def test_willow_doctor_command_writes_the_report_and_the_patch(tmp_path: Path) -> None:
    with LocalWillow() as willow:
        env = {
            "PATH": os.environ["PATH"],
            "WILLOW_BASE_URL": willow.base_url,
            "WILLOW_CLIENT_ID": willow.client_id,
            "WILLOW_CLIENT_SECRET": willow.client_secret,
        }
        report, patch = tmp_path / "doctor.md", tmp_path / "overrides.yaml"
        done = subprocess.run(
            [sys.executable, "-m", "willow_ext.cli", "doctor", "--report", str(report), "--patch", str(patch)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert done.returncode == 0, done.stderr
    assert "conforms  GET /models" in done.stdout
    assert "27 conforms, 0 differs, 1 skipped, 0 failed" in report.read_text()  # no attachment id to read
    assert yaml.safe_load(patch.read_text()) == {"patches": []}
    assert willow.client_secret not in done.stdout + report.read_text()


def test_refused_credentials_fail_every_step_without_leaking_the_secret() -> None:
    with LocalWillow() as willow:
        reports, patch = probe(willow.base_url, willow.client_id, "wrong-secret-value")
    assert {r.outcome for r in reports} == {"failed", "skipped"}
    assert reports[0].http_status in (400, 401)  # the token step itself
    assert "wrong-secret-value" not in render_report(reports, patch)
