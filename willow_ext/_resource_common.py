"""Argument types and operation facts shared by the sync and async resources (pure, no I/O)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from willow_api_client.models import EventFilesUpload, FilterSpecification, GetTwinsRequest, SortSpecification
from willow_api_client.types import File

from ._errors import InvalidArgumentTypeError, InvalidRequestError
from ._requests import check_items

__all__ = [
    "METADATA_KINDS",
    "Filters",
    "MetadataKind",
    "Sorts",
    "TwinQuery",
    "as_dict",
    "check_metadata_kind",
    "multipart_files",
]

Filters = Sequence[FilterSpecification | Mapping[str, Any]] | None
Sorts = Sequence[SortSpecification | Mapping[str, Any]] | None
TwinQuery = GetTwinsRequest | Mapping[str, Any] | None
MetadataKind = Literal["categories", "job-types", "service-needed"]
METADATA_KINDS: tuple[MetadataKind, ...] = ("categories", "job-types", "service-needed")


def check_metadata_kind(kind: object) -> MetadataKind:
    for known in METADATA_KINDS:
        if kind == known:
            return known
    raise InvalidRequestError(f"ticket metadata kind must be one of {sorted(METADATA_KINDS)}, got {kind!r}")


def as_dict(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


def multipart_files(triples: Sequence[tuple[str, bytes, str]]) -> EventFilesUpload:
    """``(file name, content, media type)`` triples as the generated multipart body."""
    files = []
    for index, triple in enumerate(check_items(triples, "files")):
        if not (isinstance(triple, tuple | list) and len(triple) == 3):
            raise InvalidArgumentTypeError(f"files[{index}] must be a (file name, content, media type) triple")
        name, data, mime = triple
        if not (isinstance(name, str) and isinstance(data, bytes | bytearray) and isinstance(mime, str)):
            raise InvalidArgumentTypeError(f"files[{index}] must be (str, bytes, str)")
        files.append(File(payload=io.BytesIO(data), file_name=name, mime_type=mime))
    if not files:
        raise InvalidRequestError("files must hold at least one file")
    return EventFilesUpload(files=files)
