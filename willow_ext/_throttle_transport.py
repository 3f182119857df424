"""Client-side throttling, the I/O shells: waiting limiters, a process-wide registry, and what the
transports share (the transport itself is ``willow_ext/_async/_throttle_transport.py`` and its
generated sync twin).

``ThrottleTransport`` / ``AsyncThrottleTransport`` wrap the network transport and sit *under* the
retry transport, so every attempt (first tries and retries alike) takes a slot:

    httpx.Client(auth=…) → RetryTransport → ThrottleTransport → HTTPTransport

A 429 on a throttled path means someone else spent the window (another process on the same
credential): the transport blocks the group for one window and tells the retry layer how long via
``response.extensions["willow_retry_after"]`` (seconds), instead of letting it back off blindly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from ._errors import WillowError
from ._retry import RETRY_AFTER_EXTENSION, THROTTLE_WAIT_EXTENSION
from ._throttle import ThrottlePolicy, limiter_key, path_group
from ._throttle_backends import MemoryBackend, ThrottleBackend, backend_from_url

__all__ = [
    "RETRY_AFTER_EXTENSION",
    "THROTTLE_WAIT_EXTENSION",
    "Limiter",
    "ThrottleError",
    "ThrottleShell",
    "ThrottleStats",
    "shared_backend",
    "shared_limiter",
]

logger = logging.getLogger("willow_ext")


_registry_lock = threading.Lock()
_backends: dict[str, ThrottleBackend] = {}
_limiters: dict[tuple[str, str, int], Limiter] = {}


def shared_backend(url: str = "memory://") -> ThrottleBackend:
    """One backend object per URL in this process (``memory://`` is the process-wide default)."""
    with _registry_lock:
        backend = _backends.get(url)
        if backend is None:
            backend = _backends[url] = MemoryBackend() if url in ("memory", "memory://") else backend_from_url(url)
        return backend


class ThrottleError(WillowError):
    """The shared throttle store failed (Redis unreachable, a SQLite file locked past its busy timeout)."""


@contextmanager
def _store_errors(backend: ThrottleBackend) -> Iterator[None]:
    """Any store failure becomes a short ThrottleError (no URL in it: a Redis URL may hold a password)."""
    try:
        yield
    except WillowError:
        raise
    except Exception as exc:
        raise ThrottleError(f"throttle store {type(backend).__name__} failed: {type(exc).__name__}") from exc


@dataclass
class ThrottleStats:
    """What a transport's throttle did: requests counted, waits, seconds waited, 429s seen."""

    requests: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0


class Limiter:
    """Waits for a slot of one credential and base URL in a backend; one per (base_url, client_id, backend)."""

    def __init__(self, backend: ThrottleBackend, base_url: str, client_id: str) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id

    def key(self, group: str) -> str:
        return limiter_key(self.base_url, self._client_id, group)

    def acquire(
        self,
        group: str,
        policy: ThrottlePolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        stats: ThrottleStats | None = None,
    ) -> str:
        """Block this thread until a slot is free; return its id (give it back with :meth:`release`)."""
        key = self.key(group)
        while True:
            with _store_errors(self.backend):
                slot_id, wait = self.backend.try_acquire(key, policy)
            if slot_id is not None:
                return slot_id
            _note_wait(group, wait, stats)
            sleep(wait)

    async def aacquire(
        self,
        group: str,
        policy: ThrottlePolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stats: ThrottleStats | None = None,
    ) -> str:
        """Wait (without blocking the event loop) until a slot is free; return its id."""
        key = self.key(group)
        while True:
            with _store_errors(self.backend):
                slot_id, wait = await self.backend.atry_acquire(key, policy)
            if slot_id is not None:
                return slot_id
            _note_wait(group, wait, stats)
            await sleep(wait)

    def release(self, group: str, slot_id: str) -> None:
        with _store_errors(self.backend):
            self.backend.release(self.key(group), slot_id)

    async def arelease(self, group: str, slot_id: str) -> None:
        # Shielded: a task cancelled mid-request still gives its slot back (else it waits out the lease).
        with _store_errors(self.backend):
            await asyncio.shield(self.backend.arelease(self.key(group), slot_id))

    def exhaust(self, group: str, policy: ThrottlePolicy) -> float:
        with _store_errors(self.backend):
            return self.backend.exhaust(self.key(group), policy)

    async def aexhaust(self, group: str, policy: ThrottlePolicy) -> float:
        with _store_errors(self.backend):
            return await self.backend.aexhaust(self.key(group), policy)


def _note_wait(group: str, wait: float, stats: ThrottleStats | None) -> None:
    if stats is not None:
        stats.waits += 1
        stats.waited_seconds += wait
    logger.debug("throttle: %s waits %.3fs for a slot", group, wait)


def shared_limiter(base_url: str, client_id: str, backend: ThrottleBackend | str | None = None) -> Limiter:
    """The limiter every client of this process with the same base URL, credential and backend shares."""
    resolved = shared_backend(backend or "memory://") if backend is None or isinstance(backend, str) else backend
    key = (base_url.rstrip("/"), client_id, id(resolved))
    with _registry_lock:
        limiter = _limiters.get(key)
        if limiter is None or limiter.backend is not resolved:
            limiter = _limiters[key] = Limiter(resolved, base_url, client_id)
        return limiter


class ThrottleShell:
    """What both transports share: which requests are throttled, and the 429 bookkeeping."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        policy: ThrottlePolicy | None,
        backend: ThrottleBackend | str | None,
        stats: ThrottleStats | None,
    ) -> None:
        self.policy = policy or ThrottlePolicy()
        base = httpx.URL(base_url)
        self._origin = (base.scheme, base.host, base.port)
        self._api_root = base.path.rstrip("/")
        self.limiter = shared_limiter(base_url, client_id, backend)
        self.stats = stats or ThrottleStats()

    def _group(self, request: httpx.Request) -> str | None:
        if not self.policy.enabled or (request.url.scheme, request.url.host, request.url.port) != self._origin:
            return None
        group = path_group(request.url.path, self._api_root, self.policy.groups)
        if group is not None:
            self.stats.requests += 1
        return group

    def _rate_limited(self, response: httpx.Response, group: str, wait: float) -> None:
        self.stats.rate_limited += 1
        response.extensions[RETRY_AFTER_EXTENSION] = wait
        logger.debug("throttle: 429 on %s; the group waits %.3fs for the next window", group, wait)
