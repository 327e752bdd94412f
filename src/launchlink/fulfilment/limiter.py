"""One rate limiter per service app, shared by every worker that uses it.

The algorithm is GCRA (a token bucket without a burst): each request reserves the next free
slot, ``1 / rate`` seconds after the previous one, and waits for it. Whatever the number of
workers, requests to one service never leave faster than the configured ceiling. A pause
(a 429's ``Retry-After``) blocks new reservations for that service only.

Three homes for the shared state, chosen by ``fulfilment.limiter``:

* :class:`MemoryLimiter` — in-process (embedded mode: one worker);
* :class:`RedisLimiter` — a Lua script over two keys, Redis's clock (scale-out);
* :class:`DatabaseLimiter` — one row per service app, updated atomically (scale-out
  without Redis; one round trip per request, so keep it for modest rates).

Times are epoch seconds of the real clock: pacing is about real time even when a test
freezes the application clock. Across machines, Redis's clock is used; the database
limiter relies on the workers' clocks being NTP-synchronised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from launchlink.db import Database
from launchlink.fulfilment.repository import LimiterStateRepository
from launchlink.ops import metrics

Now = Callable[[], float]


@dataclass(frozen=True)
class Reservation:
    """Either a slot ``wait`` seconds from now, or no slot because of a pause."""

    wait: float = 0.0
    paused_until: float | None = None


@dataclass(frozen=True)
class Pause:
    until: float
    reason: str | None


class RateLimiter(Protocol):
    """Pacing and pausing of service apps, shared by the workers that hold it."""

    async def reserve(self, key: str, rate: float, cost: float = 1.0) -> Reservation:
        """Reserve ``cost`` requests at ``rate`` per second; never blocks."""
        ...

    async def pause(self, key: str, seconds: float, reason: str) -> None:
        """No reservation for ``key`` for ``seconds`` (extends, never shortens, a pause)."""
        ...

    async def resume(self, key: str) -> None: ...

    async def pause_of(self, key: str) -> Pause | None:
        """The pause in force, if any."""
        ...

    async def aclose(self) -> None: ...


async def acquire(limiter: RateLimiter, key: str, rate: float, cost: float = 1.0) -> float | None:
    """Wait for a slot; ``None`` once it is ours, or the epoch the service is paused until."""
    reservation = await limiter.reserve(key, rate, cost)
    if reservation.paused_until is not None:
        return reservation.paused_until
    metrics.limiter_waited(key, reservation.wait)
    if reservation.wait > 0:
        await asyncio.sleep(reservation.wait)
    return None


class MemoryLimiter:
    def __init__(self, now: Now = time.time) -> None:
        self._now = now
        self._next_slot: dict[str, float] = {}
        self._pauses: dict[str, Pause] = {}

    async def reserve(self, key: str, rate: float, cost: float = 1.0) -> Reservation:
        now = self._now()
        pause = self._pauses.get(key)
        if pause is not None and pause.until > now:
            return Reservation(paused_until=pause.until)
        slot = max(self._next_slot.get(key, now), now)
        self._next_slot[key] = slot + cost / rate
        return Reservation(wait=slot - now)

    async def pause(self, key: str, seconds: float, reason: str) -> None:
        until = self._now() + seconds
        current = self._pauses.get(key)
        if current is None or current.until < until:
            self._pauses[key] = Pause(until, reason)

    async def resume(self, key: str) -> None:
        self._pauses.pop(key, None)
        self._next_slot.pop(key, None)

    async def pause_of(self, key: str) -> Pause | None:
        pause = self._pauses.get(key)
        return pause if pause is not None and pause.until > self._now() else None

    async def aclose(self) -> None:
        return None


# KEYS: next-slot key, pause key, pause-reason key. ARGV: interval seconds.
# Returns {kind, seconds-as-string}: {"w", wait} for a slot, {"p", paused_until}.
_RESERVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {'p', tostring(paused)} end
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local interval = tonumber(ARGV[1])
local ttl = math.ceil((slot - now + interval) * 1000) + 60000
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', ttl)
return {'w', tostring(slot - now)}
"""

_PAUSE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local until_at = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < until_at then
  local ttl = math.ceil(tonumber(ARGV[1]) * 1000) + 1000
  redis.call('SET', KEYS[1], tostring(until_at), 'PX', ttl)
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
end
return tostring(now)
"""


class RedisLimiter:
    def __init__(self, url: str, *, prefix: str = "launchlink:limiter") -> None:
        from redis.asyncio import BlockingConnectionPool, Redis

        # Blocking: a lane's many jobs wait for a connection instead of failing with
        # "Too many connections" (the default pool raises past 100).
        pool = BlockingConnectionPool.from_url(
            url, max_connections=32, timeout=10, socket_timeout=5, socket_connect_timeout=5
        )
        self._redis = Redis(connection_pool=pool)
        self._prefix = prefix
        self._reserve = self._redis.register_script(_RESERVE_SCRIPT)
        self._pause = self._redis.register_script(_PAUSE_SCRIPT)

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}:{key}"
        return [f"{base}:next", f"{base}:paused", f"{base}:reason"]

    async def reserve(self, key: str, rate: float, cost: float = 1.0) -> Reservation:
        kind, value = await self._reserve(keys=self._keys(key), args=[repr(cost / rate)])
        seconds = float(value)
        if kind in (b"p", "p"):
            return Reservation(paused_until=seconds)
        return Reservation(wait=seconds)

    async def pause(self, key: str, seconds: float, reason: str) -> None:
        _next, paused, why = self._keys(key)
        await self._pause(keys=[paused, why], args=[repr(seconds), reason])

    async def resume(self, key: str) -> None:
        await self._redis.delete(*self._keys(key))

    async def pause_of(self, key: str) -> Pause | None:
        _next, paused, why = self._keys(key)
        until, reason = await self._redis.mget(paused, why)
        if until is None or float(until) <= time.time():
            return None
        return Pause(float(until), reason.decode() if isinstance(reason, bytes) else reason)

    async def aclose(self) -> None:
        await self._redis.aclose(close_connection_pool=True)


class DatabaseLimiter:
    def __init__(self, database: Database, now: Now = time.time) -> None:
        self._database = database
        self._now = now

    async def _ensure_row(self, key: str) -> None:
        try:
            async with self._database.transaction() as session:
                await LimiterStateRepository(session).create(key)
        except IntegrityError:
            pass  # another worker created it first

    async def reserve(self, key: str, rate: float, cost: float = 1.0) -> Reservation:
        interval = cost / rate
        for _ in range(2):
            now = self._now()
            async with self._database.transaction(write_lock=True) as session:
                states = LimiterStateRepository(session)
                slot_end = await states.reserve_slot(key, now=now, interval=interval)
                if slot_end is not None:
                    return Reservation(wait=max(0.0, slot_end - interval - now))
                paused = await states.paused_until(key)
            if paused is not None:
                return Reservation(paused_until=paused)
            await self._ensure_row(key)
        raise RuntimeError(f"limiter row for {key!r} could not be created")

    async def pause(self, key: str, seconds: float, reason: str) -> None:
        await self._ensure_row(key)
        until = self._now() + seconds
        async with self._database.transaction(write_lock=True) as session:
            await LimiterStateRepository(session).extend_pause(
                key, until=until, reason=reason[:300]
            )

    async def resume(self, key: str) -> None:
        async with self._database.transaction(write_lock=True) as session:
            await LimiterStateRepository(session).reset(key)

    async def pause_of(self, key: str) -> Pause | None:
        async with self._database.transaction() as session:
            row = await LimiterStateRepository(session).pause_of(key)
        if row is None or row[0] <= self._now():
            return None
        return Pause(row[0], row[1])

    async def aclose(self) -> None:
        return None
