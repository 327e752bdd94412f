"""Fulfilment's public functions: build the engine, progress, standing authorisations.

Services take a session and never commit (the caller's unit of work does), except
:func:`build_engine`, which only wires objects together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.catalog.repository import ReleaseRepository
from launchlink.config import Settings
from launchlink.connectors.base import SERVICES
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.db import Database
from launchlink.errors import ValidationFailed
from launchlink.events import PresaveCreated, emit_many
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.limiter import DatabaseLimiter, MemoryLimiter, RateLimiter, RedisLimiter
from launchlink.fulfilment.repository import (
    ENGINE_MODES,
    PARKED_BY_PAUSE,
    FulfilmentRepository,
    OpenJobRow,
    ProgressRepository,
    ReasonGroup,
)
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.kit.ids import uuid7
from launchlink.kit.pagination import Page, decode_cursor, page_from
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.models.catalog import Release, ReleaseMode
from launchlink.models.presave import PresaveEvent, PresaveState, ServiceGrant, ServiceMode
from launchlink.presave.modes import WorkspaceConnectors

# Scopes without which a standing grant cannot save a release on each service. Apple's
# Music-User-Token carries no scopes and Deezer's offline grant covers the library.
LIBRARY_SCOPES: dict[str, frozenset[str]] = {
    "spotify": frozenset({"user-library-modify"}),
    "tidal": frozenset({"collection.write"}),
    "deezer": frozenset({"manage_library"}),
    "soundcloud": frozenset(),
    "youtube": frozenset(),
    "apple_music": frozenset(),
}
FOLLOW_SCOPES: dict[str, frozenset[str]] = {"spotify": frozenset({"user-follow-modify"})}


def make_limiter(settings: Settings, database: Database) -> RateLimiter:
    choice = settings.fulfilment.limiter
    if choice == "auto":
        if settings.redis_url:
            choice = "redis"
        elif database.dialect == "sqlite":
            choice = "memory"
        else:
            choice = "database"
    if choice == "redis":
        if not settings.redis_url:
            raise ValueError("fulfilment.limiter=redis needs LAUNCHLINK_REDIS_URL")
        return RedisLimiter(settings.redis_url)
    if choice == "database":
        return DatabaseLimiter(database)
    return MemoryLimiter()


def engine_connectors(connectors: ConnectorsSettings) -> ConnectorsSettings:
    """The same connectors without their own transient retries: the engine retries through
    its limiter and backoff, so every request counts against the ceiling."""
    copy = connectors.model_copy(deep=True)
    for service in (*SERVICES,):
        getattr(copy, service).max_retries = 0
    return copy


def build_engine(
    settings: Settings,
    database: Database,
    clock: Clock,
    *,
    registry: ConnectorRegistry | None = None,
    limiter: RateLimiter | None = None,
    cipher: TokenCipher | None = None,
    apps: WorkspaceConnectors | None = None,
) -> tuple[FulfilmentEngine, ConnectorRegistry]:
    """The engine; ``apps`` (workspaces' own service apps) is built over ``registry`` when
    not given (``engine.apps``: the caller closes it with the registry)."""
    if registry is None:
        resolved = getattr(settings, "resolved_connectors", None)
        connectors = resolved() if callable(resolved) else settings.connectors
        registry = ConnectorRegistry(engine_connectors(connectors), clock=clock)
    cipher = cipher or TokenCipher(settings.resolved_encryption_keys())
    if apps is None:
        from launchlink.integrations.apps import WorkspaceApps

        apps = WorkspaceApps.over(registry, database=database, cipher=cipher, clock=clock)
    engine = FulfilmentEngine(
        database=database,
        connectors=registry.get,
        limiter=limiter or make_limiter(settings, database),
        cipher=cipher,
        settings=settings.fulfilment,
        clock=clock,
        apps=apps,
    )
    return engine, registry


# -- progress -------------------------------------------------------------------------------

PENDING_STATES = (PresaveState.due, PresaveState.resolving, PresaveState.executing)
PARKED_AFTER = timedelta(seconds=60)
"""A job not tried within this (and not held by a worker) is parked: waiting out a pause,
a backoff or the next look for the release. A lease lasts about as long."""
REASON_GROUPS = 100


@dataclass(frozen=True)
class WaitingReason:
    """Pre-saves of one service not done yet for the same reason (and last error)."""

    service: str
    reason: str
    """not_yet_due (waiting for the fan's instant), queued, in_progress, release_not_live,
    rate_limited, service_paused (a long Retry-After) or transient (backing off)."""
    count: int
    last_error: str | None
    next_at: datetime
    """The earliest moment one of them is tried (or due)."""
    until: datetime
    """The latest."""


@dataclass
class ServiceProgress:
    service: str
    total: int = 0
    scheduled: int = 0
    """Before the fan's release instant."""
    pending: int = 0
    waiting_for_release: int = 0
    done: int = 0
    partial: int = 0
    needs_reauth: int = 0
    failed: int = 0
    cancelled: int = 0
    per_minute: float = 0.0
    paused_until: datetime | None = None
    pause_reason: str | None = None
    active: int = 0
    """Held by a worker, claimable now or within :data:`PARKED_AFTER`, or due that soon."""
    parked: int = 0
    """Open jobs nobody will try within :data:`PARKED_AFTER` (or whose service is paused)."""
    parked_until: datetime | None = None
    """When the last parked job comes back (or the pause ends)."""

    @property
    def finished(self) -> int:
        return self.done + self.partial + self.needs_reauth + self.failed + self.cancelled

    @property
    def issues(self) -> int:
        return self.partial + self.needs_reauth + self.failed


@dataclass
class Progress:
    release_id: UUID
    services: list[ServiceProgress] = field(default_factory=list)
    reasons: list[WaitingReason] = field(default_factory=list)
    """Why what is not done is not done, largest groups first."""

    def total(self, name: str) -> int:
        return sum(int(getattr(service, name)) for service in self.services)

    @property
    def eta_seconds(self) -> float | None:
        """Time to finish what is due at the current pace (``None`` when nothing moves)."""
        longest = 0.0
        for service in self.services:
            remaining = service.pending
            if remaining == 0:
                continue
            if service.per_minute <= 0:
                return None
            longest = max(longest, remaining / service.per_minute * 60)
        return longest

    @property
    def only_parked_left(self) -> bool:
        return self.total("active") == 0 and self.total("parked") > 0


async def progress(
    session: AsyncSession,
    release_id: UUID,
    *,
    clock: Clock,
    limiter: RateLimiter | None = None,
    window: timedelta = timedelta(seconds=60),
) -> Progress:
    """Counts per service, pauses and the reasons of everything not done yet.

    Pauses come from ``limiter`` when it is shared (database, Redis: set by any process)
    and, whatever the limiter, from the jobs a 429 put back (``waiting_for``
    ``service_paused``/``rate_limited``, stored by the process that got the 429).
    """
    repository = FulfilmentRepository(session)
    detail = ProgressRepository(session)
    now = clock.now()
    soon = now + PARKED_AFTER
    counts = await repository.state_counts(release_id)
    waiting = await repository.waiting_for_counts(release_id)
    recent = await repository.finished_since(release_id, now - window)
    services: dict[str, ServiceProgress] = {}
    for (service, state), count in counts.items():
        entry = services.setdefault(service, ServiceProgress(service))
        entry.total += count
        if state == PresaveState.waiting:
            entry.scheduled += count
        elif state in PENDING_STATES:
            entry.pending += count
        else:
            setattr(entry, state, getattr(entry, state) + count)
    for (service, why), count in waiting.items():
        if why == "release_not_live" and service in services:
            services[service].waiting_for_release += count
            services[service].pending -= count
    for service, count in recent.items():
        if service in services:
            services[service].per_minute = count * 60 / window.total_seconds()
    groups = await detail.reasons(release_id, now, limit=REASON_GROUPS)
    reasons = [
        WaitingReason(g.service, g.reason, g.count, g.last_error, g.first_at, g.last_at)
        for g in groups
    ]
    claimable: dict[str, int] = {}
    """Per service: what a worker would take within the horizon, were it not paused."""
    for upcoming in await detail.upcoming(release_id, soon):
        entry = services.setdefault(upcoming.service, ServiceProgress(upcoming.service))
        entry.active += upcoming.soon
        claimable[upcoming.service] = claimable.get(upcoming.service, 0) + upcoming.soon
        reasons.append(
            WaitingReason(
                upcoming.service,
                "not_yet_due",
                upcoming.count,
                None,
                upcoming.first_due_at,
                upcoming.first_due_at,
            )
        )
    for timing in await detail.timing(release_id, now, soon):
        entry = services.setdefault(timing.service, ServiceProgress(timing.service))
        if timing.kind == "parked":
            entry.parked += timing.count
            entry.parked_until = _later(entry.parked_until, timing.last_at)
            continue
        entry.active += timing.count
        if timing.kind == "soon":
            claimable[timing.service] = claimable.get(timing.service, 0) + timing.count
    for entry in services.values():
        pause = await limiter.pause_of(entry.service) if limiter is not None else None
        if pause is not None:
            entry.paused_until = datetime.fromtimestamp(pause.until, now.tzinfo)
            entry.pause_reason = pause.reason
        else:
            _pause_from_jobs(entry, groups, now)
        held_back = claimable.get(entry.service, 0)
        if entry.paused_until is not None and entry.paused_until > soon and held_back:
            # Its lane sleeps until then: what it could claim waits as well.
            entry.active -= held_back
            entry.parked += held_back
            entry.parked_until = _later(entry.parked_until, entry.paused_until)
    reasons.sort(key=lambda r: (-r.count, r.service, r.reason))
    return Progress(release_id, sorted(services.values(), key=lambda s: -s.total), reasons)


def _later(current: datetime | None, other: datetime) -> datetime:
    return other if current is None or other > current else current


def _pause_from_jobs(entry: ServiceProgress, groups: list[ReasonGroup], now: datetime) -> None:
    """The pause a 429 left on the jobs it put back (the limiter may live in another
    process's memory)."""
    for group in groups:
        if group.service != entry.service or group.reason not in PARKED_BY_PAUSE:
            continue
        if group.last_at > now and (
            entry.paused_until is None or group.last_at > entry.paused_until
        ):
            entry.paused_until = group.last_at
            entry.pause_reason = group.last_error


def shared_limiter(settings: Settings, database: Database) -> RateLimiter | None:
    """The limiter whose pauses every process sees (database, Redis), or ``None`` when the
    configured one lives in each worker's memory. The caller closes it."""
    limiter = make_limiter(settings, database)
    return None if isinstance(limiter, MemoryLimiter) else limiter


def check_services(names: Sequence[str], *, field_name: str) -> list[str]:
    """``names`` when each is a service launchlink knows; else a clear error naming them."""
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise ValidationFailed(
            f"unknown service {unknown[0]!r}; the services are: {', '.join(SERVICES)}",
            field=field_name,
        )
    return list(names)


async def open_jobs(
    session: AsyncSession,
    release_id: UUID,
    *,
    clock: Clock,
    service: str | None,
    reason: str | None,
    cursor: str | None,
    limit: int,
) -> Page[OpenJobRow]:
    """The release's jobs not done yet, with their reason, oldest first, a page at a time."""
    if service is not None:
        check_services([service], field_name="service")
    rows = await ProgressRepository(session).open_jobs(
        release_id,
        clock.now(),
        service=service,
        reason=reason,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return page_from(rows, limit=limit)


async def resume_service(session: AsyncSession, service: str, *, clock: Clock) -> int:
    """Jobs of ``service`` put back until its pause ended become claimable now; returns
    how many. Lifting the pause itself is the limiter's (:meth:`RateLimiter.resume`)."""
    check_services([service], field_name="resume")
    return await ProgressRepository(session).resume_parked(service, clock.now())


# -- standing authorisations -----------------------------------------------------------------


async def queue_standing_presaves(
    session: AsyncSession,
    release_id: UUID,
    *,
    clock: Clock,
    territories: TerritoryTimeZones | None = None,
) -> int:
    """Queue the next pre-save of every fan with a standing authorisation for this release.

    Applies to grants of the release's workspace with ``standing`` set, not revoked, with
    tokens, whose ``standing_artist_ids`` include one of the release's artists (empty: all
    the workspace's artists). Only what the grant's scopes allow is promised. Safe to call
    again: a grant that already has a pre-save on the release's link is skipped.
    """
    release = await ReleaseRepository(session).by_id(release_id)
    if release is None:
        return 0
    repository = FulfilmentRepository(session)
    link = await repository.first_link_of_release(release_id)
    if link is None:
        return 0
    artists = {str(a) for a in await repository.release_artists(release_id)}
    existing = await repository.grants_with_presave(link.id)
    grants = await repository.standing_grants(release.workspace_id)
    fans = await repository.fans(g.fan_id for g in grants)
    table = territories or TerritoryTimeZones.load()
    now = clock.now()
    presaves: list[dict[str, Any]] = []
    for grant in grants:
        if (grant.service, grant.id) in existing:
            continue
        wanted = {str(a) for a in grant.standing_artist_ids or []}
        if wanted and not wanted & artists:
            continue
        actions = _standing_actions(grant, artists if not wanted else wanted & artists)
        if actions is None:
            continue
        fan = fans.get(grant.fan_id)
        country = fan.country if fan is not None else None
        due_at = _due_at(release, country, table)
        if due_at is None:
            continue
        presaves.append(
            {
                "id": uuid7(),
                "workspace_id": release.workspace_id,
                "link_id": link.id,
                "release_id": release.id,
                "fan_id": grant.fan_id,
                "service": grant.service,
                "mode": ServiceMode.direct_save,
                "grant_id": grant.id,
                "state": PresaveState.waiting,
                "country": country,
                "time_zone": str(table.zone_for(country, default_zone=release.time_zone)),
                "due_at": due_at,
                "actions": actions,
                "outcome": {},
                "standing": True,
                "created_at": now,
                "updated_at": now,
            }
        )
    await repository.add_standing_presaves(presaves, now)
    await emit_many(
        session,
        [
            PresaveCreated(
                occurred_at=now,
                workspace_id=row["workspace_id"],
                presave_id=row["id"],
                link_id=row["link_id"],
                release_id=row["release_id"],
                fan_id=row["fan_id"],
                service=row["service"],
                mode=row["mode"].value,
                due_at=row["due_at"],
            )
            for row in presaves
        ],
    )
    return len(presaves)


def _standing_actions(grant: ServiceGrant, artist_ids: set[str]) -> dict[str, Any] | None:
    scopes = {str(s) for s in grant.scopes or []}
    if not LIBRARY_SCOPES.get(grant.service, frozenset()) <= scopes:
        return None
    actions: dict[str, Any] = {"save_release": True}
    if FOLLOW_SCOPES.get(grant.service, frozenset({"-"})) <= scopes and artist_ids:
        actions["follow"] = sorted(artist_ids)
    return actions


def _due_at(release: Release, country: str | None, table: TerritoryTimeZones) -> datetime | None:
    if release.release_mode == ReleaseMode.global_ or release.release_date is None:
        return release.release_instant
    return table.local_midnight_release_instant(
        release.release_date, country, default_zone=release.time_zone
    )


async def upcoming_releases_with_standing_fans(session: AsyncSession, now: datetime) -> list[UUID]:
    """Releases still ahead (by date or instant) that have a link: standing sweeps' input."""
    return await FulfilmentRepository(session).upcoming_releases_with_links(now)


async def cancel_presave(session: AsyncSession, presave_id: UUID, *, clock: Clock) -> bool:
    """The fan revoked: a pre-save not yet final ends ``cancelled`` (its job with it)."""
    repository = FulfilmentRepository(session)
    presave = await repository.presave_for_update(presave_id)
    if presave is None or presave.state.is_final or presave.mode not in ENGINE_MODES:
        return False
    now = clock.now()
    presave.state = PresaveState.cancelled
    presave.final_reason = "the fan revoked"
    presave.finished_at = now
    await repository.add_presave_event(
        PresaveEvent(
            presave_id=presave.id, state=PresaveState.cancelled, reason="the fan revoked", at=now
        )
    )
    return True


__all__ = [
    "Progress",
    "ServiceProgress",
    "WaitingReason",
    "build_engine",
    "cancel_presave",
    "check_services",
    "make_limiter",
    "open_jobs",
    "progress",
    "queue_standing_presaves",
    "resume_service",
    "shared_limiter",
]
