"""The MockTransport validation wrapper really rejects requests that break the spec."""

from __future__ import annotations

import httpx
import pytest

from tests.validating import mock_transport


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202)


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        (
            "POST",
            "/api/v3/time-series",
            {"json": [{"connectorId": "C", "dtId": "X", "sourceTimeStamp": "2024-10-01T00:00:00Z", "scalarValue": 1}]},
        ),
        ("POST", "/api/v3/time-series/ids", {"json": ["X"], "params": {"start": "2024-10-01T00:00:00Z"}}),
        ("PUT", "/api/v3/nowhere", {}),
        ("POST", "/api/v3/twins", {"json": {"pageSize": 5000}}),
    ],
)
def test_spec_violations_are_caught(method: str, path: str, kwargs: dict[str, object]) -> None:
    http = httpx.Client(base_url="https://u.app.willowinc.com", transport=mock_transport(handler))
    with http, pytest.raises(AssertionError, match="violates the spec"):
        http.request(method, path, headers={"Authorization": "Bearer t"}, **kwargs)  # type: ignore[arg-type]


def test_a_conforming_request_passes() -> None:
    body = [{"connectorId": "C", "dtId": "X", "sourceTimestamp": "2024-10-01T00:00:00Z", "scalarValue": 1}]
    with httpx.Client(base_url="https://u.app.willowinc.com", transport=mock_transport(handler)) as http:
        assert http.post("/api/v3/time-series", json=body, headers={"Authorization": "Bearer t"}).status_code == 202
