"""How a downstream repository uses willow-api: checked with ``mypy --strict`` by scripts/consumer-check.

Every name below comes from the installed wheel, so a lost ``py.typed`` or a changed signature
shows up as a type error here before it reaches another team.
"""

from __future__ import annotations

import asyncio

from willow_api_client.models import Twin

import willow_ext
from willow_ext import (
    AsyncWillowClient,
    IngestReport,
    NotFoundError,
    WillowClient,
    get_twins,
    ingest,
    relationship_id,
    where,
)


def twin_name(client: WillowClient, twin_id: str) -> str | None:
    try:
        twin: Twin = client.twins.get(twin_id)
    except NotFoundError:
        return None
    contents = twin.contents.to_dict() if twin.contents else {}
    name = contents.get("name")
    return name if isinstance(name, str) else None


def open_insight_names(client: WillowClient) -> list[str]:
    names: list[str] = []
    for tree in client.insights.iter_trees(filters=[where("lastStatus").in_(["open", "new"])]):
        if tree.root is not None:
            names.append(str(tree.root.name))
    return names


def first_relationship_id(client: WillowClient, twin_id: str) -> str | None:
    for relationship in client.relationships.outgoing(twin_id):
        return relationship_id(relationship)  # `--strict` flags an Any here if the annotation is lost
    return None


def missing_twins(client: WillowClient, ids: list[str]) -> list[str]:
    return get_twins(client, ids).missing


def send(client: WillowClient, readings: list[float]) -> int:
    points = [
        {"dtId": "PNT-1", "sourceTimestamp": f"2026-01-01T00:{minute:02d}:00Z", "scalarValue": value}
        for minute, value in enumerate(readings)
    ]
    report: IngestReport = ingest(client, points, batch_size=500)
    return report.sent


async def model_count(client: AsyncWillowClient) -> int:
    models = await client.models.list()
    return len(models)


async def twin_ids(client: AsyncWillowClient) -> list[str]:
    return [twin.id async for twin in client.twins.iter({}, max_items=10)]


def version() -> str:
    return willow_ext.__version__


if __name__ == "__main__":
    with WillowClient.from_env() as sync_client:
        print(twin_name(sync_client, "AHU-1"), version())

    async def main() -> None:
        async with AsyncWillowClient.from_env() as async_client:
            print(await model_count(async_client), await twin_ids(async_client))

    asyncio.run(main())
