"""What the ``willow`` command line prints and writes, made safe for a terminal and for scripts.

Text from the server or the user (ticket summaries, twin names, error details, instance names) is
shown literally: never read as rich markup (``[/]`` would crash, ``[bold]`` would vanish), control
characters and bidi overrides shown as ``\\x1b``-style escapes (a raw ``ESC [2J`` would clear the
terminal), registered secrets masked. ``--json`` output is valid JSON whatever the data holds.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from rich.text import Text

from ._outputs import fsync_dir
from ._redact import redact, safe_text

__all__ = ["ERROR_LIMIT", "error_line", "finite", "json_text", "literal", "literal_text", "publish", "staging_path"]

#: An error line quotes at most this many characters of a message.
ERROR_LIMIT = 1000
# C0 controls (tab and newline handled by the caller), DEL, C1 controls, line/paragraph separators
# and bidi overrides ("Trojan source", https://trojansource.codes/).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Outside JSON strings only ASCII appears, so these can be escaped anywhere in json.dumps output.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def literal(value: object, *, multiline: bool = False) -> str:
    """``value`` as text safe to show: secrets masked, control characters escaped (newlines kept
    only when ``multiline``; tabs become a space)."""
    text = redact(str(value)).replace("\t", " ")
    if not multiline:
        text = text.replace("\r\n", "\\n").replace("\n", "\\n")
    return _CONTROL.sub(_escape, text)


def literal_text(value: object, *, style: str = "") -> Text:
    """A rich ``Text`` holding ``value`` literally (a table cell or tree label is never markup)."""
    return Text(literal(value, multiline=True), style=style)


def error_line(message: object) -> str:
    """One line for stderr: redacted, no control characters, bounded."""
    return safe_text(message, ERROR_LIMIT)


def finite(value: Any) -> Any:
    """NaN/Infinity (JSON has no spelling for them) as the strings JSON.NET writes."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def json_text(data: Any) -> str:
    """Indented JSON that is always valid and safe on a terminal (C1 controls and bidi overrides
    as ``\\u`` escapes, which JSON allows anywhere in a string), secrets masked."""
    text = json.dumps(finite(data), indent=2, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", redact(text))


# ------------------------------------------------------------------------------ atomic --output


def staging_path(output: Path) -> Path:
    """Where a single-file export is assembled before it replaces ``output`` (same directory, so
    the final rename is atomic); a stable name, so ``--resume`` finds its work again."""
    return output.with_name(output.name + ".partial")


def publish(staged: Path, output: Path) -> None:
    """Replace ``output`` with the finished ``staged`` file in one step (POSIX rename), durably.

    ``staged`` was written by ``atomic_write`` (fsynced); the directory fsync makes the rename stick.
    https://man7.org/linux/man-pages/man2/rename.2.html
    """
    os.replace(staged, output)
    fsync_dir(output.parent)
