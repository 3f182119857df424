"""Pure builders that turn friendly arguments into the generated request models.

Shared by the sync and async resources, so the two only differ in how they send.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import attrs
import httpx
from willow_api_client.models import (
    BatchRequest,
    FilterSpecification,
    GetTwinsRequest,
    JsonPatchOperation,
    SortSpecification,
    TicketPatchOperation,
    TimeSeriesWrite,
)
from willow_api_client.types import UNSET, Unset

from ._errors import InvalidArgumentTypeError, InvalidPointError, InvalidRequestError

__all__ = [
    "INT32_MAX",
    "WirePoint",
    "as_batch",
    "as_model",
    "as_models",
    "aware",
    "base_url_for",
    "check_flag",
    "check_headers",
    "check_id",
    "check_items",
    "check_mapping",
    "check_number",
    "check_text",
    "check_timeout",
    "check_token",
    "check_whole",
    "checked_base_url",
    "checked_ids",
    "chunked",
    "json_patch",
    "replace_ops",
    "telemetry_point",
    "telemetry_points",
    "twin_query",
]

M = TypeVar("M")


def as_model(value: M | Mapping[str, Any], cls: type[M]) -> M:
    """Accept the generated model or a plain dict in wire (camelCase) form."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls.from_dict(dict(value))  # type: ignore[attr-defined, no-any-return]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"not a valid {cls.__name__}: {type(exc).__name__}: {exc}") from exc
    raise InvalidRequestError(f"expected {cls.__name__} or a dict, got {type(value).__name__}")


def as_models(values: Iterable[M | Mapping[str, Any]], cls: type[M], name: str = "items") -> list[M]:
    return [as_model(value, cls) for value in check_items(values, name)]


def aware(value: dt.datetime, name: str) -> dt.datetime:
    """Willow timestamps are UTC instants; a naive datetime would be sent without an offset."""
    if not isinstance(value, dt.datetime):
        raise InvalidRequestError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError(f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return value


def as_batch(
    filters: Sequence[FilterSpecification | Mapping[str, Any]] | None,
    sort: Sequence[SortSpecification | Mapping[str, Any]] | None,
    page: int | None,
    page_size: int | None,
) -> BatchRequest:
    """The shared ``{sortSpecifications, filterSpecifications, page, pageSize}`` body."""
    check_whole(page, "page", minimum=1, optional=True)
    check_whole(page_size, "page_size", minimum=1, optional=True)
    filter_list = as_models(filters, FilterSpecification, "filters") if filters is not None else []
    sort_list = as_models(sort, SortSpecification, "sort") if sort is not None else []
    return BatchRequest(
        filter_specifications=filter_list or UNSET,
        sort_specifications=sort_list or UNSET,
        page=page if page is not None else UNSET,
        page_size=page_size if page_size is not None else UNSET,
    )


def twin_query(
    query: GetTwinsRequest | Mapping[str, Any] | None, page_size: int | None, token: str | None
) -> GetTwinsRequest:
    """A copy of the twins query with this page's size and continuation token."""
    base = as_model(query if query is not None else {}, GetTwinsRequest).to_dict()
    if page_size is not None:
        base["pageSize"] = check_whole(page_size, "page_size (POST /twins)", minimum=1, maximum=1000)
    if token is not None:
        base["continuationToken"] = check_text(token, "continuation_token")
    else:
        base.pop("continuationToken", None)
    return GetTwinsRequest.from_dict(base)


def replace_ops(changes: Mapping[str, Any]) -> list[TicketPatchOperation]:
    """``{"/summary": "x"}`` or ``{"summary": "x"}`` -> JSON Patch ``replace`` operations (RFC 6902)."""
    ops = []
    for path, value in check_mapping(changes, "changes").items():
        check_text(path, "a key of changes")
        ops.append(
            TicketPatchOperation.from_dict(
                {"op": "replace", "path": path if path.startswith("/") else f"/{path}", "value": value}
            )
        )
    if not ops:
        raise InvalidRequestError("changes must name at least one property")
    return ops


def json_patch(operations: Sequence[JsonPatchOperation | Mapping[str, Any]]) -> list[JsonPatchOperation]:
    ops = as_models(operations, JsonPatchOperation, "operations") if operations is not None else []
    if not ops:
        raise InvalidRequestError("a JSON Patch needs at least one operation")
    return ops


class WirePoint(dict[str, Any]):
    """A point already checked and kept in wire (camelCase) form.

    Building a ``TimeSeriesWrite`` and serialising it again costs ~20 µs per point, which
    dominates a large ingest; the generated request body only calls ``to_dict()`` on each item.
    """

    def to_dict(self) -> dict[str, Any]:
        return self


_INF = float("inf")
# orjson, which encodes the batch, carries integers of at most 64 bits (signed or unsigned).
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


def _json_problem(value: object) -> str | None:
    """Why ``value`` cannot travel as strict JSON (RFC 8259 has no NaN/Infinity), or None.
    https://www.rfc-editor.org/rfc/rfc8259#section-6"""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return None
    if kind is float or isinstance(value, float):
        return None if -_INF < value < _INF else f"{value!r} is not a JSON number"  # type: ignore[operator]
    if kind is int or isinstance(value, int):
        return None if _INT_MIN <= value <= _INT_MAX else "an integer wider than 64 bits"  # type: ignore[operator]
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"object key {key!r} is not a string"
            problem = _json_problem(item)
            if problem is not None:
                return f"{key}: {problem}"
        return None
    if isinstance(value, list | tuple):
        for item in value:
            problem = _json_problem(item)
            if problem is not None:
                return problem
        return None
    return f"a {kind.__name__} has no JSON form"


def _twin_reference(checked: dict[str, Any]) -> None:
    """dtId or externalId must name the twin. The published docs say "dtId (aka twinId)", but the
    source ignores a ``twinId`` key, so a point with only ``twinId`` is sent as ``dtId`` instead.
    https://developers.willowinc.com/openapi/willow-api/time-series (docs/03-relationships-timeseries.md)"""
    dt_id = checked.get("dtId")
    twin_id = checked.get("twinId")
    if twin_id is not None:
        if not isinstance(twin_id, str) or not twin_id:
            raise InvalidPointError("twinId must be a non-empty string")
        if dt_id is None:
            checked["dtId"] = dt_id = twin_id
        elif dt_id != twin_id:
            raise InvalidPointError(f"dtId {dt_id!r} and twinId {twin_id!r} differ (twinId is another name for dtId)")
        del checked["twinId"]  # the server ignores it; dtId carries the same id
    if dt_id and isinstance(dt_id, str):
        return
    external_id = checked.get("externalId")
    if external_id and isinstance(external_id, str):
        return
    raise InvalidPointError("point has neither dtId nor externalId; the server would drop it silently")


_WRITE_FIELDS = ("connectorId", "sourceTimestamp", "scalarValue")
# Keys whose values are checked on their own above; every other key gets the strict JSON check.
_CHECKED_KEYS = frozenset(("connectorId", "sourceTimestamp", "scalarValue", "dtId", "twinId", "externalId"))


def _checked_wire_point(point: Mapping[str, Any]) -> WirePoint:
    """The checks ``TimeSeriesWrite.from_dict`` would make, without building the model, plus the
    twin reference and strict-JSON rules (hot path: one call per ingested point, so plain dict
    lookups, no generator expressions, and the recursive JSON check only for unusual values)."""
    checked = WirePoint(point)
    if not ("connectorId" in checked and "sourceTimestamp" in checked and "scalarValue" in checked):
        for key in _WRITE_FIELDS:
            if key not in checked:
                raise InvalidPointError(f"missing required field {key!r}")
    stamp = checked["sourceTimestamp"]
    if type(stamp) is str:
        try:
            parsed = dt.datetime.fromisoformat(stamp)  # Python 3.11 reads 'Z' and 7 fractional digits
        except ValueError:
            raise InvalidPointError(f"sourceTimestamp {stamp!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise InvalidPointError(f"sourceTimestamp {stamp!r} has no UTC offset")
    elif isinstance(stamp, dt.datetime):
        if stamp.tzinfo is None or stamp.utcoffset() is None:
            raise InvalidPointError("sourceTimestamp must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
        checked["sourceTimestamp"] = stamp.isoformat()
    else:
        raise InvalidPointError("sourceTimestamp must be an ISO 8601 string or a datetime")
    if type(checked["connectorId"]) is not str:
        raise InvalidPointError("connectorId must be a string")
    value = checked["scalarValue"]
    kind = type(value)
    if kind is float:
        if not -_INF < value < _INF:  # false for NaN and both infinities
            raise InvalidPointError(f"scalarValue {value!r} is not a JSON number")
    elif kind is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidPointError("scalarValue: an integer wider than 64 bits")
    elif kind is bool or not isinstance(value, int | float | Mapping):
        raise InvalidPointError("scalarValue must be a number (or an object), per the spec's write schema")
    else:
        problem = _json_problem(value)
        if problem is not None:
            raise InvalidPointError(f"scalarValue: {problem}")
    dt_id = checked.get("dtId")
    if not dt_id or type(dt_id) is not str or "twinId" in checked:  # the usual point skips the call
        _twin_reference(checked)
    if len(checked) > 4:  # the four usual keys are checked above; look at the rest only when there is one
        for key, item in checked.items():
            if key not in _CHECKED_KEYS:
                problem = _json_problem(item)
                if problem is not None:
                    raise InvalidPointError(f"{key}: {problem}")
    return checked


def _checked_model_point(point: TimeSeriesWrite) -> TimeSeriesWrite:
    """The same rules for a ``TimeSeriesWrite`` model (checked via its wire form, sent as the model)."""
    checked = _checked_wire_point(point.to_dict())
    if isinstance(point.twin_id, str) and point.dt_id != checked.get("dtId"):
        return attrs.evolve(point, dt_id=checked["dtId"], twin_id=UNSET)
    return point


def telemetry_point(point: TimeSeriesWrite | Mapping[str, Any]) -> TimeSeriesWrite | WirePoint:
    """Check one point for ``POST /time-series``; raises :class:`InvalidPointError` with the reason.

    A point with neither ``dtId`` nor ``externalId`` (the server drops it silently), with ``dtId``
    and ``twinId`` that differ, or with a value strict JSON cannot carry (NaN, Infinity) is refused.
    """
    if type(point) is dict or isinstance(point, Mapping):
        return _checked_wire_point(point)
    if isinstance(point, TimeSeriesWrite):
        return _checked_model_point(point)
    raise InvalidPointError(f"expected TimeSeriesWrite or a dict, got {type(point).__name__}")


def telemetry_points(points: Iterable[TimeSeriesWrite | Mapping[str, Any]]) -> list[TimeSeriesWrite | WirePoint]:
    out = []
    for index, point in enumerate(check_items(points, "points")):
        try:
            out.append(telemetry_point(point))
        except InvalidPointError as exc:
            raise InvalidPointError(f"point {index}: {exc.reason}") from None
    return out


def checked_ids(values: Iterable[str], name: str = "ids") -> list[str]:
    """A list of ids, each usable in a path; one string is refused (it would iterate per character)."""
    if isinstance(values, str | bytes):
        raise InvalidRequestError(f"{name} must be a list of ids, not one string")
    try:
        items = iter(values)
    except TypeError:
        raise InvalidRequestError(f"{name} must be a list of ids, got {type(values).__name__}") from None
    return [check_id(value, name) for value in items]


def chunked(values: Iterable[M], size: int) -> Iterable[list[M]]:
    chunk: list[M] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def unset_if_none(value: M | None) -> M | Unset:
    return UNSET if value is None else value


def base_url_for(instance: str) -> str:
    """``https://{instance}.app.willowinc.com/api/v3`` (the spec's server)."""
    if not isinstance(instance, str):
        raise InvalidArgumentTypeError(f"instance must be a string, got {type(instance).__name__}")
    # ASCII only: str.isalnum() also accepts digits such as '٣', which no DNS label may hold (RFC 1035 2.3.1).
    if not 0 < len(instance) <= 63 or not all(c.isascii() and (c.isalnum() or c == "-") for c in instance):
        raise InvalidRequestError(
            f"instance must be a Willow instance name (ASCII letters, digits, '-'), got {instance[:80]!r}"
        )
    return f"https://{instance}.app.willowinc.com/api/v3"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_base_url(base_url: str) -> str:
    if not isinstance(base_url, str):
        raise InvalidArgumentTypeError(f"base_url must be a string, got {type(base_url).__name__}")
    try:  # what httpx and urllib both refuse: a broken IPv6 literal, a port that is no number, a bad IDNA host
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - parsing the port raises ValueError for 'abc' or 99999
        httpx.URL(base_url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidRequestError(f"base_url is not a valid URL ({exc}): {base_url[:200]!r}") from None
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return base_url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return base_url.rstrip("/")
    raise InvalidRequestError(
        f"base_url must use https (plain http is allowed only for loopback hosts), got {base_url[:200]!r}"
    )


#: Longest id accepted, in UTF-8 bytes. Willow ids are ADT ``$dtId``s and GUIDs, far shorter; a
#: longer one would only make a URL that proxies refuse (or ``httpx.InvalidURL`` past 65,536).
MAX_ID_BYTES = 1024
# C0 controls and DEL: no real id holds them, and a proxy may cut the URL at a NUL.
_CONTROL_CHARS = frozenset(map(chr, [*range(0x20), 0x7F]))


def check_id(value: object, name: str = "id") -> str:
    """Refuse ids that cannot address one resource once percent-encoded into a path."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError(f"{name} must not be empty")
    if value in (".", ".."):
        # Percent-encoding leaves dots alone, and URL normalisation would turn these into a parent path.
        raise InvalidRequestError(f"{name} {value!r} is a path segment, not an id")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate such as '\ud800' has no UTF-8 form
        raise InvalidRequestError(f"{name} is not valid Unicode text (it holds a lone surrogate)") from None
    if size > MAX_ID_BYTES:
        raise InvalidRequestError(f"{name} is {size} bytes long; at most {MAX_ID_BYTES} are accepted")
    if not _CONTROL_CHARS.isdisjoint(value):
        raise InvalidRequestError(f"{name} must not contain control characters")
    return value


# ------------------------------------------------------------------ argument checks at the public boundary
# One place for every method's scalar arguments, so a wrong type or range is an InvalidRequestError
# (InvalidArgumentTypeError, also a TypeError, for a wrong type) and never a raw error from deeper down.

#: ASP.NET binds page numbers and sizes as Int32; a larger number is a 400 at best.
INT32_MAX = (1 << 31) - 1


def _shown(value: int) -> str:
    # str() of an int over 4300 digits raises ValueError; such a number is described, not printed.
    return str(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"


def check_whole(
    value: Any, name: str, *, minimum: int = 0, maximum: int | None = INT32_MAX, optional: bool = False
) -> Any:
    """A whole number (not a bool) within ``[minimum, maximum]``; ``None`` passes when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError(f"{name} must be a whole number, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidRequestError(f"{name} must be {bounds}, got {_shown(value)}")
    return value


def check_number(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite real number >= 0 (> 0 when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentTypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value) if not isinstance(value, int) or value.bit_length() < 1000 else math.inf
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise InvalidRequestError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {number!r}")
    return number


def check_timeout(value: Any, name: str = "timeout") -> Any:
    """``None`` (no timeout), an ``httpx.Timeout``, or seconds as a finite number > 0."""
    if value is None or isinstance(value, httpx.Timeout):
        return value
    return check_number(value, name, positive=True)


def check_flag(value: Any, name: str, *, optional: bool = False) -> Any:
    """A bool (``"yes"`` would be sent as the string and read by the server as it likes)."""
    if (value is None and optional) or isinstance(value, bool):
        return value
    raise InvalidArgumentTypeError(f"{name} must be True or False, got {type(value).__name__}")


def check_text(value: Any, name: str, *, optional: bool = False) -> Any:
    """A non-empty string."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidRequestError(f"{name} must not be empty")
    return value


def check_mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(f"{name} must be a mapping (a dict), got {type(value).__name__}")
    return value


def check_items(values: Any, name: str) -> list[Any]:
    """A list (or other iterable) of items, read once into a list (a generator cannot be read
    twice); one string, bytes or dict is refused, not iterated."""
    if isinstance(values, str | bytes | Mapping):
        raise InvalidArgumentTypeError(f"{name} must be a list, not one {type(values).__name__}")
    if isinstance(values, list):
        return values
    try:
        iterator = iter(values)
    except TypeError:
        raise InvalidArgumentTypeError(f"{name} must be a list, got {type(values).__name__}") from None
    return list(iterator)


# RFC 9110 5.6.2 token characters: what a header name may hold.
_TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def check_headers(headers: Any, name: str = "headers") -> dict[str, str]:
    """Extra request headers: token names and printable ASCII values (httpx sends str values as
    ASCII, and a CR or LF would split the header). https://www.rfc-editor.org/rfc/rfc9110#section-5.5"""
    if headers is None:
        return {}
    checked: dict[str, str] = {}
    for key, value in check_mapping(headers, name).items():
        if not isinstance(key, str) or not key or not _TCHARS.issuperset(key):
            raise InvalidRequestError(f"{name}: {str(key)[:80]!r} is not a valid header name")
        if not isinstance(value, str):
            raise InvalidArgumentTypeError(f"{name}: the value of {key} must be a string, got {type(value).__name__}")
        if not all(" " <= c <= "~" or c == "\t" for c in value):
            raise InvalidRequestError(f"{name}: the value of {key} must be printable ASCII")
        checked[key] = value
    return checked


#: Longest continuation token sent back in a query string, percent-encoded. httpx refuses a query
#: over 65,536 characters (``InvalidURL``) and proxies far less; real tokens are a few KB.
MAX_QUERY_TOKEN_CHARS = 32 * 1024


def check_token(value: Any, name: str = "continuation_token") -> str:
    """A continuation token that can travel in a query string (the caller's or the server's)."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(f"{name} must be a string, got {type(value).__name__}")
    try:
        size = len(quote(value, safe=""))
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form
        raise InvalidRequestError(f"{name} is not valid Unicode text (it holds a lone surrogate)") from None
    if size > MAX_QUERY_TOKEN_CHARS:
        raise InvalidRequestError(
            f"{name} is {size} characters once encoded; at most {MAX_QUERY_TOKEN_CHARS} fit a URL"
        )
    return value
