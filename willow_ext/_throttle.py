"""Client-side throttling, the pure part: the policy, keys, and "may I send now / how long to wait".

Willow counts 20 requests per 10 s per client on ``/twins/*`` and ``/time-series/*`` in **fixed**
windows and answers 429 (plain text, no Retry-After) beyond that.
https://developers.willowinc.com/docs/rate-limiting

Why a sliding rule on the client, although the server uses fixed windows: the client cannot see
where the server's windows start. "At most ``limit`` requests in *any* interval of length
``window``" is the only client rule that keeps every server fixed window at or under the limit
whatever its alignment; a client-side fixed window can put ``limit`` requests at the end of one
server window and ``limit`` more at the start of the next *client* window, which may still be the
same server window (2 × limit). The sliding rule still reaches the full ceiling: ``limit`` requests,
then the next ``limit`` one window later.

Why a slot is held until its *response* arrives, plus one window: the server counts a request when
it arrives, which is after we send it by an unknown latency. A request sent at ``s_j`` is admitted
only while fewer than ``limit`` earlier requests are in flight or finished (response received at
``e_i``) less than ``window`` ago. Then any ``limit + 1`` requests arriving inside one server window
``[T, T + W)`` are impossible: take the one sent last (``j``); every other ``i`` arrived at
``a_i >= T`` and finished at ``e_i >= a_i``, so ``e_i + W > a_j >= s_j``: all ``limit`` of them still
held a slot when ``j`` asked, and ``j`` would have waited. No latency margin has to be guessed; the cost
is one round-trip per window (20 per 10.2 s at 200 ms latency: 0.98 of the ceiling).

Every function here takes ``now`` from the caller (each backend has its own clock), so the rules
are tested as plain tables; the waiting lives in ``_throttle_transport``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import InvalidRequestError

__all__ = [
    "Slot",
    "ThrottlePolicy",
    "exhausted_until",
    "limiter_key",
    "live_slots",
    "path_group",
    "wait_time",
]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many requests per window, on which path groups (relative to the API root, e.g. ``/api/v3``)."""

    limit: int = 20
    window: float = 10.0
    groups: tuple[str, ...] = ("/twins", "/time-series")
    enabled: bool = True
    #: A slot still "in flight" after this many seconds is treated as finished then (a worker killed
    #: mid-request must not hold a shared slot for ever). Longer than any request timeout.
    lease: float = 300.0

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise InvalidRequestError(f"throttle limit must be at least 1, not {self.limit}")
        if not self.window > 0 or not self.lease > 0:
            raise InvalidRequestError("throttle window and lease must be positive")
        if any(not g.startswith("/") or g.endswith("/") for g in self.groups):
            raise InvalidRequestError("throttle groups are paths like '/twins' (leading '/', no trailing '/')")

    @classmethod
    def disabled(cls) -> ThrottlePolicy:
        return cls(enabled=False)


@dataclass(frozen=True, slots=True)
class Slot:
    """One request's claim on the limit: sent at ``started``, response received at ``finished``."""

    started: float
    finished: float | None = None  # None while the request is in flight


def path_group(path: str, api_root: str, groups: Iterable[str]) -> str | None:
    """The throttled group ``path`` (a URL path) falls in, or None when it is not throttled.

    ``/api/v3/twins``, ``/api/v3/twins/AHU-1`` → ``/twins``; ``/api/v3/twinsfoo``, ``/api/v3/models`` → None.
    """
    root = api_root.rstrip("/")
    if root and not (path == root or path.startswith(root + "/")):
        return None
    relative = path[len(root) :]
    for group in groups:
        if relative == group or relative.startswith(group + "/"):
            return group
    return None


def limiter_key(base_url: str, client_id: str, group: str) -> str:
    """A backend key per credential, base URL and group; hashed so shared stores hold no client ids."""
    digest = hashlib.sha256(f"{base_url.rstrip('/')}\n{client_id}".encode()).hexdigest()[:32]
    return f"{digest}:{group}"


def _frees_at(slot: Slot, now: float, policy: ThrottlePolicy) -> float | None:
    """When ``slot`` stops counting; None while it is in flight (then: not before ``now + window``)."""
    if slot.finished is not None:
        return slot.finished + policy.window
    if now - slot.started >= policy.lease:
        return slot.started + policy.lease + policy.window
    return None


def live_slots(slots: Iterable[Slot], now: float, policy: ThrottlePolicy) -> list[Slot]:
    """The slots that still count at ``now`` (the rest can be deleted)."""
    live = []
    for slot in slots:
        frees = _frees_at(slot, now, policy)
        if frees is None or frees > now:
            live.append(slot)
    return live


def wait_time(slots: Iterable[Slot], blocked_until: float, now: float, policy: ThrottlePolicy) -> float:
    """Seconds to wait before one more request may be sent; ``0.0`` means "send now".

    The wait is a lower bound when in-flight slots are involved: the caller asks again after it.
    """
    if now < blocked_until:
        return blocked_until - now
    frees = [_frees_at(slot, now, policy) for slot in live_slots(slots, now, policy)]
    if len(frees) < policy.limit:
        return 0.0
    # len - limit + 1 slots must free up; an in-flight one frees no earlier than now + window.
    times = sorted(now + policy.window if f is None else f for f in frees)
    return max(times[len(times) - policy.limit] - now, 1e-3)


def exhausted_until(now: float, policy: ThrottlePolicy) -> float:
    """After a 429 we did not cause (another process shares the credential), block until this time.

    The server window holding that request ends at most one window after its response; waiting one
    window from ``now`` reaches the next server window whatever its alignment.
    """
    return now + policy.window
