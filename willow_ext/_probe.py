"""``willow doctor``: a first-contact conformance probe of a real tenant against the pinned spec.

It runs each safe read of the API once (every GET and read-only POST query, with the smallest page
sizes; never a write), at most 20 requests per 10 s on ``/twins`` and ``/time-series``. It
validates each answer with openapi-core against ``openapi/willow-api.yaml`` and reports, per
operation, "conforms" or how it differs (status, missing, extra, mistyped or out-of-enum members)
with the ``x-willow-provenance`` of each differing part. It also proposes JSON-pointer patches for
``openapi/overrides.yaml``.

The decisions (what to send, what differs, which patch) are pure functions; :func:`run_probe` is
the thin I/O shell. Needs the ``testing`` extra (openapi-core).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx
import yaml

from ._errors import InvalidRequestError, WillowError, excerpt
from ._operations import OPERATIONS, OperationFacts
from ._tolerant import find_operation

if TYPE_CHECKING:
    from openapi_core import OpenAPI

__all__ = [
    "Difference",
    "OperationReport",
    "ProbeStep",
    "RateLimiter",
    "differences",
    "doctor",
    "overrides_patch",
    "probe_steps",
    "render_report",
    "run_probe",
]

API_ROOT = "/api/v3"
#: Willow's limit on /twins/* and /time-series/* (20 requests per 10 s per client, fixed window).
RATE_LIMIT = (20, 10.0)
_GRADES = {"F": "published", "P": "partly published", "S": "Willow source only", "I": "inferred"}
DifferenceKind = Literal["status", "media", "shape", "missing", "extra", "type", "enum", "invalid"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One way an answer differs from the pinned spec."""

    kind: DifferenceKind
    where: str  # JSON path in the body ("$" is the body itself), or "status"
    detail: str
    provenance: str  # what the spec's claim there rests on
    pointer: str = ""  # JSON pointer into the spec of the schema (or response) that differs
    proposal: Any = None  # the value a patch at ``pointer`` would set, when one is proposed

    def __str__(self) -> str:
        return f"{self.kind} at {self.where}: {self.detail} [spec: {self.provenance}]"


@dataclass(frozen=True, slots=True)
class OperationReport:
    """The probe's verdict on one operation."""

    operation: str
    outcome: Literal["conforms", "differs", "skipped", "failed"]
    http_status: int | None = None
    differences: tuple[Difference, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProbeStep:
    """One safe read: an operation, how to fill its request from ids found so far, what it yields."""

    operation: str
    needs: tuple[str, ...] = ()
    path: Callable[[Mapping[str, str]], str] | None = None
    query: Callable[[Mapping[str, str]], dict[str, str]] | None = None
    body: Callable[[Mapping[str, str]], Any] | None = None
    form: bool = False
    found: Callable[[Any], dict[str, str]] = field(default=lambda _body: {})


# ---------------------------------------------------------------------------------------- plan


def _first(body: Any, key: str | None, *names: str) -> dict[str, str]:
    """``{names[0]: id}`` of the first item of ``body[key]`` (or of ``body`` when it is a list)."""
    items = body.get(key) if isinstance(body, dict) and key else body
    if isinstance(items, list) and items and isinstance(items[0], dict):
        for name in names[1:]:
            value = items[0].get(name)
            if isinstance(value, str | int) and str(value):
                return {names[0]: str(value)}
    return {}


def _window(_ids: Mapping[str, str]) -> dict[str, str]:
    end = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {"start": (end - dt.timedelta(hours=1)).isoformat(), "end": end.isoformat(), "pageSize": "1"}


def _page_one(_ids: Mapping[str, str]) -> dict[str, Any]:
    return {"page": 1, "pageSize": 1}


def _q(value: str) -> str:
    return quote(value, safe="")


def _attachment(body: Any) -> dict[str, str]:
    attachments = body.get("attachments") if isinstance(body, dict) else None
    return _first(attachments, None, "attachment", "id")


def probe_steps() -> tuple[ProbeStep, ...]:
    """Every safe read, in dependency order (later steps use ids found by earlier ones)."""
    twin = ("twin",)
    return (
        ProbeStep("GetOAuth2Token", form=True),
        ProbeStep("GET /models", found=lambda b: _first(b, None, "model", "id")),
        ProbeStep("GET /models/{id}", ("model",), path=lambda i: f"/models/{_q(i['model'])}"),
        ProbeStep("POST /twins", body=lambda _i: {"pageSize": 1}, found=lambda b: _first(b, "content", "twin", "id")),
        ProbeStep(
            "GET /twins/{id}",
            twin,
            path=lambda i: f"/twins/{_q(i['twin'])}",
            query=lambda _i: {"includeRelationships": "true"},
        ),
        ProbeStep("POST /twins/ids", twin, body=lambda i: [i["twin"]]),
        ProbeStep("POST /twins/graph", twin, body=lambda i: {"alias": "Twin", "id": i["twin"], "relationships": []}),
        ProbeStep("POST /twins/count", body=lambda _i: {}),
        ProbeStep(
            "GET /twins/{twinId}/relationships/outgoing",
            twin,
            path=lambda i: f"/twins/{_q(i['twin'])}/relationships/outgoing",
            found=lambda b: _first(b, None, "relationship", "id", "Id"),
        ),
        ProbeStep(
            "GET /twins/{twinId}/relationships/incoming",
            twin,
            path=lambda i: f"/twins/{_q(i['twin'])}/relationships/incoming",
        ),
        ProbeStep(
            "GET /twins/{twinId}/relationships/{relationshipId}",
            ("twin", "relationship"),
            path=lambda i: f"/twins/{_q(i['twin'])}/relationships/{_q(i['relationship'])}",
        ),
        ProbeStep("GET /time-series/{twinId}", twin, path=lambda i: f"/time-series/{_q(i['twin'])}", query=_window),
        ProbeStep("GET /time-series/{twinId}/latest", twin, path=lambda i: f"/time-series/{_q(i['twin'])}/latest"),
        ProbeStep(
            "POST /time-series/ids",
            twin,
            query=lambda i: {**_window(i), "continuationToken": ""},  # required; empty is the first page
            body=lambda i: [i["twin"]],
        ),
        ProbeStep("POST /time-series/ids/latest", twin, body=lambda i: [i["twin"]]),
        ProbeStep("POST /insights", body=_page_one, found=lambda b: _first(b, "items", "insight", "id")),
        ProbeStep("GET /insights/{insightId}", ("insight",), path=lambda i: f"/insights/{_q(i['insight'])}"),
        ProbeStep("POST /events", body=_page_one, found=lambda b: _first(b, "items", "event", "id")),
        ProbeStep("GET /events/{eventId}", ("event",), path=lambda i: f"/events/{_q(i['event'])}"),
        ProbeStep("GET /events/types"),
        ProbeStep("POST /tickets", body=_page_one, found=lambda b: _first(b, "items", "ticket", "id")),
        ProbeStep(
            "GET /tickets/{ticketId}",
            ("ticket",),
            path=lambda i: f"/tickets/{_q(i['ticket'])}",
            query=lambda _i: {"includeAttachments": "true"},
            found=_attachment,
        ),
        ProbeStep(
            "GET /tickets/{ticketId}/attachments/{attachmentId}",
            ("ticket", "attachment"),
            path=lambda i: f"/tickets/{_q(i['ticket'])}/attachments/{_q(i['attachment'])}",
        ),
        ProbeStep("POST /tickets/categories", body=_page_one),
        ProbeStep("POST /tickets/job-types", body=_page_one),
        ProbeStep("POST /tickets/service-needed", body=_page_one),
        ProbeStep("GET /tickets/status"),
        ProbeStep("GET /tickets/priorities"),
    )


def safe_operations() -> list[OperationFacts]:
    """The operations the probe may call: everything that does not write."""
    return [facts for facts in OPERATIONS if not facts.writes]


# ------------------------------------------------------------------------------- differences


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _mark_text(mark: Any) -> str:
    if not isinstance(mark, Mapping):
        return "published (unmarked)"
    note = str(mark.get("note") or "").strip()
    if "response" in mark:  # an operation's mark: its response grade is what the answer is held to
        grade = _GRADES.get(str(mark["response"]), "?")
        return f"{grade} (response grade {mark['response']})" + (f"; operation note: {note}" if note else "")
    return f"{mark.get('source', '?')}" + (f": {note}" if note else "")


class _SchemaWalk:
    """Follows a jsonschema error's schema path through the spec, resolving ``$ref`` and keeping
    the JSON pointer of the schema reached and the innermost provenance mark on the way."""

    def __init__(self, spec: Mapping[str, Any], pointer: str, node: Any, mark: Any) -> None:
        self.spec, self.pointer, self.node, self.mark = spec, pointer, node, mark
        self._resolve()

    def _resolve(self) -> None:
        while isinstance(self.node, Mapping) and "$ref" in self.node:
            name = str(self.node["$ref"]).rsplit("/", 1)[-1]
            self.node = self.spec["components"]["schemas"][name]
            self.pointer = f"/components/schemas/{_escape(name)}"
            self._note()

    def _note(self) -> None:
        if isinstance(self.node, Mapping) and "x-willow-provenance" in self.node:
            self.mark = self.node["x-willow-provenance"]

    def step(self, key: Any) -> None:
        if key == "$ref" or not isinstance(self.node, Mapping | list):
            return
        self.node = self.node[key] if isinstance(self.node, list) else self.node.get(key)
        self.pointer += f"/{_escape(str(key))}"
        self._note()
        self._resolve()


def _where(path: Sequence[Any]) -> str:
    # Array positions are collapsed to [*]: one difference per member, not per item.
    text = "$"
    for part in path:
        text += "[*]" if isinstance(part, int) else f".{part}"
    return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number" if isinstance(value, float) else "integer"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__


def _schema_errors(exc: BaseException) -> list[Any]:
    cause: BaseException | None = exc
    while cause is not None:
        errors = getattr(cause, "schema_errors", None)
        if errors:
            return list(errors)
        cause = cause.__cause__
    return []


def _response_root(spec: Mapping[str, Any], facts: OperationFacts, status: int) -> tuple[str, Any, Any]:
    op = spec["paths"][facts.path][facts.method.lower()]
    pointer = f"/paths/{_escape(facts.path)}/{facts.method.lower()}/responses/{status}/content/application~1json/schema"
    schema = ((op["responses"].get(str(status)) or {}).get("content") or {}).get("application/json", {}).get("schema")
    return pointer, schema, op.get("x-willow-provenance")


def _from_schema_error(spec: Mapping[str, Any], facts: OperationFacts, status: int, error: Any) -> Iterator[Difference]:
    pointer, schema, op_mark = _response_root(spec, facts, status)
    walk = _SchemaWalk(spec, pointer, schema, op_mark)
    for key in list(error.absolute_schema_path)[:-1]:
        walk.step(key)
    keyword = error.validator
    path = list(error.absolute_path)
    if keyword == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        for name in error.validator_value:
            if name not in instance:
                prop = ((walk.node or {}).get("properties") or {}).get(name) or {}
                mark = prop.get("x-willow-provenance", walk.mark) if isinstance(prop, Mapping) else walk.mark
                remaining = [n for n in error.validator_value if n in instance]
                yield Difference(
                    "missing",
                    _where([*path, name]),
                    f"required member {name!r} is absent",
                    _mark_text(mark),
                    f"{walk.pointer}/required",
                    remaining,
                )
        return
    if keyword == "enum":
        value = error.instance
        yield Difference(
            "enum",
            _where(path),
            f"{value!r} is not one of the spec's {len(error.validator_value)} values",
            _mark_text(walk.mark),
            f"{walk.pointer}/enum",
            [*error.validator_value, value],
        )
        return
    if keyword in ("type", "nullable", "format"):
        seen = _json_type(error.instance)
        if not path and keyword == "type":
            yield Difference(
                "shape", "$", f"the body is {seen}, the spec expects {walk.node.get('type')}", _mark_text(walk.mark)
            )
            return
        if seen == "null":
            yield Difference(
                "type",
                _where(path),
                "null where the spec does not allow it",
                _mark_text(walk.mark),
                f"{walk.pointer}/nullable",
                True,
            )
            return
        expected = walk.node.get("type") if isinstance(walk.node, Mapping) else None
        yield Difference(
            "type",
            _where(path),
            f"{seen} where the spec expects {expected}",
            _mark_text(walk.mark),
            f"{walk.pointer}/type",
            seen,
        )
        return
    yield Difference("invalid", _where(path), excerpt(str(error.message), 200), _mark_text(walk.mark))


def _extras(
    spec: Mapping[str, Any], pointer: str, schema: Any, mark: Any, value: Any, path: list[Any]
) -> Iterator[Difference]:
    """Members the spec does not declare (open schemas accept them, so openapi-core is silent)."""
    walk = _SchemaWalk(spec, pointer, schema, mark)
    node = walk.node
    if not isinstance(node, Mapping):
        return
    for combinator in ("anyOf", "oneOf", "allOf"):
        for index, alternative in enumerate(node.get(combinator) or []):
            alt = _SchemaWalk(spec, f"{walk.pointer}/{combinator}/{index}", alternative, walk.mark)
            wanted = alt.node.get("type") if isinstance(alt.node, Mapping) else None
            if wanted == _json_type(value) or (wanted == "object" and isinstance(value, dict)):
                yield from _extras(spec, alt.pointer, alt.node, alt.mark, value, path)
                return
    if isinstance(value, list) and isinstance(node.get("items"), Mapping) and value:
        yield from _extras(spec, f"{walk.pointer}/items", node["items"], walk.mark, value[0], [*path, 0])
    properties = node.get("properties")
    if isinstance(value, dict) and isinstance(properties, Mapping):
        for name, member in value.items():
            if name in properties:
                sub = properties[name]
                yield from _extras(
                    spec, f"{walk.pointer}/properties/{_escape(name)}", sub, walk.mark, member, [*path, name]
                )
            else:
                proposal = {
                    "type": _json_type(member) if member is not None else "string",
                    "nullable": member is None or None,
                    "x-willow-provenance": {"source": "consumers", "note": "Seen in a live answer by willow doctor."},
                }
                yield Difference(
                    "extra",
                    _where([*path, name]),
                    f"member {name!r} ({_json_type(member)}) is not in the spec",
                    _mark_text(walk.mark),
                    f"{walk.pointer}/properties/{_escape(name)}",
                    {k: v for k, v in proposal.items() if v is not None},
                )


def differences(
    spec: Mapping[str, Any], validator: OpenAPI, facts: OperationFacts, request: Any, response: Any, body: Any
) -> list[Difference]:
    """Every way ``response`` (an openapi-core response) differs from the spec (pure but for
    openapi-core's validation of the already-received answer)."""
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.templating.responses.exceptions import ResponseNotFound

    op = spec["paths"][facts.path][facts.method.lower()]
    op_mark = op.get("x-willow-provenance")
    status = response.status_code
    try:
        validator.validate_response(request, response)
        errors: list[Any] = []
    except ResponseNotFound:
        declared = sorted(code for code in op["responses"] if code.startswith("2"))
        template = op["responses"][declared[0]] if declared else {"description": "Seen by willow doctor."}
        return [
            Difference(
                "status",
                "status",
                f"HTTP {status}; the spec declares {', '.join(declared)}",
                _mark_text(op_mark),
                f"/paths/{_escape(facts.path)}/{facts.method.lower()}/responses/{status}",
                template,
            )
        ]
    except MediaTypeNotFound:
        kind = response.content_type or "no content type"
        return [Difference("media", "$", f"answered {kind}", _mark_text(op_mark))]
    except Exception as exc:  # openapi-core raises a family of errors; all mean "not per spec"
        errors = _schema_errors(exc)
        if not errors:
            return [Difference("invalid", "$", excerpt(f"{type(exc).__name__}: {exc}", 200), _mark_text(op_mark))]
    found: dict[tuple[str, str], Difference] = {}
    for error in errors:
        for diff in _from_schema_error(spec, facts, status, error):
            found.setdefault((diff.kind, diff.where), diff)
    if not any(d.kind == "shape" for d in found.values()):
        pointer, schema, mark = _response_root(spec, facts, status)
        for diff in _extras(spec, pointer, schema, mark, body, []):
            found.setdefault((diff.kind, diff.where), diff)
    return sorted(found.values(), key=lambda d: (d.where, d.kind))


def _shape_proposal(spec: Mapping[str, Any], facts: OperationFacts, status: int) -> tuple[str, Any]:
    """A lenient response schema (array | envelope), as POST /twins/ids already has."""
    pointer, schema, _ = _response_root(spec, facts, status)
    walk = _SchemaWalk(spec, pointer, schema, None)
    if facts.shape == "object" and facts.envelope_key:
        items = walk.node["properties"][facts.envelope_key]
        return pointer, {"anyOf": [schema, {"type": "array", "items": items.get("items", {})}]}
    return pointer, {"anyOf": [schema, {"type": "object", "additionalProperties": True}]}


def overrides_patch(spec: Mapping[str, Any], reports: Sequence[OperationReport]) -> dict[str, Any]:
    """Proposed ``patches`` for ``openapi/overrides.yaml`` (JSON pointers into the pinned spec)."""
    patches: list[dict[str, Any]] = []
    seen: set[str] = set()
    for report in reports:
        facts = find_operation(report.operation)
        for diff in report.differences:
            pointer, value = diff.pointer, diff.proposal
            if diff.kind == "shape" and facts is not None and report.http_status is not None:
                pointer, value = _shape_proposal(spec, facts, report.http_status)
            if not pointer or value is None or pointer in seen:
                continue
            seen.add(pointer)
            patches.append({"pointer": pointer, "value": value, "why": f"{report.operation}: {diff}"})
    return {"patches": patches}


def render_report(reports: Sequence[OperationReport], patch: Mapping[str, Any]) -> str:
    lines = ["# willow doctor: the tenant against the pinned spec", ""]
    counts = {o: sum(r.outcome == o for r in reports) for o in ("conforms", "differs", "skipped", "failed")}
    lines.append(", ".join(f"{n} {o}" for o, n in counts.items()))
    lines.append("")
    for report in reports:
        status = f" (HTTP {report.http_status})" if report.http_status is not None else ""
        lines.append(
            f"- {report.operation}{status}: {report.outcome}" + (f" - {report.reason}" if report.reason else "")
        )
        lines.extend(f"    - {diff}" for diff in report.differences)
    lines += ["", "## Proposed openapi/overrides.yaml patches", "", "```yaml"]
    lines.append(yaml.safe_dump(dict(patch), sort_keys=False, allow_unicode=True, width=110).rstrip())
    lines += ["```", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- I/O shell


class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds (so in every fixed window too)."""

    def __init__(
        self,
        limit: int = RATE_LIMIT[0],
        window: float = RATE_LIMIT[1],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window, self.clock, self.sleep = limit, window, clock, sleep
        self._sent: deque[float] = deque()

    def wait(self) -> None:
        now = self.clock()
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            self.sleep(self.window - (now - self._sent[0]) + 0.05)
            self._sent.popleft()
        self._sent.append(self.clock())


def _limited(path: str) -> bool:
    return path.startswith(("/twins", "/time-series"))


def run_probe(
    http: httpx.Client,
    *,
    token_form: Mapping[str, str],
    spec: Mapping[str, Any],
    validator: OpenAPI,
    limiter: RateLimiter | None = None,
    known_ids: Mapping[str, str] | None = None,
) -> list[OperationReport]:
    """Run every :func:`probe_steps` step with ``http`` (base URL = the API root, auth installed).
    ``token_form`` is the client-credentials form for the token step (sent once, never logged).
    ``known_ids`` (``twin``, ``ticket``, ``attachment``, ...) take precedence over ids found on the way."""
    from openapi_core.testing import MockRequest, MockResponse

    limiter = limiter or RateLimiter()
    ids: dict[str, str] = dict(known_ids or {})
    reports: list[OperationReport] = []
    for step in probe_steps():
        facts = find_operation(step.operation)
        if facts is None or facts.writes:  # the plan holds safe reads only; never send anything else
            raise ValueError(f"{step.operation} is not a safe read")
        name = f"{facts.method} {facts.path}"
        if any(need not in ids for need in step.needs):
            missing = ", ".join(n for n in step.needs if n not in ids)
            reports.append(OperationReport(name, "skipped", reason=f"no {missing} id found to read"))
            continue
        path = step.path(ids) if step.path else facts.path
        query = step.query(ids) if step.query else {}
        body = step.body(ids) if step.body else None
        if _limited(path):
            limiter.wait()
        try:
            if step.form:
                sent = http.post(path, data=dict(token_form), auth=httpx.Auth())  # the token step authenticates itself
                content = sent.request.content
                content_type = "application/x-www-form-urlencoded"
            else:
                sent = http.request(facts.method, path, params=query, json=body)
                content = sent.request.content
                content_type = "application/json"
        except (httpx.HTTPError, WillowError) as exc:  # e.g. refused credentials: every step says so
            # Masked before it is bounded: httpx quotes what the server sent (a reflected secret too).
            reports.append(OperationReport(name, "failed", reason=excerpt(f"{type(exc).__name__}: {exc}", 200)))
            continue
        if sent.status_code == 429:
            reports.append(OperationReport(name, "failed", 429, reason="rate limited; run again later"))
            continue
        if not sent.is_success:
            reports.append(OperationReport(name, "failed", sent.status_code, reason="not a success; not compared"))
            continue
        try:
            decoded: Any = sent.json() if sent.content.strip() else None
        except ValueError:
            decoded = None
        if not step.form:
            for key, value in step.found(decoded).items():
                ids.setdefault(key, value)
        request = MockRequest(
            "http://willow.probe",
            facts.method.lower(),
            API_ROOT + path,
            args=query,
            data=content or None,
            content_type=content_type,
        )
        mime = sent.headers.get("content-type", "").split(";")[0].strip()
        response = MockResponse(
            sent.content, status_code=sent.status_code, content_type=mime, headers=dict(sent.headers)
        )
        found = differences(spec, validator, facts, request, response, decoded)
        reports.append(OperationReport(name, "differs" if found else "conforms", sent.status_code, tuple(found)))
    return reports


def probe(
    base_url: str,
    client_id: str,
    client_secret: str,
    *,
    known_ids: Mapping[str, str] | None = None,
    **client_kwargs: Any,
) -> tuple[list[OperationReport], dict[str, Any]]:
    """Probe the tenant at ``base_url``; returns the reports and the proposed overrides patch."""
    from ._auth import ClientCredentials, ClientCredentialsAuth, Secret

    try:
        from .testing._spec import load_spec, validator
    except ImportError as exc:  # openapi-core and the spec loader come with the testing extra
        raise InvalidRequestError(
            f"willow doctor needs: pip install 'willow-api[testing]' ({exc.name} missing)"
        ) from None

    secret = Secret(client_secret)
    auth = ClientCredentialsAuth(ClientCredentials(client_id, secret, f"{base_url}/oauth2/token"))
    spec = load_spec()
    form = {"client_id": client_id, "client_secret": secret.get_secret_value(), "grant_type": "client_credentials"}
    with httpx.Client(base_url=base_url, auth=auth, timeout=30.0, **client_kwargs) as http:
        reports = run_probe(http, token_form=form, spec=spec, validator=validator(False), known_ids=known_ids)
    return reports, overrides_patch(spec, reports)


def reports_json(reports: Sequence[OperationReport]) -> str:
    return json.dumps(
        [
            {
                "operation": r.operation,
                "outcome": r.outcome,
                "http_status": r.http_status,
                "reason": r.reason,
                "differences": [
                    {"kind": d.kind, "where": d.where, "detail": d.detail, "provenance": d.provenance}
                    for d in r.differences
                ],
            }
            for r in reports
        ],
        indent=2,
    )


def doctor(report: Path, patch: Path, *, json_output: bool, echo: Callable[[str], None]) -> int:
    """``willow doctor``: probe the tenant of the WILLOW_* settings, write the report and the proposed
    patches, print a summary; 1 when something differs, else 0."""
    from ._base import settings_from_env
    from ._requests import base_url_for, checked_base_url

    settings = settings_from_env({})
    base_url = checked_base_url(settings.get("base_url") or base_url_for(settings["instance"]))
    reports, proposed = probe(base_url, settings["client_id"], settings["client_secret"])
    report.write_text(render_report(reports, proposed))
    patch.write_text(yaml.safe_dump(proposed, sort_keys=False, allow_unicode=True, width=110))
    if json_output:
        echo(reports_json(reports))
    else:
        for item in reports:
            echo(f"{item.outcome:9} {item.operation}" + "".join(f"\n          {d}" for d in item.differences))
        echo(f"report: {report}; proposed overrides: {patch}")
    return 1 if any(item.outcome == "differs" for item in reports) else 0
