"""The checkpoint of a resumable export: per unit (twin group × day) either done, or how far it
got (the continuation token and the bytes of its spool file that the token covers).

It is a small JSON file replaced atomically after every page, and only after the data it covers
is durably on disk, so after any crash (SIGKILL included) it describes a state that the files
really hold. A continuation token is only valid for the identical query, so a checkpoint is tied
to its plan's fingerprint and refused for any other export.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._errors import InvalidRequestError
from ._outputs import atomic_write

__all__ = ["Checkpoint", "UnitProgress"]

VERSION = 1


@dataclass
class UnitProgress:
    done: bool = False
    #: Continuation token for the next page (None: start from the first page).
    token: str | None = None
    #: Bytes of the unit's spool file that hold the pages fetched before ``token``.
    spool_bytes: int = 0
    pages: int = 0
    points: int = 0
    #: Points written per twin, once done.
    by_twin: dict[str, int] = field(default_factory=dict)


@dataclass
class Checkpoint:
    path: Path
    fingerprint: str
    units: dict[str, UnitProgress] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path, fingerprint: str, *, resume: bool) -> Checkpoint:
        """The saved checkpoint when resuming (it must belong to this very export), else a new one."""
        if not resume or not path.exists():
            return cls(path, fingerprint)
        try:
            saved: Any = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("version") != VERSION:
                raise ValueError("unknown checkpoint version")
            units = {key: UnitProgress(**value) for key, value in saved["units"].items()}
            found = saved["fingerprint"]
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidRequestError(f"checkpoint {path} cannot be read: {type(exc).__name__}") from None
        if found != fingerprint:
            raise InvalidRequestError(
                f"checkpoint {path} belongs to another export (other twins, window or page size); "
                "continuation tokens are only valid for the identical query. Start afresh without resume."
            )
        return cls(path, fingerprint, units)

    def unit(self, key: str) -> UnitProgress:
        return self.units.setdefault(key, UnitProgress())

    def save(self) -> None:
        body = {
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "units": {key: asdict(value) for key, value in sorted(self.units.items())},
        }
        atomic_write(self.path, json.dumps(body, indent=1, sort_keys=True).encode("utf-8"))
