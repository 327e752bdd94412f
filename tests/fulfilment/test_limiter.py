"""The shared limiters pace requests and pause one service for every holder."""

from __future__ import annotations

import time
import uuid

import pytest

from launchlink.db import Database
from launchlink.fulfilment.limiter import DatabaseLimiter, MemoryLimiter, RedisLimiter, acquire
from tests._services import REDIS_URL, service_missing, tcp_reachable


async def _spacing(limiter: object, key: str, count: int, rate: float) -> float:
    started = time.monotonic()
    for _ in range(count):
        assert await acquire(limiter, key, rate) is None  # type: ignore[arg-type]
    return time.monotonic() - started


async def test_the_memory_limiter_never_exceeds_its_rate() -> None:
    elapsed = await _spacing(MemoryLimiter(), "spotify", 21, rate=100)
    assert elapsed >= 0.195  # 20 intervals of 10 ms after the first slot


async def test_the_database_limiter_is_shared_by_two_holders(db: Database) -> None:
    first, second = DatabaseLimiter(db), DatabaseLimiter(db)
    reserved = [await first.reserve("deezer", 2), await second.reserve("deezer", 2)]
    assert reserved[0].wait < 0.1
    assert 0.3 < reserved[1].wait <= 0.5  # the second holder queues behind the first
    await first.pause("deezer", 60, "HTTP 429")
    blocked = await second.reserve("deezer", 50)
    assert blocked.paused_until is not None
    assert blocked.paused_until > time.time() + 50
    assert (await second.reserve("spotify", 50)).paused_until is None
    await second.resume("deezer")
    assert (await first.reserve("deezer", 50)).paused_until is None


@pytest.fixture
async def redis_limiters() -> list[RedisLimiter]:
    if not tcp_reachable("127.0.0.1", int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])):
        service_missing("Redis", f"cannot connect to {REDIS_URL}")
    prefix = f"test:{uuid.uuid4().hex}"
    limiters = [RedisLimiter(REDIS_URL, prefix=prefix), RedisLimiter(REDIS_URL, prefix=prefix)]
    yield limiters  # type: ignore[misc]
    for limiter in limiters:
        await limiter.resume("spotify")
        await limiter.aclose()


async def test_the_redis_limiter_paces_and_pauses_across_holders(
    redis_limiters: list[RedisLimiter],
) -> None:
    first, second = redis_limiters
    waits = [(await (first if n % 2 else second).reserve("spotify", 2)).wait for n in range(5)]
    assert waits[0] < 0.1
    assert 1.7 < waits[4] <= 2.0  # 4 slots of 500 ms, whoever asked
    await first.pause("spotify", 86_400, "Retry-After 86400")
    reservation = await second.reserve("spotify", 20)
    assert reservation.paused_until is not None
    assert reservation.paused_until > time.time() + 86_000
    pause = await second.pause_of("spotify")
    assert pause is not None
    assert pause.reason == "Retry-After 86400"
    assert (await second.reserve("deezer", 20)).paused_until is None
    await second.resume("spotify")
    assert await first.pause_of("spotify") is None
