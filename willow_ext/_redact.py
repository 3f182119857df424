"""One redaction function for every message, log line and quoted body.

The auth registers each secret it holds (the client secret, every access token); :func:`redact`
then masks each of them in every form a server may reflect them in: raw; percent-encoded the way
common encoders do it (RFC 3986, forms, JavaScript, Java, .NET, PHP; either hex case);
JSON-escaped the way common serializers do it (Python, JavaScript, PHP, Go, Gson, .NET);
HTML-escaped; and each of those as Python shows it in a ``repr``/``ascii`` of the text or of its
UTF-8 bytes (httpcore logs headers, and h11 quotes a bad header line, that way).
:func:`safe_text` adds what every error message needs: control characters neutralised and a
bounded length.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import quote

__all__ = ["MASK", "RedactingFilter", "forms_of", "install_log_redaction", "redact", "register_secret", "safe_text"]

MASK = "**********"
#: Shorter values are not masked in free text: masking "s" would garble every message, and no
#: real client secret or access token is that short. (They are still never printed by this package.)
MIN_SECRET_CHARS = 8
#: Access tokens are kept for masking after they were replaced; enough for any realistic refresh history.
_MAX_REMEMBERED = 256

_lock = threading.Lock()
#: Access tokens with their (case-folded form, form) pairs, least recently registered first (at
#: most ``_MAX_REMEMBERED``).
_registry: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
#: Secrets kept for the life of the process (client secrets): never evicted by token refreshes.
_permanent: dict[str, tuple[tuple[str, str], ...]] = {}
#: (case-folded form, form) for every form of every registered secret: what :func:`redact` scans.
_scan: tuple[tuple[str, str], ...] = ()
# C0/C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def forms_of(secret: str) -> set[str]:
    """Every spelling of ``secret`` a server (or a library's repr) may echo back (pure)."""
    spelled = {secret, *_percent_forms(secret), *_json_forms(secret), *_html_forms(secret)}
    if len(secret) <= _MAX_REPR_CHARS:
        spelled |= {shown for form in spelled for shown in _python_reprs(form)}
    return {form for form in spelled if form}


#: Python-repr spellings are added for secrets up to this length: no credential is longer, and
#: for a megabyte "secret" they would cost tens of megabytes of forms.
_MAX_REPR_CHARS = 65_536


def _percent_forms(secret: str) -> set[str]:
    # Encoders differ only in which of ``!'()*~/`` they leave raw and how they spell a space; the
    # variants are derived from one RFC 3986 encoding (every ``%`` there starts a 3-char escape).
    rfc3986 = quote(secret, safe="")  # also .NET Uri.EscapeDataString, PHP rawurlencode
    form = rfc3986.replace("%20", "+")  # quote_plus, application/x-www-form-urlencoded
    return {
        rfc3986,
        rfc3986.replace("%2F", "/"),  # quote() with its default safe="/"
        rfc3986.replace("~", "%7E"),  # RFC 2396 encoders
        form,
        form.replace("~", "%7E"),  # PHP urlencode
        _kept(rfc3986, "!'()*"),  # JavaScript encodeURIComponent
        _kept(form, "*").replace("~", "%7E"),  # Java URLEncoder
        _kept(form, "!()*").replace("~", "%7E"),  # .NET WebUtility/HttpUtility.UrlEncode
    }


def _kept(encoded: str, chars: str) -> str:
    """``encoded`` with the escapes of ``chars`` put back raw."""
    for char in chars:
        encoded = encoded.replace(f"%{ord(char):02X}", char)
    return encoded


def _json_forms(secret: str) -> set[str]:
    # Serializers differ in which characters they also write as \uXXXX (hex case is irrelevant:
    # matching ignores case). In json.dumps output those characters only ever appear raw.
    ascii_only = json.dumps(secret)[1:-1]  # Python default
    unicode = json.dumps(secret, ensure_ascii=False)[1:-1]  # JavaScript, Jackson, Newtonsoft
    return {
        ascii_only,
        unicode,
        ascii_only.replace("/", "\\/"),  # PHP json_encode
        unicode.replace("/", "\\/"),  # PHP with JSON_UNESCAPED_UNICODE
        _u_escaped(unicode, "<>&\u2028\u2029"),  # Go encoding/json
        _u_escaped(unicode, "<>&='"),  # Gson
        _u_escaped(unicode.replace('\\"', "\\u0022"), "<>&'"),  # Newtonsoft StringEscapeHandling.EscapeHtml
        _u_escaped(ascii_only.replace('\\"', "\\u0022"), "<>&'+`"),  # System.Text.Json default encoder
        json.dumps(ascii_only)[1:-1],  # escaped twice, as in a JSON string holding a JSON body
        json.dumps(unicode, ensure_ascii=False)[1:-1],
    }


def _u_escaped(text: str, chars: str) -> str:
    return text.translate({ord(char): f"\\u{ord(char):04x}" for char in chars})


def _html_forms(secret: str) -> set[str]:
    escaped = html.escape(secret)
    return {escaped, html.escape(secret, quote=False), escaped.replace("&#x27;", "&#39;").replace("&quot;", "&#34;")}


def _python_reprs(form: str) -> set[str]:
    """``form`` inside a ``repr``/``ascii`` of a str, and inside the ``repr`` of its UTF-8 bytes
    (what httpcore logs for a header value), with ``'`` escaped or not (repr picks the quotes)."""
    # A trailing '"' makes repr choose ' quotes and escape every ' (then cut off with them).
    shown = {
        repr(form + '"')[1:-2],
        ascii(form + '"')[1:-2],
        repr(form.encode("utf-8", "surrogatepass") + b'"')[2:-2],
    }
    return shown | {text.replace("\\'", "'") for text in shown}


def register_secret(secret: str, *, keep: bool = False) -> None:
    """Mask ``secret`` (in all its forms) in everything :func:`redact` sees from now on.

    ``keep``: never forget it (a client secret); otherwise it is one of the last
    ``_MAX_REMEMBERED`` secrets registered (access tokens, one per refresh).

    Costs work for this secret only: the token flow registers each new access token while other
    callers wait for it, so a registration must not grow with what was registered before (a
    regex over every remembered secret, rebuilt here, once took seconds per token).
    """
    global _scan
    if len(secret) < MIN_SECRET_CHARS:
        return
    with _lock:
        if secret in _permanent:
            return
        if secret in _registry and not keep:
            _registry.move_to_end(secret)  # registered again: the most recent, the last evicted
            return
        pairs = _registry.pop(secret, None) or tuple((form.casefold(), form) for form in forms_of(secret))
        if keep:
            _permanent[secret] = pairs
        else:
            _registry[secret] = pairs
            if len(_registry) > _MAX_REMEMBERED:
                _registry.popitem(last=False)
        # References only (the strings are shared, their hashes cached): no work per earlier secret's text.
        remembered = (*_permanent.values(), *_registry.values())
        _scan = tuple(dict.fromkeys(pair for pairs in remembered for pair in pairs))


def redact(text: str) -> str:
    """``text`` with every registered secret masked (in any letter case)."""
    scan = _scan
    if not scan:
        return text
    folded = text.casefold()
    # The common case ends here: plain substring scans, no regex. Only the forms found are matched.
    present = {form for folded_form, form in scan if folded_form in folded}
    if not present:
        return text
    return _pattern_for(frozenset(present)).sub(MASK, text)


@functools.lru_cache(maxsize=64)
def _pattern_for(forms: frozenset[str]) -> re.Pattern[str]:
    # Longest first, so a secret that contains another is masked whole. Case-insensitive:
    # percent-encoding hex may be either case, and a server may fold case.
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)


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
