"""The files of a resumable export (local disk only; the requests are in ``_async/_export.py``).

Per unit (twin group × day, see ``_export_plan``):

1. each page's points are appended to the unit's spool file and fsynced, *then* the checkpoint
   records the next continuation token and the spool length (so the checkpoint never claims data
   that is not on disk);
2. when the unit's last page is in, its points are split per twin, sorted by timestamp and
   written atomically: a partition file ``twinId=<id>/date=<day>/part.<ext>`` per twin
   (hive-style, which pyarrow, pandas, DuckDB and Spark read as columns), or a part in the work
   directory that the single output file is assembled from at the end;
3. only then is the unit marked done.

A resumed run skips done units, truncates a started unit's spool back to what its checkpoint
covers and continues from the saved token (or from the unit's first page when the server no
longer accepts the token). Every step rewrites whole files atomically, so a unit written twice
after a crash writes the same bytes: the output is that of an uninterrupted run, exactly once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from ._checkpoint import Checkpoint
from ._export_plan import ExportPlan, ExportUnit
from ._outputs import (
    OutputFormat,
    atomic_write,
    canonical_line,
    fsync_dir,
    parquet_writer,
    render,
    sort_rows,
    timestamp_of,
    to_arrow,
)
from ._redact import safe_text

__all__ = ["ExportJob", "ExportReport", "UnitFailure", "partition_path"]

ExportProgress = Callable[[int, int], None]  # (points so far, estimated total)


@dataclass
class UnitFailure:
    """A unit (twins × window) whose requests failed; a resumed run asks for it again."""

    twin_ids: list[str]
    start: str
    end: str
    error: BaseException

    @property
    def reason(self) -> str:
        # Masked here, whole: callers cut it to fit a line, and a cut first could keep part of a secret.
        return safe_text(f"{type(self.error).__name__}: {self.error}", 1000)


@dataclass
class ExportReport:
    output: Path
    estimated_points: int
    estimated_requests: int
    #: Points in the output (from earlier runs of a resumed export too).
    points: int = 0
    #: Requests made by this run.
    requests: int = 0
    units_total: int = 0
    units_done: int = 0
    units_skipped: int = 0
    points_by_twin: dict[str, int] = field(default_factory=dict)
    #: Twins of units the server answered 404 for (none of them has time series).
    not_found: list[str] = field(default_factory=list)
    failures: list[UnitFailure] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.units_done == self.units_total

    @property
    def empty_twins(self) -> list[str]:
        """Twins without a single point in the range (unknown to the server, or quiet)."""
        return [twin for twin, count in self.points_by_twin.items() if count == 0]

    def __str__(self) -> str:
        text = (
            f"{self.points} points from {len(self.points_by_twin)} twins in {self.requests} requests; "
            f"{self.units_done}/{self.units_total} units done ({self.units_skipped} from a checkpoint)"
        )
        if self.failures:
            text += f", {len(self.failures)} failed ({self.failures[0].reason[:200]})"
        return text


def partition_path(root: Path, twin_id: str, day: str, fmt: OutputFormat) -> Path:
    """``root/twinId=<id>/date=<day>/part.<fmt>``; the id is percent-encoded (hive readers decode it)."""
    return root / f"twinId={quote(twin_id, safe='')}" / f"date={day}" / f"part.{fmt}"


class ExportJob:
    """Spools, checkpoints and output files of one export (see the module docstring)."""

    def __init__(
        self,
        plan: ExportPlan,
        output: Path,
        fmt: OutputFormat,
        *,
        partitioned: bool,
        checkpoint: Path | None,
        resume: bool,
        progress: ExportProgress | None,
    ) -> None:
        self.plan = plan
        self.output = output
        self.fmt = fmt
        self.partitioned = partitioned
        self.work = output.with_name(output.name + ".parts")
        checkpoint_path = checkpoint or output.with_name(output.name + ".checkpoint.json")
        if not resume and self.work.exists():
            shutil.rmtree(self.work)
        self.checkpoint = Checkpoint.open(checkpoint_path, plan.fingerprint, resume=resume)
        self._progress = progress
        self.report = ExportReport(output, plan.estimated_points, plan.estimated_requests, units_total=len(plan.units))
        self.report.points_by_twin = dict.fromkeys(plan.twin_ids, 0)
        self._twin_index = {twin: index for index, twin in enumerate(plan.twin_ids)}
        for unit in plan.units:
            saved = self.checkpoint.units.get(unit.key)
            if saved is not None and saved.done:
                self.report.units_done += 1
                self.report.units_skipped += 1
                self.report.points += saved.points
                for twin, count in saved.by_twin.items():
                    self.report.points_by_twin[twin] = self.report.points_by_twin.get(twin, 0) + count
        self._fetched = 0
        self._points_before = self.report.points
        # Units run concurrently (threads in the sync client): one unit's bookkeeping at a time.
        self._lock = threading.RLock()
        #: Set when a unit raised: the others stop before their next page (resume continues them).
        self.stopping = False

    def _saved_parts(self) -> Iterator[Path]:
        rows = self.work / "rows"
        return iter(sorted(rows.glob("*/*.jsonl"))) if rows.exists() else iter(())

    # ------------------------------------------------------------------ per unit

    def pending(self) -> list[ExportUnit]:
        return [unit for unit in self.plan.units if not self.checkpoint.unit(unit.key).done]

    def _spool(self, unit: ExportUnit) -> Path:
        return self.work / "spool" / f"{unit.key}.jsonl"

    def begin(self, unit: ExportUnit) -> str | None:
        """The token to continue ``unit`` from (None: its first page); its spool is cut back to
        what the checkpoint covers (a crash may have left a page beyond it)."""
        with self._lock:
            state = self.checkpoint.unit(unit.key)
            spool = self._spool(unit)
            spool.parent.mkdir(parents=True, exist_ok=True)
            with spool.open("ab") as handle:
                handle.truncate(state.spool_bytes if state.token is not None else 0)
            if state.token is None:
                state.spool_bytes = state.pages = state.points = 0
            return state.token

    def restart(self, unit: ExportUnit) -> None:
        """The saved token was refused (tokens expire with the server's stored result): start over."""
        with self._lock:
            state = self.checkpoint.unit(unit.key)
            state.token, state.spool_bytes, state.pages, state.points = None, 0, 0, 0
            self.checkpoint.save()
            self.begin(unit)

    def add_page(self, unit: ExportUnit, rows: Sequence[Mapping[str, Any]], next_token: str | None) -> None:
        with self._lock:
            self.report.requests += 1
            state = self.checkpoint.unit(unit.key)
            spool = self._spool(unit)
            with spool.open("ab") as handle:
                handle.write("".join(canonical_line(row) + "\n" for row in rows).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
                size = handle.tell()
            state.pages += 1
            state.points += len(rows)
            if next_token is not None:
                # The data is durable; now the checkpoint may say so.
                state.token, state.spool_bytes = next_token, size
                self.checkpoint.save()
            self._fetched += len(rows)
            if self._progress is not None:
                self._progress(self._points_before + self._fetched, self.plan.estimated_points)

    def complete(self, unit: ExportUnit) -> None:
        """Write the unit's partitions from its spool, then mark it done."""
        with self._lock:
            # Partitions are (twin, UTC day of the point): the last unit includes ``end`` itself,
            # which can be the next day's midnight.
            partitions: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
            with self._spool(unit).open("rb") as handle:
                for line in handle:
                    row = json.loads(line)
                    twin = row.get("twinId")
                    moment = timestamp_of(row)
                    if twin in unit.twin_ids and unit.owns(moment):
                        day = moment.astimezone(dt.UTC).date().isoformat()
                        partitions.setdefault((twin, day), []).append(row)
            counts = dict.fromkeys(unit.twin_ids, 0)
            for (twin, day), rows in sorted(partitions.items()):
                ordered = sort_rows(rows)
                counts[twin] += len(ordered)
                if self.partitioned:
                    target = partition_path(self.output, twin, day, self.fmt)
                    atomic_write(target, render(ordered, self.fmt))
                    self.report.files.append(target)
                else:
                    part = self.work / "rows" / f"{self._twin_index[twin]:06d}" / f"{day}.jsonl"
                    atomic_write(part, render(ordered, "jsonl"))
            written = sum(counts.values())
            for twin, count in counts.items():
                self.report.points_by_twin[twin] += count
            state = self.checkpoint.unit(unit.key)
            state.done, state.token, state.points, state.by_twin = True, None, written, counts
            self.checkpoint.save()
            self._spool(unit).unlink(missing_ok=True)
            self.report.units_done += 1
            self.report.points += written

    def not_found(self, unit: ExportUnit) -> None:
        """404: none of the unit's twins has time series; done, with nothing to write."""
        with self._lock:
            self.report.requests += 1
            self.report.not_found.extend(t for t in unit.twin_ids if t not in self.report.not_found)
            self.complete(unit)

    def fail(self, unit: ExportUnit, error: BaseException) -> None:
        with self._lock:
            self.report.requests += 1
            self.report.failures.append(
                UnitFailure(list(unit.twin_ids), unit.start.isoformat(), unit.end.isoformat(), error)
            )

    # ------------------------------------------------------------------ the end

    def finish(self) -> None:
        """Assemble the single output file (twin by twin in the order given, day by day) from the
        parts written so far; clean the work directory once every unit is done."""
        if self.report.units_skipped == self.report.units_total and self.output.exists():
            return  # resuming an export that had completed: its output is already whole
        if not self.partitioned:
            parts = list(self._saved_parts())
            if self.fmt == "parquet":

                def write(out: BinaryIO) -> None:
                    writer = parquet_writer(out)
                    for part in parts:
                        writer.write_table(to_arrow(_read_lines(part)))
                    writer.close()

                atomic_write(self.output, write)
            else:
                header = render([], self.fmt) if self.fmt == "csv" else b""
                body = (render(_read_lines(part), self.fmt, header=False) for part in parts)
                atomic_write(self.output, itertools.chain([header], body))
            self.report.files = [self.output]
        if self.report.units_done == self.report.units_total and self.work.exists():
            shutil.rmtree(self.work)
            fsync_dir(self.work.parent)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as handle:
        return [json.loads(line) for line in handle]
