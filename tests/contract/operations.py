"""Every one of the 43 operations, called through willow_ext, against any server (local or Prism)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from willow_api_client.api.o_auth_2 import get_o_auth_2_token
from willow_api_client.models import TokenRequest

from willow_ext import WillowClient


@dataclass(frozen=True)
class Ids:
    twin: str = "AHU-1"
    capability: str = "PNT-AHU-1-SAT"
    other_capability: str = "PNT-AHU-2-SAT"
    room: str = "BLDG-1-L01-R01"
    model: str = "dtmi:com:willowinc:Room;1"


def exercise_all_operations(client: WillowClient, ids: Ids, *, fake_ids: bool = False) -> None:
    """Call each of the 43 operations at least once, raising on any error.

    With ``fake_ids`` (Prism), ids of created resources are not reused, since a mock stores nothing.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    # OAuth2: the token operation itself, called directly (auth also calls it implicitly).
    token = client.call(
        get_o_auth_2_token.sync_detailed,
        client=client.generated,
        body=TokenRequest(
            grant_type="client_credentials",
            client_id=client.credentials.client_id,
            client_secret=client.credentials.client_secret.get_secret_value(),
        ),
    )
    assert token is not None
    # Models
    assert isinstance(client.models.list(include_model_definitions=True), list)
    client.models.get(ids.model)
    # Twins
    page = client.twins.query_page({"modelFilter": {"modelIds": ["dtmi:com:willowinc:Space;1"]}}, page_size=2)
    assert page.content is not None
    stored = client.twins.upsert({"id": "CT-ROOM-1", "modelId": ids.model, "contents": {"name": "Contract room"}})
    twin_id = "CT-ROOM-1" if not fake_ids else stored.id
    client.twins.get(twin_id, include_relationships=True)
    client.twins.patch(twin_id, [{"op": "replace", "path": "/contents/name", "value": "Renamed"}])
    client.twins.get_by_ids([twin_id, ids.twin, "does-not-exist"], include_relationships=True)
    client.twins.graph(
        {
            "alias": "Twin",
            "id": ids.twin,
            "relationships": [
                {
                    "alias": "Points",
                    "relationshipNames": ["isCapabilityOf"],
                    "modelNames": [],
                    "exactModelMatch": False,
                    "direction": "Incoming",
                    "relationship": {},
                }
            ],
        }
    )
    client.twins.count({"modelFilter": {"modelIds": [ids.model], "exactModelMatch": True}})
    # Relationships
    relationship = client.relationships.upsert(
        {"sourceId": twin_id, "targetId": ids.room, "name": "isPartOf", "properties": {"source": "contract"}}
    )
    client.relationships.get(twin_id, relationship.id or "x")
    client.relationships.outgoing(twin_id)
    client.relationships.incoming(ids.room)
    # Time series
    client.time_series.write(
        [{"connectorId": "CON-CT", "dtId": ids.capability, "sourceTimestamp": now.isoformat(), "scalarValue": 21.5}]
    )
    client.time_series.page(ids.capability, now - dt.timedelta(hours=2), now, page_size=5)
    client.time_series.latest(ids.capability, include_data_quality=True)
    client.time_series.page_many([ids.capability, ids.other_capability], now - dt.timedelta(hours=2), now, page_size=5)
    client.time_series.latest_many([ids.capability, ids.other_capability])
    # Insights
    insights = client.insights.page(
        page=1,
        page_size=2,
        add_floor=True,
        sort=[{"field": "name", "sort": "asc"}],
        filters=[{"field": "type", "operator": "in", "value": ["fault", "energy", "diagnostic"]}],
    )
    first = (insights.items or [None])[0]
    client.insights.get(str(first.id) if first is not None else "x")
    # Events
    client.events.page(page=1, page_size=10, filters=[{"field": "eventTypeId", "operator": "=", "value": 1}])
    upserted = client.events.upsert(
        [
            {
                "name": "Contract test",
                "startTime": now.isoformat(),
                "eventTypeId": 1,
                "payload": json.dumps({"k": 1}),
                "payloadVersion": "1",
                "twinId": ids.room,
                "externalId": "ct-1",
                "eventSourceId": "contract",
                "createdDate": now.isoformat(),
                "lastModifiedDate": now.isoformat(),
            }
        ]
    )
    assert upserted.events_created_count is not None
    events = client.events.page(filters=[{"field": "externalId", "operator": "equals", "value": "ct-1"}])
    event_id = str((events.items or [None])[0].id) if events.items else "x"  # type: ignore[union-attr]
    client.events.get(event_id)
    client.events.types()
    client.events.upload_files(
        [
            (
                "events.json",
                json.dumps(
                    [
                        {
                            "name": "From file",
                            "startTime": now.isoformat(),
                            "eventTypeId": 2,
                            "payload": None,
                            "payloadVersion": None,
                            "twinId": None,
                            "createdDate": now.isoformat(),
                            "lastModifiedDate": now.isoformat(),
                        }
                    ]
                ).encode(),
                "application/json",
            )
        ]
    )
    client.events.delete([event_id])
    # Tickets
    client.tickets.page(page=1, page_size=1000)
    ticket = client.tickets.create(
        {
            "summary": "Contract ticket",
            "description": "Created by the contract suite",
            "twinId": ids.twin,
            "latitude": 0.1,
            "longitude": 0.1,
        }
    )
    ticket_id = str(ticket.id)
    client.tickets.get(ticket_id)
    client.tickets.update(ticket_id, {"summary": "Contract ticket (edited)"})
    attachment_ticket = ticket_id
    attachment_id = "x"
    if not fake_ids:
        server_tickets = (
            client.tickets.page(filters=[{"field": "summary", "operator": "startsWith", "value": "AHU-1 supply"}]).items
            or []
        )
        attachment_ticket = str(server_tickets[0].id)
        attachment_id = _seed_attachment_id()
    assert client.tickets.attachment(attachment_ticket, attachment_id)
    # Ticket metadata
    for kind in ("categories", "job-types", "service-needed"):
        client.ticket_metadata.page(kind, page=1, page_size=50)  # type: ignore[arg-type]
        created = client.ticket_metadata.create(kind, f"Contract {kind}")  # type: ignore[arg-type]
        client.ticket_metadata.update(kind, str(created.id), {"name": f"Contract {kind} (edited)"})  # type: ignore[arg-type]
    client.ticket_metadata.statuses()
    client.ticket_metadata.priorities()


def _seed_attachment_id() -> str:
    from willow_ext.testing._seed import _uid

    return _uid("photo-1")
