"""Per-point telemetry rules (issue 12/14) and the template-built models' forward compatibility."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import orjson
import pytest
from willow_api_client.api.time_series.post_telemetry import _get_kwargs as telemetry_request
from willow_api_client.models import Insight, InsightType, TimeSeriesWrite
from willow_api_client.types import UNSET

from tests.conftest import FAST_RETRY
from willow_ext import InvalidRequestError, WillowClient, ingest
from willow_ext._errors import InvalidPointError
from willow_ext._requests import telemetry_point, telemetry_points
from willow_ext.testing import LocalWillow

STAMP = "2026-01-01T00:00:00+00:00"


def point(**extra: Any) -> dict[str, Any]:
    return {"connectorId": "CON-1", "sourceTimestamp": STAMP, "scalarValue": 1.5, **extra}


def test_a_point_named_only_by_twin_id_is_sent_as_dt_id() -> None:
    checked = telemetry_point(point(twinId="PNT-1"))
    assert checked.to_dict() == {"connectorId": "CON-1", "sourceTimestamp": STAMP, "scalarValue": 1.5, "dtId": "PNT-1"}


def test_dt_id_and_twin_id_that_agree_are_one_reference() -> None:
    assert telemetry_point(point(dtId="PNT-1", twinId="PNT-1")).to_dict()["dtId"] == "PNT-1"


def test_dt_id_and_twin_id_that_differ_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidPointError, match="differ") as caught:
        telemetry_point(point(dtId="PNT-1", twinId="PNT-2"))
    assert isinstance(caught.value, InvalidRequestError)
    assert "'PNT-1'" in caught.value.reason
    assert "'PNT-2'" in caught.value.reason


def test_a_model_named_only_by_twin_id_is_sent_as_dt_id() -> None:
    model = TimeSeriesWrite(connector_id="C", source_timestamp=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), scalar_value=2.0)
    model.twin_id = "PNT-9"
    checked = telemetry_point(model)
    assert isinstance(checked, TimeSeriesWrite)
    assert (checked.dt_id, "twinId" in checked.to_dict()) == ("PNT-9", False)
    assert (model.dt_id, model.twin_id) == (UNSET, "PNT-9")  # the caller's object is left alone


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (point(dtId="P", scalarValue=math.nan), "not a JSON number"),
        (point(dtId="P", scalarValue=-math.inf), "not a JSON number"),
        (point(dtId="P", scalarValue=1 << 70), "wider than 64 bits"),
        (point(dtId="P", scalarValue={"v": math.inf}), "scalarValue: v: inf"),
        (point(dtId="P", properties={"a": [1, math.nan]}), "properties: a: nan"),
        (point(dtId="P", properties={"when": dt.date(2026, 1, 1)}), "has no JSON form"),
        (point(dtId="P", properties={1: "x"}), "key 1 is not a string"),
        (point(dtId="P", connectorId=7), "connectorId must be a string"),
        (point(), "neither dtId nor externalId"),
    ],
)
def test_values_strict_json_cannot_carry_are_refused_locally(bad: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidPointError, match=reason):
        telemetry_point(bad)


def test_a_batch_of_checked_points_is_strict_json_encoded_once() -> None:
    checked = telemetry_points([point(dtId="P", scalarValue=index) for index in range(3)])
    request = telemetry_request(body=checked)  # type: ignore[arg-type]
    assert "json" not in request
    assert orjson.loads(request["content"]) == [point(dtId="P", scalarValue=index) for index in range(3)]


def test_ingest_refuses_bad_points_without_failing_their_batch() -> None:
    good = [point(dtId="PNT-X", sourceTimestamp=f"2026-01-01T00:00:0{i}+00:00") for i in range(5)]
    mixed: list[dict[str, Any]] = [*good[:2], point(dtId="PNT-X", scalarValue=math.nan), *good[2:]]
    mixed.append(point(twinId="PNT-X", sourceTimestamp="2026-01-01T00:01:00+00:00"))
    with LocalWillow(seed=True) as willow, WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        report = ingest(client, mixed, batch_size=100, concurrency=1)
        assert (report.sent, report.requests) == (6, 1)
        assert [(f.first_index, f.reason) for f in report.failures] == [
            (2, "invalid point: scalarValue nan is not a JSON number")
        ]
        assert len(willow.store.telemetry["PNT-X"][0]) == 6


def test_open_enums_and_unknown_fields_survive_the_fast_models() -> None:
    wire = {"id": "I-1", "type": "fault", "state": "someday-new", "futureField": {"x": 1}, "lastResolvedDate": None}
    insight = Insight.from_dict(wire)
    assert insight.type_ is InsightType.FAULT
    assert (insight.state, type(insight.state)) == ("someday-new", str)
    assert insight["futureField"] == {"x": 1}
    assert insight.last_resolved_date is None
    assert insight.to_dict() == wire
