"""The generated package: complete, importable, and able to read every recorded response."""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import willow_api_client
from dateutil.parser import isoparse
from willow_api_client import Client
from willow_api_client.api.tickets import get_tickets_ticket_id
from willow_api_client.models import DigitalTwinRelationship, Ticket, TicketPriorityLevel, Twin

ROOT = Path(__file__).resolve().parent.parent
SAMPLES: list[dict[str, Any]] = json.loads((ROOT / "tests" / "fixtures" / "reference_samples.json").read_text())


def all_modules() -> list[str]:
    prefix = willow_api_client.__name__ + "."
    return sorted(m.name for m in pkgutil.walk_packages(willow_api_client.__path__, prefix))


def api_modules() -> list[str]:
    return [name for name in all_modules() if ".api." in name and not name.endswith("__init__")]


def test_every_generated_module_imports() -> None:
    modules = all_modules()
    assert len(modules) > 100
    for name in modules:
        importlib.import_module(name)


def test_one_module_per_operation_with_all_four_entry_points() -> None:
    modules = [m for m in api_modules() if m.count(".") == 3]
    assert len(modules) == 43
    for name in modules:
        module = importlib.import_module(name)
        for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
            assert callable(getattr(module, function)), f"{name}.{function}"


def test_every_generated_file_names_its_regeneration_command() -> None:
    package = ROOT / "generated" / "willow_api_client"
    for path in package.rglob("*.py"):
        first_lines = path.read_text().splitlines()[:2]
        assert "DO NOT EDIT" in first_lines[0], path
        assert "scripts/regen.sh" in first_lines[1], path


def _same_instants(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _same_instants(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_same_instants(item) for item in value]
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        return isoparse(value)
    return value


def _client_answering(status: int, body: Any) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    client = Client(base_url="https://unit.test/api/v3")
    client.set_httpx_client(httpx.Client(base_url="https://unit.test/api/v3", transport=httpx.MockTransport(handler)))
    return client


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["source"] for s in SAMPLES])
def test_reference_response_samples_parse_into_generated_models(sample: dict[str, Any]) -> None:
    module = importlib.import_module(f"willow_api_client.api.{sample['module']}")
    client = _client_answering(sample["status"], sample["body"])
    # The generated parse step, exactly as sync_detailed runs it on a real response.
    parsed = module._parse_response(client=client, response=httpx.Response(sample["status"], json=sample["body"]))
    assert parsed is not None
    # Round trip: what was parsed serialises back to the same JSON (nothing dropped), up to how
    # timestamps are spelled ("Z" vs "+00:00", 7 fractional digits truncated to 6).
    dumped = [item.to_dict() for item in parsed] if isinstance(parsed, list) else parsed.to_dict()
    assert _same_instants(dumped) == _same_instants(sample["body"])


def test_relationship_sample_keeps_capital_id() -> None:
    twin = Twin.from_dict(next(s for s in SAMPLES if "ids 200" in s["source"])["body"][0])
    assert twin.incoming_relationships
    assert twin.incoming_relationships[0].additional_properties["Id"] == "Room-L01-100_isPartOf_TW-DD-II-L01"
    assert twin.last_update_time is not None
    assert twin.last_update_time.microsecond == 406281


def test_forward_compatible_unknown_enum_value_and_unknown_fields() -> None:
    body = {
        "id": "T-1",
        "summary": "Leak",
        "ticketPriority": {"id": "p", "name": "Critical", "priorityLevel": "critical", "sla": "4h"},
        "ticketStatus": {"id": "s", "name": "Open"},
        "brandNewField": {"nested": [1, 2]},
    }
    client = _client_answering(200, body)
    ticket = get_tickets_ticket_id.sync(ticket_id="T-1", client=client)
    assert isinstance(ticket, Ticket)
    assert ticket.ticket_priority is not None
    assert ticket.ticket_priority.priority_level == "critical"  # unknown value kept as a string
    assert ticket.ticket_priority.additional_properties == {"sla": "4h"}
    assert ticket["brandNewField"] == {"nested": [1, 2]}
    assert ticket.to_dict() == body
    known = Ticket.from_dict({**body, "ticketPriority": {"id": "p", "priorityLevel": "high"}})
    assert known.ticket_priority is not None
    assert known.ticket_priority.priority_level is TicketPriorityLevel.HIGH


def test_relationship_id_reads_every_spelling() -> None:
    from willow_ext import relationship_id

    sample = next(s for s in SAMPLES if "PUT /twins/relationships" in s["source"])["body"]
    assert (
        relationship_id(DigitalTwinRelationship.from_dict(sample)) == "AHU-1_isFedBy_substance_ChilledWater_Chiller-1"
    )
    assert relationship_id({"id": "a", "Id": "b"}) == "a"
    assert relationship_id({"$relationshipId": "c"}) == "c"
    assert relationship_id({"targetId": "x"}) is None
