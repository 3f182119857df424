"""Points from a local file for ``willow timeseries ingest``, read strictly.

A bad file is refused with :class:`InputFileError` naming the line (``points.csv line 3: ...``),
never a traceback: bytes that are not UTF-8, a line longer than :data:`MAX_LINE_BYTES`, a CSV field
over the csv module's limit, a JSON line that is broken, nested too deeply or not an object,
numbers a point cannot carry (``NaN``, ``Infinity``, ``1e999``), and values the request encoder
refuses (an escaped lone surrogate such as ``"\\ud800"``, nesting deeper than it allows).
A UTF-8 byte-order mark (Excel writes one) is skipped. Whether a well-formed point is acceptable
(a twin reference, a timestamp) is left to ``ingest``'s per-point rules, which refuse it with a
reason in the report.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ._bulk import json_value_problem
from ._errors import InvalidRequestError

__all__ = ["MAX_LINE_BYTES", "InputFileError", "count_points", "read_points"]

#: One point is well under a kilobyte; a longer line is binary data or a mistake, not a point.
MAX_LINE_BYTES = 1 << 20
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
_BOM = b"\xef\xbb\xbf"


class InputFileError(InvalidRequestError):
    """Line ``line`` of the input file ``path`` cannot be read as a point (CLI exit 2)."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path} line {line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


def read_points(path: Path) -> Iterator[dict[str, Any]]:
    """The points of ``path``: JSON lines (``.jsonl``/``.ndjson``/``.json``) or CSV with a header
    row (``dtId`` or ``externalId``, ``sourceTimestamp``, ``scalarValue``[, ``connectorId``])."""
    with path.open("rb") as handle:
        if path.suffix.lower() in JSON_LINES_SUFFIXES:
            yield from _json_points(path, handle)
        else:
            yield from _csv_points(path, handle)


def count_points(path: Path) -> int:
    """Read the whole file once, checking every line; the number of points (raises InputFileError)."""
    return sum(1 for _ in read_points(path))


def _lines(path: Path, handle: BinaryIO) -> Iterator[tuple[int, str]]:
    """(line number, text with its newline), each line checked for length, UTF-8 and NUL bytes."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise InputFileError(path, number, f"longer than {MAX_LINE_BYTES} bytes (not a file of points?)")
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]  # Excel's "CSV UTF-8" starts with a byte-order mark
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFileError(
                path, number, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            ) from None
        if "\x00" in text:
            raise InputFileError(path, number, "holds a NUL byte (binary data?)")
        yield number, text


# ------------------------------------------------------------------------------ JSON lines


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a point can carry")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range")
    return value


def _finite_int(text: str) -> int:
    value = int(text)  # more than 4300 digits: ValueError (CPython's int/str limit)
    try:
        float(value)
    except OverflowError:
        raise ValueError(f"{text[:40]}... is out of range") from None
    return value


def _json_points(path: Path, handle: BinaryIO) -> Iterator[dict[str, Any]]:
    for number, text in _lines(path, handle):
        if not text.strip():
            continue
        try:
            value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_finite_int)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise InputFileError(path, number, "JSON nested too deeply") from None
        except ValueError as exc:
            raise InputFileError(path, number, str(exc)) from None
        if not isinstance(value, dict):
            kind = type(value).__name__.replace("dict", "object").replace("list", "array").replace("str", "string")
            raise InputFileError(path, number, f"expected a JSON object (one point per line), got {kind}")
        # What json reads but the request encoder refuses (an escaped lone surrogate, deep nesting)
        # would otherwise fail the whole batch later, with a reason that names no line.
        problem = json_value_problem(value)
        if problem is not None:
            raise InputFileError(path, number, problem)
        yield value


# ------------------------------------------------------------------------------ CSV


def _csv_value(path: Path, number: int, text: str) -> Any:
    """A scalarValue cell: a number, true/false, or the text as written."""
    try:
        value = float(text)
    except ValueError:
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    if not math.isfinite(value):
        raise InputFileError(path, number, f"scalarValue {text[:40]!r} is not a finite number")
    return value


def _csv_points(path: Path, handle: BinaryIO) -> Iterator[dict[str, Any]]:
    position = {"line": 0}

    def lines() -> Iterator[str]:
        for number, text in _lines(path, handle):
            position["line"] = number
            yield text

    reader = csv.reader(lines(), strict=True)  # a stray quote is an error, not a guess
    try:
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        for row in reader:
            number = position["line"]
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise InputFileError(path, number, f"{len(row)} fields, but the header has {len(header)}")
            point: dict[str, Any] = {name: cell for name, cell in zip(header, row, strict=False) if cell != ""}
            if isinstance(point.get("scalarValue"), str):
                point["scalarValue"] = _csv_value(path, number, point["scalarValue"])
            yield point
    except csv.Error as exc:
        raise InputFileError(path, position["line"], f"not valid CSV ({exc})") from None
