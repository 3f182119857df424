"""The local Willow server as an ASGI app: auth, spec validation, the 43 operations, fault injection.

Routing matches the *raw* (still percent-encoded) path, so an id such as ``a/b`` sent as
``a%2Fb`` reaches its route as one segment, as on the real gateway.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from openapi_core.contrib.starlette.requests import StarletteOpenAPIRequest
from openapi_core.contrib.starlette.responses import StarletteOpenAPIResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from ._spec import API_ROOT, validator
from ._store import InvalidInputError, MissingError, Store, TokenMismatchError, parse_instant

__all__ = ["FaultConfig", "ServerStats", "WillowApp"]

JSON = "application/json"
Handler = Callable[["WillowApp", Request, dict[str, str], Any], Any]


@dataclass
class FaultConfig:
    """What to break. Rates are probabilities per API request (the token endpoint included)."""

    error_rate: float = 0.0
    #: Relative weights of the injected faults.
    kinds: dict[str, float] = field(default_factory=lambda: {"429": 1.0, "503": 1.0, "reset": 1.0, "timeout": 1.0})
    #: The next N API requests answer 429 with no Retry-After (Willow's documented behaviour).
    burst_429: int = 0
    #: Every response waits this long first.
    slow_seconds: float = 0.0
    #: How long an injected "timeout" stalls (longer than the client's read timeout).
    stall_seconds: float = 3.0
    #: Token lifetime in seconds (Willow: 3599).
    token_lifetime: float = 3599.0
    #: Enforce Willow's rate limit on /twins* and /time-series*: per client and per group, fixed windows
    #: aligned to the epoch, 429 with a plain-text body and no Retry-After beyond the limit.
    #: https://developers.willowinc.com/docs/rate-limiting (20 requests per 10 s; scale it down for tests)
    rate_limit: bool = False
    rate_limit_requests: int = 20
    rate_limit_window: float = 10.0
    #: Faults to inject, in order, on the next API requests ("429", "503", "reset", "timeout").
    queue: list[str] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - fault injection, not security

    def pick(self) -> str | None:
        if self.queue:
            return self.queue.pop(0)
        if self.burst_429 > 0:
            self.burst_429 -= 1
            return "429"
        if self.error_rate <= 0 or self._random.random() >= self.error_rate:
            return None
        names, weights = zip(*self.kinds.items(), strict=True)
        chosen: str = self._random.choices(names, weights)[0]
        return chosen


@dataclass
class ServerStats:
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    by_operation: dict[str, int] = field(default_factory=dict)
    token_requests: int = 0
    #: Every 429 answered (injected faults and the rate limit).
    status_429: int = 0
    #: 429s from the rate limit alone.
    rate_limited: int = 0
    #: Requests that reached the rate limit, by (client id, group, window index): accepted and refused.
    window_hits: dict[tuple[str, str, int], int] = field(default_factory=dict)
    rejected_requests: list[str] = field(default_factory=list)
    response_violations: list[str] = field(default_factory=list)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    authenticated: bool = True


_ROUTES: list[_Route] = []


def route(method: str, template: str, *, authenticated: bool = True) -> Callable[[Handler], Handler]:
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"

    def register(fn: Handler) -> Handler:
        _ROUTES.append(_Route(method, re.compile(regex), template, fn, authenticated))
        return fn

    return register


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": None,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


class WillowApp:
    """An ASGI application holding one :class:`Store`.

    ``validate_requests`` rejects anything the pinned spec does not allow (400 ProblemDetails, and
    the reason is kept in ``stats.rejected_requests``); ``validate_responses`` checks every answer
    against the spec and records violations in ``stats.response_violations``.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        clients: dict[str, str] | None = None,
        faults: FaultConfig | None = None,
        validate_requests: bool = True,
        validate_responses: bool = True,
        strict: bool = True,
    ) -> None:
        self.store = store or Store()
        self.clients = clients if clients is not None else {"local-client": "local-secret"}
        self.faults = faults or FaultConfig()
        self.validate_requests = validate_requests
        self.validate_responses = validate_responses
        self.strict = strict
        self.stats = ServerStats()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._token_clients: dict[str, str] = {}  # token -> client id, to count the rate limit per client

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if raw_path.startswith("/__admin/"):
            await self._admin(request, raw_path)(scope, receive, send)
            return
        response, fault = await self._handle(request, raw_path)
        if response.status_code == 429:
            self.stats.status_429 += 1
        if fault == "reset":
            await _send_truncated(response, send)
            return
        await response(scope, receive, send)

    async def _handle(self, request: Request, raw_path: str) -> tuple[Response, str | None]:
        self.stats.requests += 1
        if self.faults.slow_seconds:
            await asyncio.sleep(self.faults.slow_seconds)
        if not raw_path.startswith(API_ROOT + "/"):
            return problem(404, "Not Found", f"no route for {raw_path}"), None
        api_path = raw_path[len(API_ROOT) :]
        matched = self._match(request.method, api_path)
        if matched is None:
            known = any(r.pattern.match(api_path) for r in _ROUTES)
            return problem(405 if known else 404, "Method Not Allowed" if known else "Not Found"), None
        found, params = matched
        self.stats.by_operation[f"{found.method} {found.template}"] = (
            self.stats.by_operation.get(f"{found.method} {found.template}", 0) + 1
        )
        fault = self.faults.pick()
        if fault is not None:
            self.stats.faults[fault] = self.stats.faults.get(fault, 0) + 1
            if fault == "429":
                return PlainTextResponse(
                    "Rate limit exceeded for twins endpoint. Consider using bulk twin queries to reduce API calls.",
                    status_code=429,
                ), None
            if fault == "503":
                return PlainTextResponse("Service Unavailable", status_code=503), None
            if fault == "timeout":
                await asyncio.sleep(self.faults.stall_seconds)
        limited = self._rate_limited(request, api_path) if self.faults.rate_limit else None
        if limited is not None:
            self.stats.rate_limited += 1
            return PlainTextResponse(
                f"Rate limit exceeded for {limited} endpoint. Consider using bulk "
                f"{'twin ' if limited == 'twins' else ''}queries to reduce API calls.",
                status_code=429,
            ), fault
        if found.authenticated and not self._authorized(request):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}), fault
        body = await request.body()
        if self.validate_requests:
            rejection = self._validate_request(request, body)
            if rejection is not None:
                self.stats.rejected_requests.append(f"{request.method} {api_path}: {rejection}")
                return problem(400, "One or more validation errors occurred.", rejection, {"$": [rejection]}), fault
        try:
            payload = (
                json.loads(body)
                if body and request.headers.get("content-type", "").startswith("application/json")
                else body
            )
            response = await _respond(found.handler(self, request, params, payload))
        except MissingError as exc:
            response = problem(404, "Not Found", str(exc))
        except InvalidInputError as exc:
            response = problem(400, "One or more validation errors occurred.", exc.detail, exc.errors)
        except TokenMismatchError as exc:
            response = problem(500, "Internal Server Error", str(exc))
        if self.validate_responses and response.status_code < 500:
            self._validate_response(request, body, response, api_path)
        return response, fault

    def _match(self, method: str, api_path: str) -> tuple[_Route, dict[str, str]] | None:
        for candidate in _ROUTES:
            if candidate.method == method:
                hit = candidate.pattern.match(api_path)
                if hit:
                    return candidate, {k: unquote(v) for k, v in hit.groupdict().items()}
        return None

    def _rate_limited(self, request: Request, api_path: str) -> str | None:
        """The group name ("twins", "time-series") when this request is over its window's limit."""
        group = next((g for g in ("twins", "time-series") if api_path.startswith("/" + g)), None)
        if group is None:
            return None
        _, _, token = request.headers.get("authorization", "").partition(" ")
        window = int(time.time() // self.faults.rate_limit_window)  # fixed windows aligned to the epoch
        key = (self._token_clients.get(token, ""), group, window)
        self.stats.window_hits[key] = count = self.stats.window_hits.get(key, 0) + 1
        return group if count > self.faults.rate_limit_requests else None

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return expiry is not None and time.monotonic() < expiry

    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any] | None:
        if self.clients.get(client_id) != client_secret:
            return None
        token = "lw-" + secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.faults.token_lifetime
        self._token_clients[token] = client_id
        self.stats.token_requests += 1
        lifetime = int(self.faults.token_lifetime)
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}

    def expire_tokens(self) -> None:
        """Make every issued token invalid (as if they all expired now)."""
        self._tokens.clear()

    # ------------------------------------------------------------------ contract

    def _validate_request(self, request: Request, body: bytes) -> str | None:
        try:
            validator(self.strict).validate_request(_RawPathRequest(request, body))
        except Exception as exc:  # openapi-core raises a family of errors; all mean "not per spec"
            return _reason(exc)
        return None

    def _validate_response(self, request: Request, body: bytes, response: Response, api_path: str) -> None:
        try:
            validator(self.strict).validate_response(_RawPathRequest(request, body), StarletteOpenAPIResponse(response))
        except Exception as exc:
            self.stats.response_violations.append(
                f"{request.method} {api_path} -> {response.status_code}: {_reason(exc)}"
            )

    # ------------------------------------------------------------------ admin (not part of the API)

    def _admin(self, request: Request, path: str) -> Response:
        if path == "/__admin/stats":
            return JSONResponse(
                {
                    "requests": self.stats.requests,
                    "faults": self.stats.faults,
                    "token_requests": self.stats.token_requests,
                    "status_429": self.stats.status_429,
                    "rate_limited": self.stats.rate_limited,
                    "points": self.store.point_count(),
                    "points_received": self.store.points_received,
                    "rejected_requests": self.stats.rejected_requests[-20:],
                    "response_violations": self.stats.response_violations[-20:],
                }
            )
        if path == "/__admin/faults":
            query = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
            for name in ("error_rate", "slow_seconds", "stall_seconds", "token_lifetime", "rate_limit_window"):
                if name in query:
                    setattr(self.faults, name, float(query[name]))
            if "burst_429" in query:
                self.faults.burst_429 = int(query["burst_429"])
            if "rate_limit_requests" in query:
                self.faults.rate_limit_requests = int(query["rate_limit_requests"])
            if "rate_limit" in query:
                self.faults.rate_limit = query["rate_limit"].lower() in ("1", "true", "yes")
            return JSONResponse({"ok": True})
        return problem(404, "Not Found")


class _RawPathRequest(StarletteOpenAPIRequest):
    """openapi-core sees the still-encoded path, so ``a%2Fb`` stays one path segment."""

    @property
    def path(self) -> str:
        raw: bytes = self.request.scope.get("raw_path") or self.request.url.path.encode()
        return raw.decode("latin-1").split("?", 1)[0]


def _reason(exc: BaseException) -> str:
    parts = [str(exc)]
    cause = exc.__cause__
    while cause is not None and len(parts) < 4:
        errors = getattr(cause, "schema_errors", None)
        parts.append("; ".join(getattr(e, "message", str(e)) for e in errors) if errors else str(cause))
        cause = cause.__cause__
    return " | ".join(p for p in parts if p)[:600]


async def _respond(result: Any) -> Response:
    if isinstance(result, Awaitable):
        result = await result
    if isinstance(result, Response):
        return result
    return JSONResponse(result)


async def _send_truncated(response: Response, send: Send) -> None:
    """Announce the full length, send half, and stop: the client sees the connection drop mid-body."""
    body = bytes(response.body) or b'{"padding": "' + b"x" * 64 + b'"}'
    headers = [(k, v) for k, v in response.raw_headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    # Returning now leaves the response incomplete: the server closes the connection.


# ================================================================================== operations


def _query(request: Request, name: str) -> str | None:
    return request.query_params.get(name)


def _flag(request: Request, name: str) -> bool:
    return (_query(request, name) or "").lower() == "true"


@route("POST", "/oauth2/token", authenticated=False)
async def token(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Response:
    async with request.form() as form:
        grant, client_id, secret = (str(form.get(k, "")) for k in ("grant_type", "client_id", "client_secret"))
    if grant != "client_credentials":
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"},
            status_code=400,
        )
    issued = app.issue_token(client_id, secret)
    if issued is None:
        return JSONResponse(
            {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
            status_code=401,
        )
    return JSONResponse(issued)


@route("GET", "/models")
def list_models(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.list_models(_query(request, "rootModel"), _flag(request, "includeModelDefinitions"))


@route("GET", "/models/{id}")
def get_model(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.get_model(params["id"])


@route("POST", "/twins")
def list_twins(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.twins_page(body or {})


@route("PUT", "/twins")
def upsert_twin(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.upsert_twin(body)


@route("POST", "/twins/ids")
def twins_by_ids(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.twins_by_ids(body, _flag(request, "includeRelationships"))


@route("POST", "/twins/graph")
def twin_graph(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.twin_graph(body)


@route("POST", "/twins/count")
def twin_count(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return len(app.store.query_twins(body or {}))


@route("PUT", "/twins/relationships")
def upsert_relationship(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.upsert_relationship(body)


@route("GET", "/twins/{twinId}/relationships/outgoing")
def outgoing(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.relationships_of(params["twinId"], "outgoing")


@route("GET", "/twins/{twinId}/relationships/incoming")
def incoming(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.relationships_of(params["twinId"], "incoming")


@route("GET", "/twins/{twinId}/relationships/{relationshipId}")
def get_relationship(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.get_relationship(params["twinId"], params["relationshipId"])


@route("GET", "/twins/{id}")
def get_twin(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.get_twin(params["id"], _flag(request, "includeRelationships"))


@route("PATCH", "/twins/{id}")
def patch_twin(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    app.store.patch_twin(params["id"], body)
    return Response(status_code=200)


@route("POST", "/time-series")
def ingest(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    app.store.ingest(body)
    return Response(status_code=202)


def _window(request: Request) -> tuple[Any, Any, int, str | None]:
    start, end = _query(request, "start"), _query(request, "end")
    if not start or not end:
        raise InvalidInputError("start and end are required", {"start": ["required"], "end": ["required"]})
    return (
        parse_instant(start),
        parse_instant(end),
        int(_query(request, "pageSize") or 0),
        _query(request, "continuationToken"),
    )


@route("GET", "/time-series/{twinId}/latest")
def latest(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.latest([params["twinId"]])


@route("POST", "/time-series/ids/latest")
def latest_many(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.latest(body)


@route("POST", "/time-series/ids")
def series_many(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    start, end, size, token_value = _window(request)
    return app.store.telemetry_page(body, start, end, size, token_value)


@route("GET", "/time-series/{twinId}")
def series(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    start, end, size, token_value = _window(request)
    return app.store.telemetry_page([params["twinId"]], start, end, size, token_value)


@route("POST", "/insights")
def list_insights(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.insights_page(body or {}, _flag(request, "addFloor"))


@route("GET", "/insights/{insightId}")
def get_insight(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.get_insight(params["insightId"])


@route("POST", "/events")
def list_events(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.events_page(body or {})


@route("PUT", "/events")
def upsert_events(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.upsert_events(body)


@route("DELETE", "/events")
def delete_events(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.delete_events(body)


@route("GET", "/events/types")
def event_types(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.event_types


@route("POST", "/events/files")
async def upload_events(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    events: list[dict[str, Any]] = []
    async with request.form() as form:  # closes the spooled upload files
        for part in form.getlist("files"):
            if isinstance(part, str):
                raise InvalidInputError("files must be file parts", {"files": ["not a file"]})
            try:
                loaded = json.loads(await part.read())
            except ValueError:
                reason = f"{part.filename} is not a JSON array of events"
                raise InvalidInputError(reason, {"files": ["invalid JSON"]}) from None
            events.extend(loaded if isinstance(loaded, list) else [loaded])
    return app.store.upsert_events(events)


@route("GET", "/events/{eventId}")
def get_event(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.get_event(params["eventId"])


@route("POST", "/tickets")
def list_tickets(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.tickets_page(body or {})


@route("PUT", "/tickets")
def create_ticket(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.create_ticket(body)


@route("GET", "/tickets/status")
def statuses(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.statuses


@route("GET", "/tickets/priorities")
def priorities(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.priorities


def _metadata_routes(kind: str, id_name: str) -> None:
    def list_items(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
        return app.store.metadata_page(kind, body or {})

    def create(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
        return app.store.create_metadata(kind, body)

    def update(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
        return app.store.patch_metadata(kind, params[id_name], body)

    route("POST", f"/tickets/{kind}")(list_items)
    route("PUT", f"/tickets/{kind}")(create)
    route("PATCH", f"/tickets/{kind}/{{{id_name}}}")(update)


_metadata_routes("categories", "categoryId")
_metadata_routes("job-types", "jobTypeId")
_metadata_routes("service-needed", "serviceNeededId")


@route("GET", "/tickets/{ticketId}/attachments/{attachmentId}")
def attachment(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    content, media_type = app.store.attachment(params["ticketId"], params["attachmentId"])
    return Response(content, media_type="application/octet-stream", headers={"X-Original-Content-Type": media_type})


@route("GET", "/tickets/{ticketId}")
def get_ticket(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.get_ticket(params["ticketId"])


@route("PATCH", "/tickets/{ticketId}")
def patch_ticket(app: WillowApp, request: Request, params: dict[str, str], body: Any) -> Any:
    return app.store.patch_ticket(params["ticketId"], body)
