"""Rate limits on the fan forms that send email or create rows, counted in the database.

A sliding window per bucket: a post is accepted while fewer than ``limit`` accepted posts
of the same bucket fall in the last ``window``; an accepted post is a ``presave_rate_hit``
row. Counting and recording run in one short transaction serialised per bucket (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock on the bucket), so
the limit holds across processes and workers without a race. Buckets carry a keyed hash
of the email address or client IP, never the value itself.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from launchlink.db import Database
from launchlink.errors import LaunchlinkError
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import keyed_hash
from launchlink.presave.repository import FormRateRepository


@dataclass(frozen=True, slots=True)
class RateLimit:
    name: str
    limit: int
    window: timedelta


MAGIC_LINK_EMAILS = RateLimit("magic_email", 3, timedelta(hours=1))
"""Magic-link emails to one address."""
CONFIRMATION_EMAILS = RateLimit("confirm_email", 3, timedelta(hours=1))
"""Posts that send one address a confirmation email (reminder sign-ups, an address typed
with a service pre-save), from any number of browsers."""
BROWSER_POSTS = RateLimit("form_browser", 10, timedelta(minutes=10))
"""Pre-save starts, reminder sign-ups and magic-link requests from one browser (its signed
cookie: every form post carries one, the CSRF token is bound to it)."""
ADDRESS_POSTS = RateLimit("form_ip", 300, timedelta(minutes=10))
"""The same posts from one client IP: far above one browser's limit, because a venue, a
campus or a mobile carrier puts hundreds of fans behind one address."""
PURGE_AFTER = timedelta(days=1)
"""Longer than every window: older rows count for nothing and are deleted."""


class RateLimited(LaunchlinkError):
    """Too many posts in a bucket; ``retry_after`` seconds until one more is accepted."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, limit: RateLimit, retry_after: int) -> None:
        super().__init__(f"rate limit {limit.name} reached")
        self.limit = limit
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True, slots=True)
class Hit:
    """One limit applied to one keyed value (an email address, a client IP)."""

    limit: RateLimit
    value: str


class FormRateLimiter:
    def __init__(self, database: Database, clock: Clock, secret_key: str) -> None:
        self.database = database
        self.clock = clock
        self.secret_key = secret_key

    def bucket(self, hit: Hit) -> str:
        digest = keyed_hash(self.secret_key, f"rate:{hit.limit.name}:{hit.value}")[:64]
        return f"{hit.limit.name}:{digest}"

    async def check(self, hits: Iterable[Hit]) -> None:
        """Record one post against every hit, or raise :class:`RateLimited` and record
        nothing when any of them is full (checked together: a refused post costs nothing)."""
        wanted = [(hit, self.bucket(hit)) for hit in hits]
        if not wanted:
            return
        now = self.clock.now()
        async with self.database.transaction(write_lock=True) as session:
            repository = FormRateRepository(session)
            await repository.lock_buckets([bucket for _, bucket in wanted])
            for hit, bucket in wanted:
                times = await repository.recent(bucket, now - hit.limit.window)
                if len(times) >= hit.limit.limit:
                    # The oldest hit in the window leaves it first.
                    frees_at = times[len(times) - hit.limit.limit] + hit.limit.window
                    raise RateLimited(hit.limit, math.ceil((frees_at - now).total_seconds()))
            await repository.record([bucket for _, bucket in wanted], now)
            await repository.purge(now - PURGE_AFTER)


async def count_hits(database: Database) -> int:
    async with database.sessionmaker() as session:
        return await FormRateRepository(session).count()


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[str]
) -> str | None:
    """The visitor's address: the socket peer, or, when the peer is one of our trusted
    proxies, the right-most ``X-Forwarded-For`` hop that is not ours (the ones further
    left can be forged by the client)."""
    networks = [ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies]

    def ours(address: str | None) -> bool:
        if not address:
            return False
        try:
            parsed = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(parsed in network for network in networks)

    if not networks or not ours(peer) or not forwarded_for:
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if hop and not ours(hop):
            return hop
    return peer
