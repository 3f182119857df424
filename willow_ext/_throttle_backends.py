"""Where throttle state lives: this process (memory), this machine (SQLite file), or many (Redis).

Each backend makes the three steps of ``_throttle`` atomic against its own clock:
``try_acquire`` (prune, decide, claim a slot), ``release`` (the response arrived) and ``exhaust``
(a 429 we did not cause: block for a window). Memory and SQLite run the pure functions under a
lock / an ``BEGIN IMMEDIATE`` transaction; Redis runs the same rules in a Lua script, because only
a script is atomic there without a round-trip per step.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import InvalidRequestError
from ._throttle import Slot, ThrottlePolicy, exhausted_until, live_slots, wait_time

if TYPE_CHECKING:
    import redis

__all__ = ["MemoryBackend", "RedisBackend", "SqliteBackend", "ThrottleBackend", "backend_from_url"]


class ThrottleBackend(ABC):
    """Shared throttle state. ``try_acquire`` returns ``(slot id, 0.0)`` or ``(None, seconds to wait)``."""

    @abstractmethod
    def try_acquire(self, key: str, policy: ThrottlePolicy) -> tuple[str | None, float]: ...

    @abstractmethod
    def release(self, key: str, slot_id: str) -> None: ...

    @abstractmethod
    def exhaust(self, key: str, policy: ThrottlePolicy) -> float:
        """Block ``key`` for the next window; return the seconds from now until it opens."""

    # The async forms default to the sync ones in a worker thread, so the event loop never blocks.
    async def atry_acquire(self, key: str, policy: ThrottlePolicy) -> tuple[str | None, float]:
        return await asyncio.to_thread(self.try_acquire, key, policy)

    async def arelease(self, key: str, slot_id: str) -> None:
        await asyncio.to_thread(self.release, key, slot_id)

    async def aexhaust(self, key: str, policy: ThrottlePolicy) -> float:
        return await asyncio.to_thread(self.exhaust, key, policy)

    def close(self) -> None:  # noqa: B027 - optional hook: only backends holding connections need it
        """Release connections (the state itself stays for other users)."""


class MemoryBackend(ThrottleBackend):
    """This process only: every thread, task and client object holding this backend shares it.

    The lock guards microseconds of bookkeeping, never a wait, so the async forms take it directly.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: dict[str, dict[str, Slot]] = {}
        self._blocked: dict[str, float] = {}
        self._ids = itertools.count(1)

    def try_acquire(self, key: str, policy: ThrottlePolicy) -> tuple[str | None, float]:
        with self._lock:
            now = self._clock()
            slots = self._slots.setdefault(key, {})
            live = set(map(id, live_slots(slots.values(), now, policy)))
            for slot_id in [k for k, s in slots.items() if id(s) not in live]:
                del slots[slot_id]
            wait = wait_time(slots.values(), self._blocked.get(key, 0.0), now, policy)
            if wait > 0:
                return None, wait
            slot_id = str(next(self._ids))
            slots[slot_id] = Slot(now)
            return slot_id, 0.0

    def release(self, key: str, slot_id: str) -> None:
        with self._lock:
            slots = self._slots.get(key, {})
            if slot_id in slots:
                slots[slot_id] = Slot(slots[slot_id].started, self._clock())

    def exhaust(self, key: str, policy: ThrottlePolicy) -> float:
        with self._lock:
            now = self._clock()
            until = max(self._blocked.get(key, 0.0), exhausted_until(now, policy))
            self._blocked[key] = until
            return until - now

    async def atry_acquire(self, key: str, policy: ThrottlePolicy) -> tuple[str | None, float]:
        return self.try_acquire(key, policy)

    async def arelease(self, key: str, slot_id: str) -> None:
        self.release(key, slot_id)

    async def aexhaust(self, key: str, policy: ThrottlePolicy) -> float:
        return self.exhaust(key, policy)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS throttle_slots (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, started REAL NOT NULL, finished REAL
);
CREATE INDEX IF NOT EXISTS throttle_slots_key ON throttle_slots (key);
CREATE TABLE IF NOT EXISTS throttle_blocks (key TEXT PRIMARY KEY, until REAL NOT NULL);
"""


class SqliteBackend(ThrottleBackend):
    """One machine: processes share a SQLite file; each step is one ``BEGIN IMMEDIATE`` transaction.

    ``BEGIN IMMEDIATE`` takes the write lock before reading, so two processes cannot both see a free
    slot and take it (https://www.sqlite.org/lang_transaction.html). The clock is the wall clock
    (``time.time``), the one every process on the machine shares. One connection per thread.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection())

    def try_acquire(self, key: str, policy: ThrottlePolicy) -> tuple[str | None, float]:
        with self._transaction() as db:
            now = time.time()
            rows = db.execute("SELECT id, started, finished FROM throttle_slots WHERE key = ?", (key,)).fetchall()
            slots = {row[0]: Slot(row[1], row[2]) for row in rows}
            live = set(map(id, live_slots(slots.values(), now, policy)))
            dead = [(slot_id,) for slot_id, slot in slots.items() if id(slot) not in live]
            db.executemany("DELETE FROM throttle_slots WHERE id = ?", dead)
            block = db.execute("SELECT until FROM throttle_blocks WHERE key = ?", (key,)).fetchone()
            wait = wait_time(slots.values(), block[0] if block else 0.0, now, policy)
            if wait > 0:
                return None, wait
            cursor = db.execute("INSERT INTO throttle_slots (key, started) VALUES (?, ?)", (key, now))
            return str(cursor.lastrowid), 0.0

    def release(self, key: str, slot_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE throttle_slots SET finished = ? WHERE id = ? AND key = ? AND finished IS NULL",
                (time.time(), int(slot_id), key),
            )

    def exhaust(self, key: str, policy: ThrottlePolicy) -> float:
        with self._transaction() as db:
            now = time.time()
            until = exhausted_until(now, policy)
            db.execute(
                "INSERT INTO throttle_blocks (key, until) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET until = max(until, excluded.until)",
                (key, until),
            )
            row = db.execute("SELECT until FROM throttle_blocks WHERE key = ?", (key,)).fetchone()
            return float(row[0]) - now

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()


class _Transaction:
    """``with`` block around ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


# The rules of ``_throttle.wait_time`` / ``live_slots`` in Lua, run atomically by Redis against its own
# clock (TIME), so machines with skewed clocks still agree. Slots: a hash id -> "started" or
# "started|finished". Numbers go back as strings: Redis truncates Lua numbers to integers.
# https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
_LUA_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function fmt(x) return string.format('%.6f', x) end
"""
_LUA_ACQUIRE = (
    _LUA_NOW
    + """
local limit, window, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < blocked then return {'', fmt(blocked - now)} end
local entries = redis.call('HGETALL', KEYS[1])
local frees = {}
for i = 1, #entries, 2 do
  local value = entries[i + 1]
  local sep = string.find(value, '|', 1, true)
  local started = tonumber(sep and string.sub(value, 1, sep - 1) or value)
  local f = nil
  if sep then f = tonumber(string.sub(value, sep + 1)) + window
  elseif now - started >= lease then f = started + lease + window end
  if f ~= nil and f <= now then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    table.insert(frees, f or (now + window))
  end
end
if #frees < limit then
  local id = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[1], id, fmt(now))
  local ttl = math.ceil((lease + window) * 1000)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  return {tostring(id), '0'}
end
table.sort(frees)
return {'', fmt(math.max(frees[#frees - limit + 1] - now, 0.001))}
"""
)
_LUA_RELEASE = (
    _LUA_NOW
    + """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value and not string.find(value, '|', 1, true) then
  redis.call('HSET', KEYS[1], ARGV[1], value .. '|' .. fmt(now))
end
return 1
"""
)
_LUA_EXHAUST = (
    _LUA_NOW
    + """
local until_ = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], fmt(until_), 'PX', math.ceil((until_ - now) * 1000) + 1000)
return fmt(until_ - now)
"""
)


class RedisBackend(ThrottleBackend):
    """Many machines: the state lives in Redis (``pip install 'willow-api[redis]'``).

    Give a URL (``redis://host:6379/0``); the client connects lazily. The async forms run the same
    calls in a worker thread (the base class): a script call takes well under a millisecond, and one
    thread-safe client then serves every event loop, with nothing bound to a loop that may close.
    """

    def __init__(self, url: str, *, prefix: str = "willow:throttle:") -> None:
        try:
            import redis as redis_module
        except ImportError as exc:
            raise InvalidRequestError(
                "the Redis throttle backend needs the redis package: pip install 'willow-api[redis]'"
            ) from exc
        self.url = url
        self._prefix = prefix
        self._sync: redis.Redis | None = None
        self._redis_module = redis_module
        self._lock = threading.Lock()

    def _keys(self, key: str) -> list[str]:
        # One hash tag for the three keys, so a script's keys share a Redis Cluster slot.
        base = self._prefix + "{" + key + "}"
        return [base + ":slots", base + ":block", base + ":ids"]

    def _client(self) -> redis.Redis:
        with self._lock:
            if self._sync is None:
                self._sync = self._redis_module.Redis.from_url(self.url)
            return self._sync

    @staticmethod
    def _acquired(reply: Any) -> tuple[str | None, float]:
        slot_id, wait = (part.decode() if isinstance(part, bytes) else str(part) for part in reply)
        return (slot_id or None), float(wait)

    @staticmethod
    def _args(policy: ThrottlePolicy) -> list[str]:
        return [str(policy.limit), repr(policy.window), repr(policy.lease)]

    def try_acquire(self, key: str, policy: ThrottlePolicy) -> tuple[str | None, float]:
        reply = self._client().eval(_LUA_ACQUIRE, 3, *self._keys(key), *self._args(policy))
        return self._acquired(reply)

    def release(self, key: str, slot_id: str) -> None:
        self._client().eval(_LUA_RELEASE, 1, self._keys(key)[0], slot_id)

    def exhaust(self, key: str, policy: ThrottlePolicy) -> float:
        return float(self._client().eval(_LUA_EXHAUST, 1, self._keys(key)[1], repr(policy.window)))

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None


def backend_from_url(url: str) -> ThrottleBackend:
    """``memory://`` (this process), ``sqlite:///path/to/file`` (this machine), ``redis://…`` / ``rediss://…``."""
    if url in ("memory", "memory://"):
        return MemoryBackend()
    if url.startswith("sqlite:///"):
        return SqliteBackend(url[len("sqlite:///") :])  # sqlite:///relative.db, sqlite:////absolute.db
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBackend(url)
    raise InvalidRequestError("throttle backend URL must start with memory://, sqlite:/// or redis://")
