"""Find a release on a service by UPC (then ISRC), per territory, with a shared cache.

Services without a UPC/ISRC search (SoundCloud, YouTube) find it from the release's own
link among its destinations (``lookup_url``: SoundCloud ``/resolve?url=``, YouTube the
video or album playlist id in the URL); such a lookup does not depend on the territory,
so it is shared by all of them (territory ``""``).

The answer lives in ``release_resolution`` rows so every worker shares it, plus a short
in-process cache so the hot path does not read the row for every fan. A release that is
not live yet is polled with backoff (:func:`launchlink.fulfilment.retry.next_release_poll`);
only one worker looks it up per poll (``take_resolution_check``), the others keep their
fans waiting until the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from launchlink.connectors.base import Capability, Connector
from launchlink.connectors.registry import limit_key
from launchlink.db import Database
from launchlink.events import ReleaseLive, emit
from launchlink.fulfilment.gate import WriteGate
from launchlink.fulfilment.limiter import RateLimiter, acquire
from launchlink.fulfilment.repository import FulfilmentRepository, ReleaseInfo
from launchlink.fulfilment.retry import next_release_poll
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.kit.clock import Clock
from launchlink.presave.modes import ReleaseKeys, lookup_path, release_link

MAX_TRACK_LOOKUPS = 50
CHECK_HOLD = timedelta(seconds=15)


@dataclass(frozen=True)
class Resolved:
    album_id: str
    track_ids: tuple[str, ...]


@dataclass(frozen=True)
class NotLiveYet:
    next_check_at: datetime


@dataclass(frozen=True)
class NeverReleased:
    reason: str


Resolution = Resolved | NotLiveYet | NeverReleased


class ServicePausedError(Exception):
    def __init__(self, until_epoch: float) -> None:
        super().__init__(f"service paused until {until_epoch}")
        self.until_epoch = until_epoch


class Resolver:
    def __init__(
        self,
        database: Database,
        limiter: RateLimiter,
        settings: FulfilmentSettings,
        clock: Clock,
        *,
        gate: WriteGate | None = None,
    ) -> None:
        self._database = database
        self._gate = gate or WriteGate(database)
        self._limiter = limiter
        self._settings = settings
        self._clock = clock
        self._found: dict[tuple[UUID, str, str], tuple[Resolved, float]] = {}
        self._locks: dict[tuple[UUID, str, str], asyncio.Lock] = {}

    def forget(self) -> None:
        self._found.clear()

    async def resolve(
        self, connector: Connector, release: ReleaseInfo, territory: str
    ) -> Resolution:
        if lookup_path(connector, keys_of(release)) == "url":
            territory = ""
        key = (release.id, connector.service, territory)
        cached = self._found.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        # One task per process asks; the lane's other jobs wait for its answer instead of
        # each opening a transaction (a start-up storm exhausted PostgreSQL connections).
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._found.get(key)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            return await self._resolve(connector, release, territory, key)

    async def _resolve(
        self,
        connector: Connector,
        release: ReleaseInfo,
        territory: str,
        key: tuple[UUID, str, str],
    ) -> Resolution:
        now = self._clock.now()
        ttl = timedelta(seconds=self._settings.resolution_ttl_seconds)
        async with self._gate.transaction() as session:
            repository = FulfilmentRepository(session)
            row = await repository.resolution(*key)
            if row is not None and row.found and row.checked_at and row.checked_at + ttl > now:
                return self._remember(key, row.album_id or "", row.track_ids)
            if row is not None and not row.found and row.next_check_at > now:
                if not row.polls:
                    # The first lookup is under way in another worker (its hold, not a
                    # poll interval): its answer is seconds away.
                    return NotLiveYet(now + timedelta(seconds=random.uniform(1, 2)))  # noqa: S311
                return NotLiveYet(_spread(row.next_check_at))
            mine = await repository.take_resolution_check(*key, now, now + CHECK_HOLD)
            if not mine and row is not None and row.found:
                return self._remember(key, row.album_id or "", row.track_ids)
        if not mine:
            # Another worker is looking it up right now: its answer is seconds away.
            return NotLiveYet(now + timedelta(seconds=random.uniform(1, 2)))  # noqa: S311
        try:
            return await self._look_up(connector, release, territory)
        except BaseException:
            # Give the check back, or every worker would wait out CHECK_HOLD for an answer
            # that is never coming.
            with contextlib.suppress(Exception):
                async with self._gate.transaction() as session:
                    await FulfilmentRepository(session).release_resolution_check(*key, now)
            raise

    async def _look_up(
        self, connector: Connector, release: ReleaseInfo, territory: str
    ) -> Resolution:
        country = territory or None
        rate = self._settings.rate_limits.get(connector.service, 1.0)
        capabilities = connector.capabilities
        by_isrc = Capability.LOOKUP_ISRC in capabilities
        album_id: str | None = None
        track_ids: list[str] = []
        if release.upc and Capability.LOOKUP_UPC in capabilities:
            await self._slot(limit_key(connector), rate, cost=2)
            match = await connector.find_release_by_upc(release.upc, country=country)
            if match is not None:
                album_id = match.id
                track_ids = [track.id for track in match.tracks if track.id]
        if album_id is None and release.isrcs and by_isrc:
            await self._slot(limit_key(connector), rate)
            track = await connector.find_track_by_isrc(release.isrcs[0], country=country)
            if track is not None and track.album_id:
                album_id = track.album_id
        if album_id is not None and not track_ids and release.isrcs and by_isrc:
            for isrc in release.isrcs[:MAX_TRACK_LOOKUPS]:
                await self._slot(limit_key(connector), rate)
                track = await connector.find_track_by_isrc(isrc, country=country)
                if track is not None:
                    track_ids.append(track.id)
        keys = keys_of(release)
        link = release_link(connector, keys) if lookup_path(connector, keys) == "url" else None
        if album_id is None and link is not None:
            await self._slot(limit_key(connector), rate, cost=2)
            found = await connector.lookup_url(link)
            if found is not None:
                # A single's link may be its track: the track is then the "album" too.
                album_id = found.id
                track_ids = [track.id for track in found.tracks if track.id] or (
                    [found.id] if found.kind == "track" else []
                )
        now = self._clock.now()
        async with self._gate.transaction() as session:
            repository = FulfilmentRepository(session)
            existing = await repository.resolution(release.id, connector.service, territory)
            first = existing.first_checked_at if existing is not None else now
            polls = existing.polls if existing is not None else 0
            if album_id is not None:
                if existing is None or not existing.found:
                    # First seen on this service (and territory): the release is out there.
                    await emit(
                        session,
                        ReleaseLive(
                            occurred_at=now,
                            workspace_id=release.workspace_id,
                            release_id=release.id,
                            service=connector.service,
                            territory=territory or None,
                        ),
                    )
                await repository.store_resolution(
                    release.id,
                    connector.service,
                    territory,
                    found=True,
                    album_id=album_id,
                    track_ids=track_ids,
                    now=now,
                    next_check_at=now,
                )
                return self._remember(
                    (release.id, connector.service, territory), album_id, track_ids
                )
            next_check = next_release_poll(first, polls + 1, now, self._settings)
            await repository.store_resolution(
                release.id,
                connector.service,
                territory,
                found=False,
                album_id=None,
                track_ids=(),
                now=now,
                next_check_at=next_check or now + timedelta(days=3650),
            )
        if next_check is None:
            where = f" in {territory}" if territory else ""
            by = f"link {link}" if link is not None else f"UPC {release.upc or 'none'}"
            return NeverReleased(
                f"the release never appeared on {connector.service}{where} "
                f"({by}), polled {polls + 1} times"
            )
        return NotLiveYet(next_check)

    async def _slot(self, service: str, rate: float, cost: float = 1.0) -> None:
        paused = await acquire(self._limiter, service, rate, cost)
        if paused is not None:
            raise ServicePausedError(paused)

    def _remember(
        self, key: tuple[UUID, str, str], album_id: str, track_ids: list[str] | tuple[str, ...]
    ) -> Resolved:
        resolved = Resolved(album_id, tuple(str(t) for t in track_ids))
        self._found[key] = (resolved, time.monotonic() + self._settings.resolution_ttl_seconds)
        return resolved


def keys_of(release: ReleaseInfo) -> ReleaseKeys:
    """What the release can be found by (see :func:`launchlink.presave.modes.lookup_path`)."""
    return ReleaseKeys(upc=release.upc, isrcs=release.isrcs, urls=release.urls)


def _spread(at: datetime) -> datetime:
    # Fans waiting for the same poll come back over a few seconds, not in one burst.
    return at + timedelta(seconds=random.uniform(0, 5))  # noqa: S311 - jitter
