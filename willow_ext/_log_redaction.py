"""A logging filter that keeps credentials out of log output (the CLI's ``--verbose``).

willow_ext itself logs method, path and status only. The filter guards what other libraries log
at DEBUG when a user turns that on: httpcore traces response headers as byte pairs, and a
library may one day log a header or a token body. Known secrets are replaced in their raw and
URL-encoded forms; bearer/basic credentials and token-like fields by pattern.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from ._redact import MASK
from ._redact import redact as redact_registered

__all__ = ["REDACTED", "RedactingFilter", "redact"]

REDACTED = "[redacted]"

_PATTERNS = (
    # RFC 6750 §2.1 bearer and RFC 7617 basic credentials, wherever they appear.
    re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9\-._~+/]+=*"),
    # token=..., "access_token": "...", client_secret: ... (JSON, form bodies, query strings, reprs)
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_secret|secret|password|token|api[_-]?key)"
        r"[\"']?\s*[=:]\s*[\"']?)[^\"'&\s,;)}]+"
    ),
    # httpcore's header tuples: (b'authorization', b'...'), (b'set-cookie', b'...')
    re.compile(
        r"(?i)(\(b?['\"](?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)['\"],\s*b?['\"])[^'\"]*"
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret (raw or URL-encoded) and every credential-shaped field replaced."""
    # First every secret the package holds, in every encoding (``_redact``); then the ones named here.
    text = redact_registered(text).replace(MASK, REDACTED)
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) through :func:`redact`; drops nothing.

    Attach it to a *handler*: handler filters see the records of every logger that propagates to it.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secret for secret in secrets if secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        return True
