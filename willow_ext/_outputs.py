"""Export outputs people load straight into their tools: CSV, JSON lines and Parquet, plus
``to_arrow()`` / ``to_pandas()`` for in-memory use.

Rows are the points as the server sent them (wire form). Output is deterministic: rows are
sorted by ``(sourceTimestamp, canonical JSON)`` within a partition, since the server's order is
not guaranteed, and every format writes the same columns in the same order. Files are written
atomically: a temporary file in the same directory, flushed and fsynced, then renamed over the
target (POSIX ``rename`` is atomic), then the directory is fsynced so the rename itself is durable.

pyarrow and pandas are optional extras (``willow-api[parquet]``, ``willow-api[pandas]``), imported
only when used.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import importlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal

from ._errors import InvalidRequestError

__all__ = [
    "COLUMNS",
    "FORMATS",
    "OutputFormat",
    "atomic_write",
    "canonical_line",
    "format_for",
    "fsync_dir",
    "parquet_writer",
    "render",
    "sort_rows",
    "timestamp_of",
    "to_arrow",
    "to_pandas",
]

OutputFormat = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[OutputFormat, ...] = ("csv", "jsonl", "parquet")
_SUFFIXES: dict[str, OutputFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: Columns of CSV and Parquet (JSON lines keep each point whole).
COLUMNS = ("twinId", "externalId", "connectorId", "sourceTimestamp", "enqueuedTimestamp", "scalarValue", "properties")


def format_for(path: Path, requested: str | None) -> OutputFormat:
    """The requested format, or the one the file suffix names (CSV by default)."""
    if requested is not None:
        if requested not in FORMATS:
            raise InvalidRequestError(f"format must be one of {', '.join(FORMATS)}, got {requested!r}")
        return requested
    return _SUFFIXES.get(path.suffix.lower(), "csv")


def timestamp_of(row: Mapping[str, Any]) -> dt.datetime:
    """The point's ``sourceTimestamp`` as an aware datetime (7 fractional digits are cut to 6)."""
    text = str(row.get("sourceTimestamp") or "").replace("Z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def canonical_line(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def sort_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows by time (then by content, so equal timestamps have a fixed order), duplicates dropped."""
    keyed = {canonical_line(row): row for row in rows}
    return [keyed[line] for line in sorted(keyed, key=lambda line: (timestamp_of(keyed[line]), line))]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def render(rows: Iterable[Mapping[str, Any]], fmt: OutputFormat, *, header: bool = True) -> bytes:
    """The bytes of ``rows`` in ``fmt`` (one whole file, or a CSV body without header)."""
    if fmt == "jsonl":
        return "".join(canonical_line(row) + "\n" for row in rows).encode("utf-8")
    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        if header:
            writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in COLUMNS])
        return buffer.getvalue().encode("utf-8")
    sink = io.BytesIO()
    _parquet().write_table(to_arrow(rows), sink)
    return sink.getvalue()


def atomic_write(path: Path, data: bytes | Iterable[bytes] | Callable[[BinaryIO], None]) -> None:
    """Write ``path`` all at once: readers see the old file or the new one, never a part, even
    after a crash (temp file + fsync + rename + directory fsync). ``data``: the bytes, chunks of
    them, or a function that writes to the open file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            if callable(data):
                data(out)
            else:
                for chunk in [data] if isinstance(data, bytes) else data:
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------ arrow, pandas


def _optional(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidRequestError(
            f"{module} is not installed; install it with: pip install 'willow-api[{extra}]'"
        ) from None


def parquet_writer(out: BinaryIO) -> Any:
    """A ``pyarrow.parquet.ParquetWriter`` with the :func:`to_arrow` schema, writing to ``out``."""
    return _parquet().ParquetWriter(out, to_arrow([]).schema)


def _parquet() -> Any:
    _optional("pyarrow", "parquet")
    return importlib.import_module("pyarrow.parquet")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def _plain(point: Any) -> Mapping[str, Any]:
    return point.to_dict() if hasattr(point, "to_dict") else point  # type: ignore[no-any-return]


def to_arrow(points: Iterable[Any]) -> Any:
    """A ``pyarrow.Table`` of points (``TimeSeriesPoint`` models or wire dicts): timestamps as
    ``timestamp[us, UTC]``, ``scalarValue`` as float64 (booleans 1/0, other values null) with the
    value as sent in ``scalarValueJson``, ``properties`` as JSON text. Needs ``willow-api[parquet]``."""
    pa = _optional("pyarrow", "parquet")
    rows = [_plain(point) for point in points]

    def stamp(row: Mapping[str, Any], name: str) -> dt.datetime | None:
        return timestamp_of({"sourceTimestamp": row[name]}) if row.get(name) else None

    columns = {
        "twinId": pa.array([row.get("twinId") for row in rows], pa.string()),
        "externalId": pa.array([row.get("externalId") for row in rows], pa.string()),
        "connectorId": pa.array([row.get("connectorId") for row in rows], pa.string()),
        "sourceTimestamp": pa.array([stamp(row, "sourceTimestamp") for row in rows], pa.timestamp("us", tz="UTC")),
        "enqueuedTimestamp": pa.array([stamp(row, "enqueuedTimestamp") for row in rows], pa.timestamp("us", tz="UTC")),
        "scalarValue": pa.array([_number(row.get("scalarValue")) for row in rows], pa.float64()),
        "scalarValueJson": pa.array(
            [None if row.get("scalarValue") is None else _cell(row.get("scalarValue")) for row in rows], pa.string()
        ),
        "properties": pa.array(
            [None if row.get("properties") is None else _cell(row.get("properties")) for row in rows], pa.string()
        ),
    }
    return pa.table(columns)


def to_pandas(points: Iterable[Any]) -> Any:
    """A ``pandas.DataFrame`` with the columns of :func:`to_arrow`. Needs ``willow-api[pandas]``."""
    _optional("pandas", "pandas")
    return to_arrow(points).to_pandas()
