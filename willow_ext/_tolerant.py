"""Read a 2xx answer strictly where the spec is published and tolerantly where it guesses.

Pure decisions on a raw ``httpx.Response``, made *before* any generated parser sees the body
(a generated ``from_dict`` turns a bare array of two-key objects into an empty page, silently):

- Every operation: an HTML or other non-JSON body is never success, and JSON that does not parse
  is a :class:`ResponseValidationError`.
- Published (or partly published) success responses stay strict: an undeclared 2xx status, the
  wrong top-level shape, or a top-level required member that is missing or null is an error.
- Inferred success responses (``response: I`` in the operation's ``x-willow-provenance``): any
  2xx is success; a list takes a bare array or an envelope and is normalised to what the generated
  parser expects; a write (create, update, upload, delete) whose answer cannot be read becomes an
  :class:`Accepted` result, never an error after the server accepted the write.

See the README section "Spec fidelity" and ``../shared/willow-api-reference/06-spec-audit.md`` B1-B3.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from ._errors import ResponseValidationError, unframed_headers
from ._operations import OPERATIONS, OperationFacts

__all__ = ["Accepted", "Readable", "accept_unparsed", "find_operation", "read_success"]

#: Keys under which an unexpected envelope may hold the list (Willow's own envelopes use these).
_LIST_KEYS = ("items", "content", "data", "value")


@dataclass(frozen=True, slots=True)
class Accepted:
    """The server accepted a write, but its answer is not the body the spec guessed.

    Returned instead of raising, so that a created ticket or an uploaded file is never reported as
    a failure (a retry would duplicate it). ``body`` is the decoded JSON, or ``None`` when there was none.
    """

    operation: str
    status_code: int
    location: str | None
    body: Any = None


@dataclass(frozen=True, slots=True)
class Readable:
    """A 2xx answer the generated parser may read: ``response`` is the original, or (``changed``)
    a copy with the list normalised and an undeclared 2xx mapped to the declared success code."""

    response: httpx.Response
    changed: bool = False


def _name(facts: OperationFacts) -> str:
    return f"{facts.method} {facts.path}"


@functools.cache
def _routes() -> tuple[tuple[re.Pattern[str], OperationFacts], ...]:
    # Literal segments win over parameters (/twins/ids before /twins/{id}, /tickets/status before
    # /tickets/{ticketId}): sort by the number of parameters, then by length, longest first.
    ordered = sorted(OPERATIONS, key=lambda f: (f.path.count("{"), -len(f.path)))
    return tuple(
        (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(f.method + " " + f.path)) + "$"), f)
        for f in ordered
    )


#: One route: a template's segments, ``None`` where a parameter takes any non-empty segment.
_Route = tuple[tuple[str | None, ...], OperationFacts]


@functools.cache
def _buckets() -> dict[tuple[str, int], tuple[_Route, ...]]:
    """The parameterised routes of :func:`_routes` by method and segment count, in the same order,
    so a call compares against the two or three templates that could match instead of all 43."""
    buckets: dict[tuple[str, int], list[_Route]] = {}
    for _, facts in _routes():
        segments = facts.path.split("/")
        if "{" not in facts.path:
            continue  # a literal template matches only its own key, which _by_key() answers
        if not all(
            "{" not in part or (part.startswith("{") and part.endswith("}") and part.count("{") == 1)
            for part in segments
        ):
            raise AssertionError(f"{facts.path}: a parameter must be a whole segment")  # keeps the router exact
        shape = tuple(None if part.startswith("{") else part for part in segments)
        buckets.setdefault((facts.method, len(segments)), []).append((shape, facts))
    return {key: tuple(routes) for key, routes in buckets.items()}


@functools.cache
def _by_key() -> dict[str, OperationFacts]:
    keys: dict[str, OperationFacts] = {}
    for facts in OPERATIONS:
        keys[_name(facts)] = facts
        if facts.operation_id:
            keys[facts.operation_id] = facts
    return keys


def find_operation(method_or_id: str, path: str | None = None, *, api_root: str = "") -> OperationFacts | None:
    """The operation for an operationId, a ``"METHOD /template"``, or a method and concrete path
    (``api_root``, e.g. ``/api/v3``, is stripped from the path first)."""
    keys = _by_key()
    if path is None:
        return keys.get(method_or_id)
    if api_root and path.startswith(api_root):
        path = path[len(api_root) :]
    method = method_or_id.upper()
    path = path.rstrip("/") or "/"
    key = f"{method} {path}"
    found = keys.get(key)
    if found is not None:
        return found
    if "\n" in key:
        # The one place the segment router and the regexes could differ (``$`` also matches before
        # a final newline): let the regexes decide.
        return next((facts for pattern, facts in _routes() if pattern.match(key)), None)
    segments = path.split("/")
    for shape, facts in _buckets().get((method, len(segments)), ()):
        for part, want in zip(segments, shape, strict=True):  # the bucket is by segment count
            if part != want and (want is not None or not part):
                break
        else:
            return facts
    return None


def _accepted(facts: OperationFacts, response: httpx.Response, body: Any) -> Accepted:
    return Accepted(_name(facts), response.status_code, response.headers.get("location"), body)


def _refuse(facts: OperationFacts, response: httpx.Response, why: str) -> ResponseValidationError:
    return ResponseValidationError(f"{_name(facts)}: HTTP {response.status_code} {why}", response=response)


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "").lower()
    return "html" in kind or response.content.lstrip()[:1] == b"<"


def _decoded(facts: OperationFacts, response: httpx.Response) -> Any:
    if _is_html(response):
        raise _refuse(facts, response, "answered HTML, not the API (a proxy or login page?)")
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply to decode
        pass
    # Raised outside the handler so that no JSONDecodeError (whose .doc is the whole body) is chained.
    raise _refuse(facts, response, "body is not JSON")


def _shape(value: Any) -> str:
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__


def _missing(value: Any, required: tuple[str, ...]) -> list[str]:
    if not isinstance(value, dict):
        return ["(not an object)"]
    return [name for name in required if value.get(name) is None]


def _normalised(facts: OperationFacts, data: Any) -> tuple[Any, str | None]:
    """``(data in the spec's top-level shape, None)`` or ``(data, why it cannot be read)``."""
    tolerant = facts.inferred_response
    if facts.shape == "array" and not isinstance(data, list):
        lists = [key for key in _LIST_KEYS if isinstance(data, dict) and isinstance(data.get(key), list)]
        if not (tolerant and len(lists) == 1):
            return data, f"top-level JSON is {_shape(data)}, the spec expects an array"
        data = data[lists[0]]
    if facts.shape == "object" and not isinstance(data, dict):
        if not (tolerant and isinstance(data, list) and facts.envelope_key):
            return data, f"top-level JSON is {_shape(data)}, the spec expects an object"
        # Only the list: counts the server did not send are not invented (the pager reads a full
        # page as "more may follow" and asks again).
        data = {facts.envelope_key: data}
    missing = _missing(data, facts.required) if facts.shape == "object" else []
    items: Any = data if facts.shape == "array" else None
    if facts.envelope_key and isinstance(data, dict):
        items = data.get(facts.envelope_key)
        if items is not None and not isinstance(items, list):
            return data, f"`{facts.envelope_key}` is {_shape(items)}, the spec expects an array"
    if facts.item_required and items:
        for index, item in enumerate(items):
            gaps = _missing(item, facts.item_required)
            if gaps:
                missing.append(f"[{index}]: {', '.join(gaps)}")
                break
    if missing:
        return data, f"required members missing or null: {', '.join(missing)}"
    return data, None


def read_success(facts: OperationFacts, response: httpx.Response) -> Accepted | Readable:
    """Decide how to read a 2xx ``response`` to ``facts``' operation (pure: no I/O).

    Raises :class:`ResponseValidationError` when the answer cannot be read as success.
    """
    tolerant = facts.inferred_response
    status = response.status_code
    if not response.is_success:
        raise ValueError("read_success() takes 2xx responses only")
    # A write documented without a body that the server answered with another 2xx (204 for 202)
    # was still accepted: reporting it as a failure would invite a retry, a duplicate write.
    bodiless_write = facts.writes and facts.body == "none"
    if not tolerant and status not in facts.success and not bodiless_write:
        raise _refuse(facts, response, f"is not a documented success status {list(facts.success)}")
    if not response.content.strip():
        if status in facts.no_body or facts.body == "none":
            return Readable(response)
        if tolerant and facts.writes:
            return _accepted(facts, response, None)
        raise _refuse(facts, response, "has no body; the spec expects one")
    if facts.body == "binary":
        if _is_html(response):
            raise _refuse(facts, response, "answered HTML, not the API (a proxy or login page?)")
        return Readable(response)
    data = _decoded(facts, response)
    if facts.body == "none" or status in facts.no_body:
        return Readable(response)
    normal, problem = _normalised(facts, data)
    if problem is not None:
        if tolerant and facts.writes:
            return _accepted(facts, response, data)
        raise _refuse(facts, response, problem)
    target = status if status in facts.success else facts.success[0]
    if normal is data and target == status:
        return Readable(response)
    copy = httpx.Response(
        target, headers=unframed_headers(response), content=json.dumps(normal).encode(), request=response.request
    )
    return Readable(copy, changed=True)


def accept_unparsed(facts: OperationFacts, response: httpx.Response, error: Exception) -> Accepted:
    """After the generated parser failed on a :class:`Readable` answer: an :class:`Accepted` for a
    write whose response is inferred; otherwise the :class:`ResponseValidationError` to raise."""
    if facts.inferred_response and facts.writes:
        try:
            body = json.loads(response.content) if response.content.strip() else None
        except ValueError:
            body = None
        return _accepted(facts, response, body)
    raise ResponseValidationError(
        f"{_name(facts)}: response does not match the spec ({type(error).__name__}: {error})", response=response
    ) from None  # not `from error`: a JSONDecodeError keeps the whole body in `.doc`
