"""Retry decisions as small pure functions; the transports (``_async/_retry_transport.py`` and its
generated sync twin) are thin shells that sleep and resend.

Why not httpx-retries: its policy is per HTTP method only, but Willow needs per-operation rules
(``POST /twins`` is a read, ``PUT /tickets`` creates), it caps an over-long ``Retry-After``
instead of declining it, it has no total-time budget, and it cannot retry a connection reset
while the body is being read (that happens above a plain transport). Each of those is a few
lines here, all tested.

The transport sits *below* httpx's auth and redirect handling (see httpx docs, "Transports"), so
the token request that the OAuth2 flow yields is retried too.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from ._errors import InvalidRequestError

__all__ = [
    "DEADLINE_EXTENSION",
    "RETRY_AFTER_EXTENSION",
    "RETRY_POLICY_EXTENSION",
    "THROTTLE_WAIT_EXTENSION",
    "CallScope",
    "RetryBudget",
    "RetryDecision",
    "RetryLoop",
    "RetryPolicy",
    "RetryStats",
    "deadline_exceeded",
    "decide_retry",
    "extend_deadline",
    "is_replay_safe",
    "parse_retry_after",
    "queued_seconds",
    "seconds_left",
]

logger = logging.getLogger("willow_ext")

#: The request extension through which a client view (``with_options``) overrides the retry policy.
RETRY_POLICY_EXTENSION = "willow.retry_policy"
#: The response extension through which the throttle says how long until its window reopens
#: (a 429 with no Retry-After on a throttled path): waited for instead of exponential backoff.
RETRY_AFTER_EXTENSION = "willow_retry_after"
#: The response extension carrying how long the attempt queued for a throttle slot: time spent
#: waiting our turn under the rate limit is not time lost to failures, so the deadline leaves it out.
THROTTLE_WAIT_EXTENSION = "willow_throttle_wait"
#: The request extension holding the ``time.monotonic()`` by which this attempt must be over (the
#: call's deadline). Per-read timeouts alone cannot bound a server that trickles one byte at a time.
DEADLINE_EXTENSION = "willow_deadline"

#: Retried statuses: request timeout, rate limited, and gateway/availability failures.
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})

# Operations whose replay is harmless, by method then path (relative to the API root).
# - PUT /twins, PUT /twins/relationships, PUT /events are upserts: replaying stores the same thing.
# - POST /twins, /twins/ids, /twins/graph, /twins/count, /time-series/ids(/latest), /insights, /events,
#   /tickets and the ticket-metadata lists are read-only queries that use POST for their body.
# - POST /time-series: a replay writes the same points at the same timestamps, which the server
#   de-duplicates for range reads (reference [src] RemoveDuplicates), so it is safe.
# - DELETE /events deletes the same ids again; PATCH /tickets... allows only "replace" operations.
# Not safe: PUT /tickets and PUT /tickets/{categories,job-types,service-needed} create a new record
# each time, PATCH /twins/{id} may carry JSON Patch "add" operations, POST /events/files may create
# events twice. Those are retried only when the request certainly never reached the server.
_REPLAY_SAFE: dict[str, re.Pattern[str]] = {
    "PUT": re.compile(r"^/(twins|twins/relationships|events)$"),
    "POST": re.compile(
        r"^/(oauth2/token|twins|twins/ids|twins/graph|twins/count|time-series|time-series/ids"
        r"|time-series/ids/latest|insights|events|tickets|tickets/categories|tickets/job-types"
        r"|tickets/service-needed)$"
    ),
    "PATCH": re.compile(r"^/tickets/[^/]+(/.*)?$|^/tickets/(categories|job-types|service-needed)/[^/]+$"),
    "DELETE": re.compile(r"^/events$"),
}
_ALWAYS_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_replay_safe(method: str, path: str) -> bool:
    """Whether sending this request twice has the same effect as sending it once."""
    method = method.upper()
    if method in _ALWAYS_SAFE_METHODS:
        return True
    pattern = _REPLAY_SAFE.get(method)
    return bool(pattern and pattern.match(path.rstrip("/") or "/"))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. The defaults ride out Willow's documented limit (20 requests per 10 s
    window on /twins and /time-series, 429 with no Retry-After): 0.5+1+2+4+8 s of backoff spans
    more than one full window."""

    max_attempts: int = 8
    backoff_initial: float = 0.5
    backoff_multiplier: float = 2.0
    backoff_max: float = 8.0
    #: Each sleep is scaled by a random factor in [1 - jitter, 1 + jitter].
    jitter: float = 0.25
    #: Give up once this much time has passed since the first attempt: sleeps, the token fetch and
    #: the transfer of every answer included (a body still arriving then ends in APITimeoutError;
    #: raise it for very large answers over a slow link). Queueing for a throttle slot is not charged.
    max_total_seconds: float = 60.0
    #: A Retry-After longer than this is not waited for: the error is returned at once.
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = RETRY_STATUSES
    #: Shared retry budget (after Finagle's RetryBudget): over any ``budget_window`` seconds, the
    #: retries of one client may add at most ``budget_ratio`` of its calls, plus a reserve of
    #: ``budget_min_per_second`` so that a lone caller can still retry. Many callers against a failing
    #: server then stop multiplying its load by ``max_attempts``. 429s are not charged: the server
    #: asked us to wait, and the wait (or the throttle) already paces them.
    #: https://twitter.github.io/finagle/guide/Clients.html#retries
    budget_ratio: float = 0.5
    budget_min_per_second: float = 1.0
    budget_window: float = 10.0

    def __post_init__(self) -> None:
        numbers = {name: getattr(self, name) for name in _POLICY_NUMBERS}
        for name, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or value == math.inf:
                raise InvalidRequestError(f"RetryPolicy.{name} must be a finite number >= 0, got {value!r}")
        if self.max_attempts < 1 or self.max_attempts != int(self.max_attempts):
            raise InvalidRequestError(
                f"RetryPolicy.max_attempts must be a whole number >= 1, got {self.max_attempts!r}"
            )
        if self.budget_window <= 0:
            raise InvalidRequestError("RetryPolicy.budget_window must be > 0")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(max_attempts=1)


#: The shortest timeout an attempt is given once the call's budget is nearly spent.
MIN_ATTEMPT_SECONDS = 0.05

_POLICY_NUMBERS = (
    "max_attempts",
    "backoff_initial",
    "backoff_multiplier",
    "backoff_max",
    "jitter",
    "max_total_seconds",
    "max_retry_after",
    "budget_ratio",
    "budget_min_per_second",
    "budget_window",
)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


def parse_retry_after(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date).

    RFC 9110 section 10.2.3: https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        except OverflowError:
            return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return max(0.0, seconds)


def backoff_delay(policy: RetryPolicy, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter for the sleep after ``attempt`` (1-based) failed."""
    base = min(policy.backoff_max, policy.backoff_initial * policy.backoff_multiplier ** (attempt - 1))
    factor = 1.0 + policy.jitter * (2.0 * rand() - 1.0)
    return max(0.0, min(policy.backoff_max, base * factor))


def _never_sent(error: Exception) -> bool:
    # The request certainly did not reach the server: connecting failed or no pool slot was free.
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def decide_retry(
    policy: RetryPolicy,
    *,
    attempt: int,
    elapsed: float,
    replay_safe: bool,
    response: httpx.Response | None = None,
    error: Exception | None = None,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """Whether to try again after ``attempt`` (1-based) ended in ``response`` or ``error``."""
    if attempt >= policy.max_attempts:
        return RetryDecision(False, reason=f"gave up after {attempt} attempts")
    if error is not None:
        if not isinstance(error, httpx.TransportError):
            return RetryDecision(False, reason=f"not a transport error: {type(error).__name__}")
        if not (replay_safe or _never_sent(error)):
            return RetryDecision(False, reason="request may have been processed and is not safe to replay")
        delay = backoff_delay(policy, attempt, rand)
        reason = type(error).__name__
    else:
        assert response is not None
        if response.status_code not in policy.retry_statuses:
            return RetryDecision(False)
        # A 429 was rejected before processing; other statuses may hide a partial write.
        if not replay_safe and response.status_code != 429:
            return RetryDecision(False, reason=f"{response.status_code} on an operation that is not safe to replay")
        server_delay = parse_retry_after(response.headers)
        if server_delay is not None and server_delay > policy.max_retry_after:
            return RetryDecision(False, reason=f"Retry-After {server_delay:.0f}s exceeds {policy.max_retry_after:.0f}s")
        if server_delay is None:
            server_delay = _throttle_wait(response)
        delay = server_delay if server_delay is not None else backoff_delay(policy, attempt, rand)
        reason = f"HTTP {response.status_code}"
    if elapsed + delay > policy.max_total_seconds:
        return RetryDecision(False, reason=f"retry budget of {policy.max_total_seconds:.0f}s spent")
    return RetryDecision(True, delay=delay, reason=reason)


def _seconds_extension(response: httpx.Response, name: str) -> float | None:
    value = response.extensions.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf:
        return float(value)
    return None


def _throttle_wait(response: httpx.Response) -> float | None:
    return _seconds_extension(response, RETRY_AFTER_EXTENSION)


def queued_seconds(response: httpx.Response) -> float:
    """How long this attempt waited for a throttle slot (0 when it was not throttled)."""
    return _seconds_extension(response, THROTTLE_WAIT_EXTENSION) or 0.0


def seconds_left(request: httpx.Request) -> float | None:
    """Time left before this attempt's deadline, or None when it has none (outside the retries)."""
    deadline = request.extensions.get(DEADLINE_EXTENSION)
    return deadline - time.monotonic() if isinstance(deadline, float) else None


def extend_deadline(request: httpx.Request, seconds: float) -> None:
    """Move the deadline later by ``seconds`` spent queueing for a throttle slot (not charged)."""
    deadline = request.extensions.get(DEADLINE_EXTENSION)
    if isinstance(deadline, float) and seconds > 0:
        request.extensions[DEADLINE_EXTENSION] = deadline + seconds


def deadline_exceeded(request: httpx.Request) -> httpx.ReadTimeout:
    """What an attempt raises when the call's deadline passes while its response is still arriving."""
    return httpx.ReadTimeout("the call's time budget ran out while the response was arriving", request=request)


class RetryBudget:
    """How many retries the requests of the last ``window`` seconds have earned (thread-safe).

    Each first attempt deposits ``ratio`` of a retry; each retry withdraws one. On top, a reserve
    of ``min_per_second * window`` retries per window lets a lightly used client retry freely.
    """

    def __init__(
        self,
        ratio: float = 0.2,
        min_per_second: float = 10.0,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.reserve = min_per_second * window
        self.window = window
        self._clock = clock
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for stamps in (self._requests, self._retries):
            while stamps and stamps[0] <= now - self.window:
                stamps.popleft()

    def record_request(self) -> None:
        with self._lock:
            now = self._clock()
            self._expire(now)
            self._requests.append(now)

    def try_withdraw(self) -> bool:
        """Take one retry if the budget allows it."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if len(self._retries) + 1 > self.reserve + self.ratio * len(self._requests):
                return False
            self._retries.append(now)
            return True


@dataclass
class CallScope:
    """One client call: the token fetch, every retry and the 401 replay share its deadline."""

    started: float | None = None


_call_scope: ContextVar[CallScope | None] = ContextVar("willow_call_scope", default=None)


def enter_call_scope() -> object:
    """Start a call scope in this thread/task; pass the result to :func:`exit_call_scope`."""
    return _call_scope.set(CallScope())


def exit_call_scope(token: object) -> None:
    _call_scope.reset(token)  # type: ignore[arg-type]


def shift_call_start(seconds: float) -> None:
    """Move the current call's start later by ``seconds`` (time spent queueing for a slot)."""
    scope = _call_scope.get()
    if scope is not None and scope.started is not None:
        scope.started += seconds


def call_started(now: float) -> float:
    """When the current call began (its first request), or ``now`` outside a client call."""
    scope = _call_scope.get()
    if scope is None:
        return now
    if scope.started is None:
        scope.started = now
    return scope.started


@dataclass
class RetryStats:
    """Counters a caller can read to report how many retries were taken."""

    retries: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def record(self, reason: str) -> None:
        self.retries += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


def _is_token_request(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/oauth2/token")


def _api_path(request: httpx.Request, root: str) -> str:
    path = request.url.path
    return path[len(root) :] if root and path.startswith(root) else path


def _log(request: httpx.Request, status: int | str, attempt: int, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        elapsed_ms = (time.monotonic() - started) * 1000
        # Path only: query strings and headers are never logged.
        logger.debug(
            "%s %s -> %s attempt=%d elapsed_ms=%.0f", request.method, request.url.path, status, attempt, elapsed_ms
        )


class RetryLoop:
    """What the sync and async transports share: the policy, counters and each attempt's verdict."""

    def __init__(self, policy: RetryPolicy | None, api_root: str, stats: RetryStats | None) -> None:
        self.policy = policy or RetryPolicy()
        self._api_root = api_root.rstrip("/")
        self.stats = stats or RetryStats()
        self.budget = RetryBudget(
            self.policy.budget_ratio, self.policy.budget_min_per_second, self.policy.budget_window
        )

    def policy_for(self, request: httpx.Request) -> RetryPolicy:
        """This transport's policy, or the one a client view (``with_options``) set on the request."""
        policy = request.extensions.get(RETRY_POLICY_EXTENSION)
        return policy if isinstance(policy, RetryPolicy) else self.policy

    def cap_timeout(self, request: httpx.Request, started: float) -> None:
        """Cap this attempt's timeouts, and set its deadline, at what is left of the call's budget,
        so that one slow attempt (or a slow token fetch) cannot outlast it."""
        now = time.monotonic()
        remaining = max(MIN_ATTEMPT_SECONDS, self.policy_for(request).max_total_seconds - (now - started))
        # Timeouts bound each read; the deadline bounds the whole attempt (a byte every 0.3 s passes
        # every read timeout). The body-limit transport, nearest the network, enforces it.
        request.extensions[DEADLINE_EXTENSION] = now + remaining
        timeout = request.extensions.get("timeout")
        if isinstance(timeout, dict):
            request.extensions["timeout"] = {
                key: remaining if value is None else min(value, remaining) for key, value in timeout.items()
            }

    @staticmethod
    def discount_queueing(response: httpx.Response, started: float) -> float:
        """The call's start, moved later by the time this attempt queued for a throttle slot."""
        queued = queued_seconds(response)
        if queued:
            shift_call_start(queued)
        return started + queued

    def begin(self, request: httpx.Request) -> tuple[bool, float]:
        """Before the first attempt: whether replay is safe, and when the call's clock started."""
        self.budget.record_request()
        return self.replay_safe(request), call_started(time.monotonic())

    def replay_safe(self, request: httpx.Request) -> bool:
        if request.method in _ALWAYS_SAFE_METHODS:
            return True  # decided without decoding the URL path (most requests are GETs)
        return is_replay_safe(request.method, _api_path(request, self._api_root))

    def judge(
        self,
        request: httpx.Request,
        *,
        attempt: int,
        started: float,
        attempt_started: float,
        replay_safe: bool,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> RetryDecision:
        """Log the attempt, decide, and count the retry if there is one."""
        _log(request, response.status_code if response is not None else type(error).__name__, attempt, attempt_started)
        decision = decide_retry(
            self.policy_for(request),
            attempt=attempt,
            elapsed=time.monotonic() - started,
            replay_safe=replay_safe,
            response=response,
            error=error,
        )
        # Not charged: a 429 (the server asked us to wait, and we do) and the token request (one
        # fetch shared by every caller, so its retries cannot multiply the load).
        uncharged = (response is not None and response.status_code == 429) or _is_token_request(request)
        if decision.retry and not uncharged and not self.budget.try_withdraw():
            decision = RetryDecision(False, reason="retry budget exhausted (too many retries across callers)")
        if decision.retry:
            self.stats.record(decision.reason)
            logger.debug(
                "retrying %s %s in %.2fs (%s)", request.method, request.url.path, decision.delay, decision.reason
            )
        return decision
