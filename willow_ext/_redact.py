"""One redaction function for every message, log line and quoted body.

The auth registers each secret it holds (the client secret, every access token); :func:`redact`
then masks each of them in every form a server may reflect them in: raw, percent-encoded
(``quote`` and form ``quote_plus``, either hex case), JSON-escaped and HTML-escaped.
:func:`safe_text` adds what every error message needs: control characters neutralised and a
bounded length.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from collections import deque
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "RedactingFilter", "forms_of", "install_log_redaction", "redact", "register_secret", "safe_text"]

MASK = "**********"
#: Shorter values are not masked in free text: masking "s" would garble every message, and no
#: real client secret or access token is that short. (They are still never printed by this package.)
MIN_SECRET_CHARS = 8
#: Access tokens are kept for masking after they were replaced; enough for any realistic refresh history.
_MAX_REMEMBERED = 256

_lock = threading.Lock()
_secrets: deque[str] = deque(maxlen=_MAX_REMEMBERED)
_forms: tuple[str, ...] = ()
_lowered: tuple[str, ...] = ()
_pattern: re.Pattern[str] | None = None
# C0/C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def forms_of(secret: str) -> set[str]:
    """Every spelling of ``secret`` a server may echo back (pure)."""
    json_escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret, safe="/"),
        quote_plus(secret),
        json_escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(json_escaped)[1:-1],  # escaped twice, as in a JSON string holding a JSON body
    }
    return {form for form in forms if form}


def register_secret(secret: str) -> None:
    """Mask ``secret`` (in all its forms) in everything :func:`redact` sees from now on."""
    global _forms, _lowered, _pattern
    if len(secret) < MIN_SECRET_CHARS:
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.append(secret)
        forms: set[str] = set()
        for known in _secrets:
            forms |= forms_of(known)
        # Longest first, so a secret that contains another is masked whole.
        _forms = tuple(sorted(forms, key=len, reverse=True))
        _lowered = tuple({form.lower() for form in _forms})
        # Case-insensitive: percent-encoding hex may be either case, and a server may fold case.
        _pattern = re.compile("|".join(map(re.escape, _forms)), re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every registered secret masked (in any letter case)."""
    pattern = _pattern
    if pattern is None:
        return text
    lowered = text.lower()
    if not any(form in lowered for form in _lowered):  # the common case: plain substring scans
        return text
    return pattern.sub(MASK, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: object, limit: int = 300) -> str:
    """Redacted, one line, no control characters, at most ``limit`` characters (plus a length note)."""
    value = text.decode("utf-8", errors="replace") if isinstance(text, bytes | bytearray) else str(text)
    # Redact the whole text before anything changes it, so no cut or collapse can split a secret.
    value = _CONTROL.sub(_escape, " ".join(redact(value).split()))
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value)} chars)"


class RedactingFilter(logging.Filter):
    """Masks registered secrets in a log record (httpcore logs response headers at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redact(message)
        if safe != message:
            record.msg, record.args = safe, None
        return True


#: A logger's filters see only records logged to that very logger, so each is named.
LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "willow_ext",
    "willow_ext.cli",
)


def install_log_redaction() -> None:
    """Add the redacting filter to the loggers of httpx, httpcore and this package (idempotent)."""
    for name in LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in log.filters):
            log.addFilter(RedactingFilter())
