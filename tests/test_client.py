"""Client construction, safety (HTTPS, id encoding, redirects), typed results and malformed bodies."""

from __future__ import annotations

import logging

import httpx
import pytest
from willow_api_client.api.events import get_events_types
from willow_api_client.api.twins import twins_v2_get_twin_by_id_async
from willow_api_client.models import Twin

from tests.conftest import FAST_RETRY
from tests.dual import AsyncAsSync
from tests.validating import api_transport, mock_transport
from willow_ext import (
    APIStatusError,
    AsyncWillowClient,
    InvalidRequestError,
    NotFoundError,
    ResponseValidationError,
    WillowClient,
    base_url_for,
)
from willow_ext.testing import LocalWillow


def test_instance_builds_the_documented_server_url() -> None:
    assert base_url_for("contoso") == "https://contoso.app.willowinc.com/api/v3"
    with pytest.raises(InvalidRequestError):
        base_url_for("evil.com/x")


@pytest.mark.parametrize(
    "base_url", ["http://example.com/api/v3", "ftp://127.0.0.1/api/v3", "http://10.0.0.1/api/v3", "https:///api/v3"]
)
def test_https_is_required_except_for_loopback(base_url: str) -> None:
    with pytest.raises(InvalidRequestError, match="https"):
        WillowClient(base_url=base_url, client_id="c", client_secret="s")


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080/api/v3", "http://localhost/api/v3", "http://[::1]/api/v3"])
def test_plain_http_is_allowed_on_loopback(base_url: str) -> None:
    WillowClient(base_url=base_url, client_id="c", client_secret="s").close()


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WILLOW_INSTANCE", "contoso")
    monkeypatch.setenv("WILLOW_CLIENT_ID", "cid")
    monkeypatch.setenv("WILLOW_CLIENT_SECRET", "secret")
    monkeypatch.delenv("WILLOW_BASE_URL", raising=False)
    with WillowClient.from_env() as client:
        assert client.base_url == "https://contoso.app.willowinc.com/api/v3"
    monkeypatch.delenv("WILLOW_CLIENT_SECRET")
    with pytest.raises(InvalidRequestError, match="client_secret"):
        WillowClient.from_env()


TRICKY_IDS = ["a/b#c", "../tickets/x", "x?y=1&z=2", "50%", "naïve-ünïcode-温度", "sp ace", "semi;colon", "...", "%2F"]


def test_ids_are_percent_encoded_and_reach_the_right_resource(willow: LocalWillow, client: WillowClient) -> None:
    for twin_id in TRICKY_IDS:
        client.twins.upsert({"id": twin_id, "modelId": "dtmi:com:willowinc:Room;1", "contents": {"name": twin_id}})
    for twin_id in TRICKY_IDS:
        twin = client.twins.get(twin_id)
        assert twin.id == twin_id
        assert twin.contents is not None
        assert twin.contents["name"] == twin_id
    relationship = client.relationships.upsert({"sourceId": "a/b#c", "targetId": "../tickets/x", "name": "isPartOf"})
    assert relationship.id is not None
    assert client.relationships.get("a/b#c", relationship.id).target_id == "../tickets/x"
    assert [r.source_id for r in client.relationships.incoming("../tickets/x")] == ["a/b#c"]
    with pytest.raises(NotFoundError):
        client.tickets.get("../twins/AHU-1")  # stays inside /tickets/


@pytest.mark.parametrize("bad", ["", "  ", ".", ".."])
def test_ids_that_cannot_name_a_resource_are_refused_before_sending(bad: str) -> None:
    sent: list[httpx.Request] = []
    client = WillowClient(
        base_url="https://u.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=mock_transport(lambda r: sent.append(r) or httpx.Response(500)),
    )
    with pytest.raises(InvalidRequestError):
        client.twins.get(bad)
    with pytest.raises(InvalidRequestError):
        client.twins.get_by_ids(["ok", bad])
    with pytest.raises(InvalidRequestError):
        client.twins.get_by_ids("one-string-not-a-list")
    assert sent == []


def test_a_redirect_is_never_followed_even_by_a_callers_client_that_follows_them() -> None:
    seen: dict[str, httpx.Headers] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers
        if request.url.host == "unit.app.willowinc.com":
            return httpx.Response(302, headers={"location": "https://elsewhere.example/api/v3/twins/T-1"})
        return httpx.Response(200, json={"id": "T-1", "modelId": "dtmi:x;1"})

    http = httpx.Client(transport=api_transport(handler), follow_redirects=True)
    with (
        WillowClient(
            base_url="https://unit.app.willowinc.com/api/v3", client_id="c", client_secret="s", http_client=http
        ) as client,
        pytest.raises(APIStatusError) as info,
    ):
        client.twins.get("T-1")
    assert info.value.status_code == 302
    assert seen["unit.app.willowinc.com"]["authorization"] == "Bearer tok"
    assert "elsewhere.example" not in seen  # neither the token nor the request went there
    http.close()


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b'{"modelId": "dtmi:x;1"}', "application/json", "required members missing or null: id"),
        (b'{"id": "T-1", "modelId": "dtm', "application/json", "body is not JSON"),
        (b"<html><body>Gateway login</body></html>", "text/html", "answered HTML"),
        (b"[1, 2, 3]", "application/json", "the spec expects an object"),
    ],
)
def test_malformed_success_bodies_raise_response_validation_error(body: bytes, content_type: str, needle: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    client = WillowClient(
        base_url="https://u.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=api_transport(handler),
        retry=FAST_RETRY,
    )
    with client, pytest.raises(ResponseValidationError) as info:
        client.twins.get("T-1")
    assert needle in str(info.value)
    assert body[:20].decode(errors="replace") in str(info.value)
    assert info.value.status_code == 200


def test_a_malformed_required_timestamp_is_a_validation_error_and_a_nullable_one_is_kept_raw() -> None:
    event = {
        "id": "E-1",
        "name": "x",
        "startTime": "yesterday-ish",
        "eventTypeId": 1,
        "payload": None,
        "payloadVersion": None,
        "twinId": None,
        "createdDate": "2024-01-01T00:00:00Z",
        "lastModifiedDate": "2024-01-01T00:00:00Z",
    }
    twin = {"id": "T-1", "modelId": "dtmi:x;1", "lastUpdateTime": "not a date"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=event if "/events/" in request.url.path else twin)

    with WillowClient(
        base_url="https://u.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=api_transport(handler),
    ) as client:
        with pytest.raises(ResponseValidationError, match="ValueError"):
            client.events.get("E-1")
        # The generated parser reads a nullable timestamp as a union and keeps what it cannot parse.
        assert client.twins.get("T-1").last_update_time == "not a date"


def test_error_bodies_the_generated_parser_cannot_read_still_give_typed_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=b"<html>Not here</html>", headers={"content-type": "text/html"})

    client = WillowClient(
        base_url="https://u.app.willowinc.com/api/v3",
        client_id="c",
        client_secret="s",
        transport=api_transport(handler),
    )
    with client, pytest.raises(NotFoundError) as info:
        client.twins.get("T-1")
    assert info.value.body == "<html>Not here</html>"


def test_every_generated_operation_works_through_the_configured_client(
    willow: LocalWillow, client: WillowClient
) -> None:
    # Low level, as generated: error unions, no raising.
    if isinstance(client, AsyncAsSync):
        detailed = client.runner.run(twins_v2_get_twin_by_id_async.asyncio_detailed("AHU-1", client=client.generated))
    else:
        detailed = twins_v2_get_twin_by_id_async.sync_detailed("AHU-1", client=client.generated)
    assert detailed.status_code == 200
    # Through call(): parsed body or typed error.
    twin = client.call(twins_v2_get_twin_by_id_async.sync_detailed, "AHU-1", client=client.generated)
    assert isinstance(twin, Twin)
    assert twin.id == "AHU-1"
    types = client.call(get_events_types.sync_detailed, client=client.generated)
    assert isinstance(types, list)
    assert [t.to_dict()["name"] for t in types] == [
        "CalendarEvent",
        "WeatherForecast",
        "UtilityBill",
    ]
    with pytest.raises(NotFoundError):
        client.call(twins_v2_get_twin_by_id_async.sync_detailed, "no-such-twin", client=client.generated)


def test_request_logging_is_one_debug_line_per_attempt(
    willow: LocalWillow, client: WillowClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="willow_ext")
    client.twins.get("AHU-1", include_relationships=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "willow_ext"]
    assert any(line.startswith("POST /api/v3/oauth2/token -> 200 attempt=1 elapsed_ms=") for line in lines)
    assert any(line.startswith("GET /api/v3/twins/AHU-1 -> 200 attempt=1") for line in lines)
    assert all("includeRelationships" not in line and "local-secret" not in line for line in lines)


def test_user_transport_timeouts_and_event_hooks_are_used(willow: LocalWillow) -> None:
    seen: list[str] = []
    transport = httpx.HTTPTransport(retries=0)
    hooks = {"request": [lambda request: seen.append(request.url.path)]}
    with WillowClient(**willow.client_kwargs(transport=transport, event_hooks=hooks, timeout=5.0)) as client:
        client.twins.get("AHU-1")
        assert client.http_client.timeout.read == 5.0
    assert "/api/v3/twins/AHU-1" in seen


async def test_async_client_same_surface(willow: LocalWillow, aclient: AsyncWillowClient) -> None:
    twin = await aclient.twins.get("AHU-1", include_relationships=True)
    assert twin.outgoing_relationships
    assert [r.name for r in await aclient.relationships.outgoing("AHU-1")].count("serves") == 3
    with pytest.raises(NotFoundError):
        await aclient.twins.get("nope")
    ids = [t.id async for t in aclient.twins.iter({"modelFilter": {"modelIds": ["dtmi:com:willowinc:Level;1"]}})]
    assert ids == ["BLDG-1-L01", "BLDG-1-L02", "BLDG-1-L03"]


@pytest.mark.newer_server
def test_unknown_fields_and_enum_values_pass_through_willow_ext(willow: LocalWillow, client: WillowClient) -> None:
    ticket = client.tickets.create({"summary": "x"})
    willow.store.tickets[str(ticket.id)]["ticketPriority"] = {"id": "p", "name": "P0", "priorityLevel": "critical"}
    willow.store.tickets[str(ticket.id)]["slaMinutes"] = 30
    again = client.tickets.get(str(ticket.id))
    assert again.ticket_priority is not None
    assert again.ticket_priority.priority_level == "critical"
    assert again["slaMinutes"] == 30


def test_the_pytest_plugin_fixtures(local_willow_client: WillowClient) -> None:
    # willow_ext ships these fixtures (pytest11 entry point "willow") for users' own tests.
    assert local_willow_client.twins.get("AHU-1").id == "AHU-1"
