"""A small, realistic building to start from: models, twins, relationships, a day of telemetry,
insights with children, events and tickets."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from typing import Any

from ._store import Store, iso

__all__ = ["SEED_SITE_ID", "add_insight_trees", "seed_building"]

SEED_SITE_ID = "4e5fc229-ffd9-462a-882b-16b4a63b2a8a"
_NS = uuid.UUID("6f1c2d4e-0000-4000-8000-00000000a11e")

_MODELS: dict[str, list[str]] = {
    "dtmi:com:willowinc:Space;1": [],
    "dtmi:com:willowinc:Site;1": ["dtmi:com:willowinc:Space;1"],
    "dtmi:com:willowinc:Building;1": ["dtmi:com:willowinc:Space;1"],
    "dtmi:com:willowinc:Level;1": ["dtmi:com:willowinc:Space;1"],
    "dtmi:com:willowinc:Room;1": ["dtmi:com:willowinc:Space;1"],
    "dtmi:com:willowinc:Asset;1": [],
    "dtmi:com:willowinc:AirHandlingUnit;1": ["dtmi:com:willowinc:Asset;1"],
    "dtmi:com:willowinc:Capability;1": [],
    "dtmi:com:willowinc:Sensor;1": ["dtmi:com:willowinc:Capability;1"],
    "dtmi:com:willowinc:AirTemperatureSensor;1": ["dtmi:com:willowinc:Sensor;1", "dtmi:com:willowinc:Capability;1"],
    "dtmi:com:willowinc:RunSensor;1": ["dtmi:com:willowinc:Sensor;1", "dtmi:com:willowinc:Capability;1"],
    "dtmi:com:willowinc:ModeSensor;1": ["dtmi:com:willowinc:Sensor;1", "dtmi:com:willowinc:Capability;1"],
}


def _uid(name: str) -> str:
    return str(uuid.uuid5(_NS, name))


def _model(model_id: str, extends: list[str]) -> dict[str, Any]:
    name = model_id.split(":")[-1].split(";")[0]
    definition = {
        "@id": model_id,
        "@type": "Interface",
        "displayName": {"en": name},
        "extends": extends[:1],
        "@context": ["dtmi:dtdl:context;3"],
    }
    return {
        "id": model_id,
        "displayName": {"en": name},
        "description": {"en": f"A {name}."},
        "modelDefinition": json.dumps(definition),
        "uploadTime": "2024-08-30T03:33:54.7015118+00:00",
        "_extends": extends,
    }


def seed_building(store: Store, *, now: dt.datetime | None = None, interval_minutes: int = 15) -> Store:
    """Fill ``store`` with one site: a building, 3 levels, 12 rooms, 2 AHUs, 16 capabilities with a
    day of telemetry each (one value every ``interval_minutes``), insights, events and tickets."""
    now = (now or store.clock()).replace(second=0, microsecond=0)
    store.models.update({mid: _model(mid, ext) for mid, ext in _MODELS.items()})

    def twin(twin_id: str, model: str, **contents: Any) -> None:
        store.upsert_twin(
            {
                "id": twin_id,
                "modelId": f"dtmi:com:willowinc:{model};1",
                "contents": {"siteID": SEED_SITE_ID, "uniqueID": _uid(twin_id), **contents},
            }
        )

    def rel(source: str, name: str, target: str) -> None:
        store.upsert_relationship({"sourceId": source, "name": name, "targetId": target})

    twin("SITE-1", "Site", name="Harbour Point")
    twin("BLDG-1", "Building", name="Harbour Point Tower", code="HPT")
    rel("BLDG-1", "isPartOf", "SITE-1")
    capabilities: list[tuple[str, str]] = []  # (twin id, kind)
    for level in range(1, 4):
        level_id = f"BLDG-1-L{level:02d}"
        twin(level_id, "Level", name=f"Level {level}", code=f"L{level:02d}", levelNumber=level)
        rel(level_id, "isPartOf", "BLDG-1")
        for room in range(1, 5):
            room_id = f"{level_id}-R{room:02d}"
            twin(room_id, "Room", name=f"Room {level}{room:02d}")
            rel(room_id, "isPartOf", level_id)
            if level <= 2:  # rooms on levels 1-2 have temperature sensors
                cap = f"PNT-{room_id}-ZAT"
                twin(
                    cap,
                    "AirTemperatureSensor",
                    name=f"Room {level}{room:02d} Zone Air Temp",
                    unit="degC",
                    externalID=f"ext-{cap}",
                )
                rel(cap, "isCapabilityOf", room_id)
                capabilities.append((cap, "temperature"))
    for ahu in (1, 2):
        ahu_id = f"AHU-{ahu}"
        twin(ahu_id, "AirHandlingUnit", name=f"AHU {ahu}")
        rel(ahu_id, "locatedIn", "BLDG-1-L03")
        for level in range(1, 4):
            rel(ahu_id, "serves", f"BLDG-1-L{level:02d}")
        for suffix, model, kind in (
            ("SAT", "AirTemperatureSensor", "temperature"),
            ("RUN", "RunSensor", "run"),
            ("MODE", "ModeSensor", "mode"),
            ("RAT", "AirTemperatureSensor", "temperature"),
        ):
            cap = f"PNT-{ahu_id}-{suffix}"
            twin(cap, model, name=f"AHU {ahu} {suffix}", externalID=f"ext-{cap}")
            rel(cap, "isCapabilityOf", ahu_id)
            capabilities.append((cap, kind))

    steps = 24 * 60 // interval_minutes
    points = []
    for index, (cap, kind) in enumerate(capabilities):
        for step in range(steps + 1):
            moment = now - dt.timedelta(minutes=interval_minutes * (steps - step))
            hour = moment.hour + moment.minute / 60
            value: Any
            if kind == "temperature":
                value = round(21.5 + 1.8 * math.sin((hour - 9) / 24 * 2 * math.pi) + 0.1 * index, 2)
            elif kind == "run":
                value = 7 <= hour < 19  # a boolean scalarValue, as the source allows
            else:
                value = "occupied" if 7 <= hour < 19 else "unoccupied"  # a string scalarValue
            points.append(
                {"connectorId": "CON-LOCAL-1", "dtId": cap, "sourceTimestamp": iso(moment), "scalarValue": value}
            )
    store.ingest(points)

    add_insight_trees(store, roots=6, children_per_root=[0, 2, 3, 1, 0, 2], now=now)

    store.event_types[:] = [
        {"id": 1, "name": "CalendarEvent"},
        {"id": 2, "name": "WeatherForecast"},
        {"id": 3, "name": "UtilityBill"},
    ]
    store.upsert_events(
        [
            {
                "name": "Board meeting",
                "startTime": iso(now + dt.timedelta(days=1)),
                "endTime": iso(now + dt.timedelta(days=1, hours=2)),
                "eventTypeId": 1,
                "eventSourceId": "calendar",
                "externalId": "cal-1",
                "payload": json.dumps({"room": "BLDG-1-L03-R01"}),
                "payloadVersion": "1",
                "twinId": "BLDG-1-L03-R01",
                "createdDate": iso(now),
                "lastModifiedDate": iso(now),
            },
            {
                "name": "Heatwave",
                "startTime": iso(now),
                "endTime": None,
                "eventTypeId": 2,
                "eventSourceId": "weather",
                "externalId": "wx-1",
                "payload": json.dumps({"maxTempC": 36}),
                "payloadVersion": "1",
                "twinId": "SITE-1",
                "scalarValue": 36.0,
                "createdDate": iso(now),
                "lastModifiedDate": iso(now),
            },
        ]
    )

    store.priorities[:] = [
        {"id": _uid(f"priority-{level}"), "name": level.title(), "priorityLevel": level}
        for level in ("urgent", "high", "medium", "low")
    ]
    store.statuses[:] = [
        {"id": _uid(f"status-{name}"), "name": name, "tab": tab, "color": color}
        for name, tab, color in (
            ("Open", "Open", "red"),
            ("In Progress", "Open", "yellow"),
            ("Closed", "Closed", "green"),
        )
    ]
    for name in ("HVAC", "Electrical", "Plumbing"):
        store.create_metadata("categories", {"name": name})
    for name in ("Reactive", "Preventive"):
        store.create_metadata("job-types", {"name": name})
    for name in ("Technician visit", "Remote fix"):
        store.create_metadata("service-needed", {"name": name})
    first = next(iter(store.insights.values()))
    ticket = store.create_ticket(
        {
            "summary": "AHU-1 supply air too warm",
            "description": "Raised from insight.",
            "twinId": "AHU-1",
            "insightId": first["id"],
            "insightName": first["name"],
        }
    )
    store.attachments[(ticket["id"], _uid("photo-1"))] = (b"\x89PNG\r\n\x1a\n fake photo bytes", "image/png")
    store.create_ticket({"summary": "Room 101 too cold", "twinId": "BLDG-1-L01-R01"})
    return store


def add_insight_trees(
    store: Store, *, roots: int, children_per_root: list[int] | int, now: dt.datetime | None = None, prefix: str = "INS"
) -> list[str]:
    """Add ``roots`` root insights, each with its children (``scenarioId`` = the root's id)."""
    now = now or store.clock()
    counts = children_per_root if isinstance(children_per_root, list) else [children_per_root] * roots
    kinds = ["fault", "energy", "comfort", "alert", "dataQuality", "predictive"]
    created = []
    for index in range(roots):
        root_id = _uid(f"{prefix}-root-{index}")
        target = f"AHU-{index % 2 + 1}"
        base = {
            "customerId": _uid("customer"),
            "siteId": SEED_SITE_ID,
            "twinId": target,
            "twinName": target,
            "priority": index % 4 + 1,
            "status": "open",
            "lastStatus": "open",
            "state": "active",
            "sourceType": "willow",
            "occurrenceCount": 1,
            "impactScores": [],
            "newOccurrence": False,
            "previouslyIgnored": 0,
            "previouslyResolved": 0,
            "reported": False,
            "createdDate": iso(now),
            "updatedDate": iso(now),
            "occurredDate": iso(now),
            "detectedDate": iso(now),
            "_floorId": _uid("floor-3"),
        }
        store.insights[root_id] = {
            **base,
            "id": root_id,
            "scenarioId": None,
            "type": kinds[index % len(kinds)],
            "name": f"{prefix} {index}: {kinds[index % len(kinds)]} on {target}",
            "sequenceNumber": f"{prefix}-{index:05d}",
        }
        created.append(root_id)
        for child in range(counts[index % len(counts)]):
            child_id = _uid(f"{prefix}-child-{index}-{child}")
            store.insights[child_id] = {
                **base,
                "id": child_id,
                "scenarioId": root_id,
                "type": "diagnostic",
                "name": f"{prefix} {index}.{child}: diagnostic step {child + 1}",
                "sequenceNumber": f"{prefix}-{index:05d}-{child}",
            }
    return created
