"""Contract: the client against the local server, which validates every request and every
response against openapi/willow-api.yaml (openapi-core, unknown request members rejected)."""

from __future__ import annotations

import httpx
import pytest
from willow_api_client.api.time_series import post_telemetry
from willow_api_client.models import TimeSeriesWrite

from tests.contract.operations import Ids, exercise_all_operations
from tests.test_spec import operations as spec_operations
from willow_ext import BadRequestError, WillowClient
from willow_ext.testing import LocalWillow


def test_all_43_operations_pass_request_and_response_validation(willow: LocalWillow, client: WillowClient) -> None:
    exercise_all_operations(client, Ids())
    seen = set(willow.app.stats.by_operation)
    assert seen == set(spec_operations()), sorted(set(spec_operations()) ^ seen)
    assert willow.app.stats.rejected_requests == []
    assert willow.app.stats.response_violations == []


@pytest.mark.expect_rejections
def test_a_misspelled_request_field_is_rejected(willow: LocalWillow, client: WillowClient) -> None:
    point = TimeSeriesWrite.from_dict(
        {"connectorId": "C", "dtId": "PNT-AHU-1-SAT", "sourceTimestamp": "2024-10-01T00:00:00Z", "scalarValue": 1.0}
    )
    point.additional_properties["sourceTimeStampp"] = "typo"  # a field the spec does not have
    with pytest.raises(BadRequestError, match="sourceTimeStampp"):
        client.call(post_telemetry.sync_detailed, client=client.generated, body=[point])
    assert any("sourceTimeStampp" in reason for reason in willow.app.stats.rejected_requests)


@pytest.mark.expect_rejections
def test_a_missing_required_query_parameter_is_rejected(willow: LocalWillow, client: WillowClient) -> None:
    client.twins.get("AHU-1")
    response = client.http_client.get("/time-series/PNT-AHU-1-SAT", params={"start": "2024-10-01T00:00:00Z"})
    assert response.status_code == 400
    assert "end" in response.text


def test_the_asgi_app_also_mounts_in_process() -> None:
    from willow_ext.testing import Store, WillowApp, seed_building

    app = WillowApp(seed_building(Store()), clients={"c": "s"})
    transport = httpx.ASGITransport(app=app)

    async def run() -> list[str]:
        from willow_ext import AsyncWillowClient

        async with AsyncWillowClient(
            base_url="http://127.0.0.1/api/v3", client_id="c", client_secret="s", transport=transport
        ) as client:
            return [
                t.id async for t in client.twins.iter({"modelFilter": {"modelIds": ["dtmi:com:willowinc:Level;1"]}})
            ]

    import asyncio

    assert asyncio.run(run()) == ["BLDG-1-L01", "BLDG-1-L02", "BLDG-1-L03"]
