"""Readers for response shapes where Willow's samples and schema disagree."""

from __future__ import annotations

from typing import Any

from willow_api_client.models import DigitalTwinRelationship

__all__ = ["relationship_id"]

#: The schema says ``id``; every published sample spells it ``Id``; ADT-style payloads use
#: ``$relationshipId`` (reference 02-twins.md, "Relationship object as used inside twin responses").
_ID_KEYS = ("id", "Id", "$relationshipId")


def relationship_id(relationship: DigitalTwinRelationship | dict[str, Any]) -> str | None:
    """The relationship's id, whichever way the server spelled the key."""
    if isinstance(relationship, DigitalTwinRelationship):
        if isinstance(relationship.id, str) and relationship.id:
            return relationship.id
        fields: dict[str, Any] = relationship.additional_properties
    else:
        fields = relationship
    for key in _ID_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and value:
            return value
    return None
