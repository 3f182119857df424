"""A guided tour against the embedded local Willow server: no tenant, no credentials needed.

Run with ``scripts/demo`` (or ``python -m willow_ext.demo``). Every step is a real HTTP call on
loopback, checked by the server against the pinned spec.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from willow_ext import WillowClient, ingest, sort_by, where
from willow_ext.testing import LocalWillow

__all__ = ["main", "run"]


def _value(value: Any) -> str:
    return "-" if value is None or type(value).__name__ == "Unset" else str(value)


def run(console: Console) -> int:
    with LocalWillow() as willow, WillowClient(**willow.client_kwargs()) as client:
        console.rule("[bold]Willow Public API v3 — local demo")
        console.print(f"Local server: [cyan]{willow.base_url}[/] (seeded building, spec-validating)\n")

        console.print("[bold]1. OAuth2 client credentials[/]")
        client.models.list()
        console.print(f"   token obtained and cached ({client.auth.token_requests} token request)\n")

        console.print("[bold]2. Twin search[/]: capabilities (any subclass of Capability)")
        table = Table("id", "model", "name")
        query = {"modelFilter": {"modelIds": ["dtmi:com:willowinc:Capability;1"]}}
        for twin in client.twins.iter(query, page_size=5, max_items=8):
            name = twin.contents["name"] if twin.contents and "name" in twin.contents else "-"
            table.add_row(twin.id, twin.model_id.split(":")[-1], str(name))
        console.print(table)
        console.print(f"   {client.twins.count(query)} capability twins in total\n")

        console.print("[bold]3. Twin graph[/]: AHU-1 and what hangs off it")
        graph = client.twins.graph(
            {
                "alias": "AHU",
                "id": "AHU-1",
                "relationships": [
                    {"alias": "Points", "direction": "Incoming", "relationshipNames": ["isCapabilityOf"]},
                    {"alias": "Serves", "direction": "Outgoing", "relationshipNames": ["serves"]},
                ],
            }
        )
        tree = Tree("AHU-1")
        for alias in ("Points", "Serves"):
            branch = tree.add(alias)
            for twin in graph.get(alias, []):
                branch.add(f"{twin['id']}  [dim]{twin['modelId'].split(':')[-1]}[/]")
        console.print(tree, "")

        console.print("[bold]4. Time series[/]: a new capability twin, 60 points written, read back, latest")
        client.twins.upsert(
            {
                "id": "PNT-DEMO-1",
                "modelId": "dtmi:com:willowinc:AirTemperatureSensor;1",
                "contents": {"name": "Demo supply air temperature", "unit": "degC"},
            }
        )
        client.relationships.upsert({"sourceId": "PNT-DEMO-1", "name": "isCapabilityOf", "targetId": "AHU-1"})
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        points = [
            {
                "connectorId": "CON-DEMO",
                "dtId": "PNT-DEMO-1",
                "scalarValue": 18.0 + i / 10,
                "sourceTimestamp": (now - dt.timedelta(minutes=60 - i)).isoformat(),
            }
            for i in range(60)
        ]
        report = ingest(client, points, batch_size=25)
        console.print(f"   ingest: {report}")
        read = list(client.time_series.iter("PNT-DEMO-1", now - dt.timedelta(minutes=61), now, page_size=20))
        console.print(f"   read back {len(read)} points (20 per page, continuation tokens handled)")
        latest = client.time_series.latest("PNT-DEMO-1")
        if latest:
            console.print(f"   latest: {_value(latest[0].scalar_value)} at {_value(latest[0].source_timestamp)}\n")

        console.print("[bold]5. Insight trees[/]: roots with their children, each insight once")
        insights = Tree("insights (sorted by name)")
        for item in client.insights.iter_trees(sort=[sort_by("name").asc()], page_size=4):
            root = item.root
            label = (
                f"{_value(root.name)}  [dim]{_value(root.type_)}[/]"
                if root is not None
                else f"orphans of {item.parent_id}"
            )
            node = insights.add(label)
            for child in item.children:
                node.add(_value(child.name))
        console.print(insights)
        faults = list(client.insights.iter(filters=[where("type").equals("fault")]))
        console.print(f"   filter type=fault: {len(faults)} insight(s)\n")

        console.print("[bold]6. A ticket[/]")
        ticket = client.tickets.create(
            {
                "summary": "AHU-1 supply air temperature drifting",
                "description": "Raised by the demo.",
                "twinId": "AHU-1",
            }
        )
        ticket = client.tickets.update(str(ticket.id), {"summary": "AHU-1 SAT drifting (checked)"})
        status = ticket.ticket_status.name if ticket.ticket_status else None
        console.print(f"   created {ticket.id}")
        console.print(f"   summary: {_value(ticket.summary)}; status: {_value(status)}", markup=False)
        console.print(f"   {len(list(client.tickets.iter()))} tickets on the server\n")

        violations = willow.app.stats.rejected_requests + willow.app.stats.response_violations
        console.rule(f"done: {willow.app.stats.requests} requests, {len(violations)} spec violations")
        return 0 if not violations else 1


def main() -> None:
    sys.exit(run(Console()))


if __name__ == "__main__":
    main()
