"""All fulfilment SQL: claims and leases, action records, resolutions, grants, counts.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL: any number of workers take
disjoint batches) inside a ``BEGIN IMMEDIATE`` transaction on SQLite (single writer, where
SQLAlchemy leaves the ``FOR UPDATE`` out). Every write a worker makes about a job it holds
is fenced by ``lease_owner``: a worker whose lease expired and was re-claimed gets
:class:`LeaseLost` and its transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.kit.clock import Clock
from launchlink.kit.ids import uuid7
from launchlink.models.catalog import Release, ReleaseArtist
from launchlink.models.fulfilment import FulfilmentAction, FulfilmentJob, ReleaseResolution
from launchlink.models.presave import (
    Fan,
    Presave,
    PresaveEvent,
    PresaveState,
    Reminder,
    ReminderChannel,
    ServiceGrant,
    ServiceMode,
)
from launchlink.presave.service import forget_tokens_after_fulfilment

ENGINE_MODES = (ServiceMode.direct_save, ServiceMode.preadd)
"""Reminder and link-only pre-saves are the messaging engine's; these are ours."""


class LeaseLost(Exception):
    """The job was re-claimed by another worker after this one's lease ran out."""


@dataclass(frozen=True)
class GrantSnapshot:
    id: UUID
    access_token: bytes | None
    refresh_token: bytes | None
    access_expires_at: datetime | None
    scopes: tuple[str, ...]
    standing: bool
    revoked_at: datetime | None
    revoked_reason: str | None
    storefront: str | None
    account_id: str


@dataclass(frozen=True)
class ClaimedJob:
    job_id: UUID
    presave_id: UUID
    attempts: int
    claims: int
    state: PresaveState
    workspace_id: UUID
    link_id: UUID
    release_id: UUID
    fan_id: UUID
    service: str
    mode: ServiceMode
    country: str | None
    due_at: datetime
    actions: dict[str, Any]
    grant: GrantSnapshot | None


@dataclass(frozen=True)
class ReleaseInfo:
    id: UUID
    workspace_id: UUID
    upc: str | None
    isrcs: tuple[str, ...]
    artist_service_ids: dict[UUID, dict[str, Any]]


@dataclass(frozen=True)
class ActionRecord:
    kind: str
    status: str
    targets: list[Any]
    confirmed: bool
    reason: str | None
    at: datetime


def _snapshot(grant: ServiceGrant) -> GrantSnapshot:
    return GrantSnapshot(
        id=grant.id,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        access_expires_at=grant.access_expires_at,
        scopes=tuple(str(scope) for scope in grant.scopes or ()),
        standing=grant.standing,
        revoked_at=grant.revoked_at,
        revoked_reason=grant.revoked_reason,
        storefront=grant.storefront,
        account_id=grant.account_id,
    )


class FulfilmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- due work -----------------------------------------------------------------------

    async def promote_due(self, now: datetime, limit: int) -> int:
        """Move up to ``limit`` waiting pre-saves whose instant has come to ``due``, with jobs."""
        ids = list(
            (
                await self.session.scalars(
                    select(Presave.id)
                    .where(
                        Presave.state == PresaveState.waiting,
                        Presave.due_at <= now,
                        Presave.mode.in_(ENGINE_MODES),
                    )
                    .order_by(Presave.due_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        return await self._make_due(ids, now, reason=None)

    async def promote_early(
        self, *, release_id: UUID, service: str, territory: str, now: datetime, before: datetime
    ) -> int:
        """Waiting pre-saves of a territory the service already serves become due now."""
        country = Presave.country.is_(None) if territory == "" else Presave.country == territory
        ids = list(
            (
                await self.session.scalars(
                    select(Presave.id)
                    .where(
                        Presave.state == PresaveState.waiting,
                        Presave.release_id == release_id,
                        Presave.service == service,
                        Presave.mode.in_(ENGINE_MODES),
                        Presave.due_at <= before,
                        country,
                    )
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        return await self._make_due(ids, now, reason="live early in this territory")

    async def _make_due(self, ids: Sequence[UUID], now: datetime, *, reason: str | None) -> int:
        if not ids:
            return 0
        rows = (
            await self.session.execute(
                update(Presave)
                .where(Presave.id.in_(ids), Presave.state == PresaveState.waiting)
                .values(state=PresaveState.due, updated_at=now)
                .returning(Presave.id, Presave.release_id, Presave.service)
                .execution_options(synchronize_session=False)
            )
        ).all()
        if not rows:
            return 0
        await self.session.execute(
            insert(PresaveEvent),
            [
                {"id": uuid7(), "presave_id": row[0], "state": PresaveState.due, "at": now}
                | ({"reason": reason} if reason else {"reason": None})
                for row in rows
            ],
        )
        await self.session.execute(
            insert(FulfilmentJob),
            [
                {
                    "id": uuid7(),
                    "presave_id": row[0],
                    "release_id": row[1],
                    "service": row[2],
                    "open": True,
                    "next_attempt_at": now,
                    "claims": 0,
                    "attempts": 0,
                    "created_at": now,
                }
                for row in rows
            ],
        )
        return len(rows)

    async def early_probe_groups(
        self, now: datetime, before: datetime
    ) -> list[tuple[UUID, str, str]]:
        """(release, service, territory) groups with pre-saves waiting until ``before``."""
        rows = (
            await self.session.execute(
                select(Presave.release_id, Presave.service, Presave.country)
                .where(
                    Presave.state == PresaveState.waiting,
                    Presave.due_at > now,
                    Presave.due_at <= before,
                    Presave.mode.in_(ENGINE_MODES),
                )
                .group_by(Presave.release_id, Presave.service, Presave.country)
            )
        ).all()
        return [(row[0], row[1], row[2] or "") for row in rows]

    # -- claims and leases -------------------------------------------------------------------

    async def claim(
        self, *, service: str, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedJob]:
        job = FulfilmentJob
        ids = list(
            (
                await self.session.scalars(
                    select(job.id)
                    .where(job.open.is_(True), job.service == service, job.next_attempt_at <= now)
                    .order_by(job.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        if not ids:
            return []
        claimed = (
            await self.session.execute(
                update(job)
                .where(job.id.in_(ids))
                .values(next_attempt_at=lease_until, lease_owner=owner, claims=job.claims + 1)
                .returning(job.id, job.presave_id, job.attempts, job.claims)
                .execution_options(synchronize_session=False)
            )
        ).all()
        by_presave = {row[1]: row for row in claimed}
        presaves = (
            await self.session.scalars(select(Presave).where(Presave.id.in_(list(by_presave))))
        ).all()
        grant_ids = [p.grant_id for p in presaves if p.grant_id is not None]
        grants = {
            grant.id: _snapshot(grant)
            for grant in (
                await self.session.scalars(
                    select(ServiceGrant).where(ServiceGrant.id.in_(grant_ids))
                )
            ).all()
        }
        due = [p.id for p in presaves if p.state == PresaveState.due]
        if due:
            await self.session.execute(
                update(Presave)
                .where(Presave.id.in_(due))
                .values(state=PresaveState.resolving, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            await self.session.execute(
                insert(PresaveEvent),
                [
                    {"id": uuid7(), "presave_id": pid, "state": PresaveState.resolving, "at": now}
                    for pid in due
                ],
            )
        result = []
        for presave in presaves:
            row = by_presave[presave.id]
            result.append(
                ClaimedJob(
                    job_id=row[0],
                    presave_id=presave.id,
                    attempts=row[2],
                    claims=row[3],
                    state=PresaveState.resolving
                    if presave.state == PresaveState.due
                    else presave.state,
                    workspace_id=presave.workspace_id,
                    link_id=presave.link_id,
                    release_id=presave.release_id,
                    fan_id=presave.fan_id,
                    service=presave.service,
                    mode=presave.mode,
                    country=presave.country,
                    due_at=presave.due_at,
                    actions=dict(presave.actions or {}),
                    grant=grants.get(presave.grant_id) if presave.grant_id else None,
                )
            )
        return result

    async def extend_leases(self, job_ids: Iterable[UUID], owner: str, until: datetime) -> int:
        ids = list(job_ids)
        if not ids:
            return 0
        result = await self.session.execute(
            update(FulfilmentJob)
            .where(FulfilmentJob.id.in_(ids), FulfilmentJob.lease_owner == owner)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _fence(self, job_id: UUID, owner: str, **values: Any) -> None:
        result = await self.session.execute(
            update(FulfilmentJob)
            .where(
                FulfilmentJob.id == job_id,
                FulfilmentJob.lease_owner == owner,
                FulfilmentJob.open.is_(True),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            raise LeaseLost(str(job_id))

    async def reschedule(
        self,
        job: ClaimedJob,
        owner: str,
        *,
        at: datetime,
        waiting_for: str,
        error: str | None,
        count_attempt: bool,
    ) -> None:
        await self._fence(
            job.job_id,
            owner,
            next_attempt_at=at,
            lease_owner=None,
            waiting_for=waiting_for,
            last_error=error[:500] if error else None,
            attempts=FulfilmentJob.attempts + (1 if count_attempt else 0),
        )

    async def release_lease(self, job_id: UUID, owner: str, at: datetime) -> None:
        """Give a claimed job back untouched (the worker is stopping)."""
        await self.session.execute(
            update(FulfilmentJob)
            .where(FulfilmentJob.id == job_id, FulfilmentJob.lease_owner == owner)
            .values(next_attempt_at=at, lease_owner=None)
            .execution_options(synchronize_session=False)
        )

    # -- actions ----------------------------------------------------------------------------

    async def completed_actions(self, presave_id: UUID) -> dict[str, ActionRecord]:
        rows = (
            await self.session.scalars(
                select(FulfilmentAction).where(FulfilmentAction.presave_id == presave_id)
            )
        ).all()
        return {
            row.kind: ActionRecord(
                row.kind, row.status, list(row.targets), row.confirmed, row.reason, row.at
            )
            for row in rows
        }

    async def record_action(
        self,
        job: ClaimedJob,
        owner: str,
        *,
        kind: str,
        idempotency_key: str,
        status: str,
        targets: Sequence[str],
        confirmed: bool,
        reason: str | None,
        at: datetime,
        fence: bool = True,
        known_new: bool = False,
    ) -> None:
        if fence:
            await self._fence(job.job_id, owner, waiting_for=None)
        existing = (
            None
            if job.claims <= 1 and not fence
            else await self.session.scalar(
                select(FulfilmentAction).where(
                    FulfilmentAction.presave_id == job.presave_id, FulfilmentAction.kind == kind
                )
            )
        )
        if existing is not None:
            existing.status, existing.targets, existing.confirmed = status, list(targets), confirmed
            existing.reason, existing.at = reason, at
            return
        self.session.add(
            FulfilmentAction(
                presave_id=job.presave_id,
                kind=kind,
                idempotency_key=idempotency_key,
                status=status,
                targets=list(targets),
                confirmed=confirmed,
                reason=reason[:500] if reason else None,
                at=at,
            )
        )

    async def mark_executing(self, job: ClaimedJob, owner: str, now: datetime) -> None:
        await self._fence(job.job_id, owner, waiting_for=None)
        await self.session.execute(
            update(Presave)
            .where(Presave.id == job.presave_id, Presave.state == PresaveState.resolving)
            .values(state=PresaveState.executing, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        self.session.add(
            PresaveEvent(presave_id=job.presave_id, state=PresaveState.executing, at=now)
        )

    async def close(self, job: ClaimedJob, owner: str, now: datetime) -> None:
        """Close a job whose pre-save reached a final state elsewhere (e.g. cancelled)."""
        await self._fence(job.job_id, owner, open=False, closed_at=now, lease_owner=None)

    async def finish(
        self,
        job: ClaimedJob,
        owner: str | None,
        *,
        state: PresaveState,
        reason: str | None,
        outcome: list[dict[str, Any]],
        now: datetime,
        executing_at: datetime | None,
    ) -> None:
        """Close the job and put the pre-save in its final state, in one transaction."""
        values: dict[str, Any] = {"open": False, "closed_at": now, "lease_owner": None}
        if owner is not None:
            await self._fence(job.job_id, owner, **values)
        else:
            await self.session.execute(
                update(FulfilmentJob)
                .where(FulfilmentJob.id == job.job_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        await self.session.execute(
            update(Presave)
            .where(Presave.id == job.presave_id)
            .values(
                state=state,
                final_reason=reason[:500] if reason else None,
                outcome={"actions": outcome},
                finished_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        events = []
        if executing_at is not None and job.state != PresaveState.executing:
            events.append(
                {"id": uuid7(), "presave_id": job.presave_id, "state": PresaveState.executing}
                | {"reason": None, "at": executing_at}
            )
        events.append(
            {"id": uuid7(), "presave_id": job.presave_id, "state": state}
            | {"reason": reason[:500] if reason else None, "at": now}
        )
        await self.session.execute(insert(PresaveEvent), events)

    # -- releases and resolutions ------------------------------------------------------------

    async def release_info(self, release_id: UUID) -> ReleaseInfo | None:
        release = await self.session.get(Release, release_id)
        if release is None:
            return None
        artists: dict[UUID, dict[str, Any]] = {}
        for link in release.artist_links:
            artists[link.artist_id] = dict(link.artist.service_ids or {})
        return ReleaseInfo(
            id=release.id,
            workspace_id=release.workspace_id,
            upc=release.upc,
            isrcs=tuple(track.isrc for track in release.tracks if track.isrc),
            artist_service_ids=artists,
        )

    async def resolution(
        self, release_id: UUID, service: str, territory: str
    ) -> ReleaseResolution | None:
        return await self.session.get(ReleaseResolution, (release_id, service, territory))

    async def take_resolution_check(
        self, release_id: UUID, service: str, territory: str, now: datetime, hold_until: datetime
    ) -> bool:
        """True if this caller should look the release up now (others wait for its answer)."""
        table = ReleaseResolution
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        created = await self.session.execute(
            upsert(table)
            .values(
                release_id=release_id,
                service=service,
                territory=territory,
                found=False,
                polls=0,
                track_ids=[],
                first_checked_at=now,
                next_check_at=hold_until,
            )
            .on_conflict_do_nothing()
            .returning(table.release_id)
        )
        if created.first() is not None:
            return True  # first ever check: ours
        existing = await self.session.get(
            table, (release_id, service, territory), with_for_update=True, populate_existing=True
        )
        assert existing is not None
        if existing.next_check_at > now:
            return False
        existing.next_check_at = hold_until
        return True

    async def store_resolution(
        self,
        release_id: UUID,
        service: str,
        territory: str,
        *,
        found: bool,
        album_id: str | None,
        track_ids: Sequence[str],
        now: datetime,
        next_check_at: datetime,
        error: str | None = None,
    ) -> ReleaseResolution:
        row = await self.session.get(
            ReleaseResolution, (release_id, service, territory), with_for_update=True
        )
        if row is None:
            row = ReleaseResolution(
                release_id=release_id, service=service, territory=territory, first_checked_at=now
            )
            self.session.add(row)
        row.found, row.album_id, row.track_ids = found, album_id, list(track_ids)
        row.polls = (row.polls or 0) + 1
        row.checked_at, row.next_check_at = now, next_check_at
        row.last_error = error[:500] if error else None
        return row

    # -- grants -------------------------------------------------------------------------------

    async def grant_for_update(self, grant_id: UUID) -> ServiceGrant | None:
        return await self.session.get(ServiceGrant, grant_id, with_for_update=True)

    async def revoke_grant(self, grant_id: UUID, reason: str, now: datetime) -> None:
        await self.session.execute(
            update(ServiceGrant)
            .where(ServiceGrant.id == grant_id, ServiceGrant.revoked_at.is_(None))
            .values(
                revoked_at=now,
                revoked_reason=reason[:200],
                access_token=None,
                refresh_token=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )

    async def forget_tokens_when_unused(self, presave_id: UUID, clock: Clock) -> bool:
        """Delete the grant's tokens unless it is standing or another pre-save needs it."""
        presave = await self.session.get(Presave, presave_id)
        if presave is None:
            return False
        return await forget_tokens_after_fulfilment(self.session, presave, clock=clock)

    async def add_reminder(self, job: ClaimedJob, now: datetime) -> bool:
        """The reminder path for a fan whose grant died: an email, if they gave one."""
        fan = await self.session.get(Fan, job.fan_id)
        if fan is None or not fan.email or fan.deleted_at is not None:
            return False
        exists = await self.session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.presave_id == job.presave_id, Reminder.channel == ReminderChannel.email)
        )
        if exists:
            return False
        self.session.add(
            Reminder(
                workspace_id=job.workspace_id,
                fan_id=job.fan_id,
                link_id=job.link_id,
                presave_id=job.presave_id,
                channel=ReminderChannel.email,
                service=job.service,
                send_at=now,
            )
        )
        return True

    # -- progress and reports -------------------------------------------------------------

    async def state_counts(self, release_id: UUID) -> dict[tuple[str, str], int]:
        rows = (
            await self.session.execute(
                select(Presave.service, Presave.state, func.count())
                .where(Presave.release_id == release_id, Presave.mode.in_(ENGINE_MODES))
                .group_by(Presave.service, Presave.state)
            )
        ).all()
        return {(row[0], str(row[1])): int(row[2]) for row in rows}

    async def waiting_for_counts(self, release_id: UUID) -> dict[tuple[str, str], int]:
        rows = (
            await self.session.execute(
                select(FulfilmentJob.service, FulfilmentJob.waiting_for, func.count())
                .where(
                    FulfilmentJob.release_id == release_id,
                    FulfilmentJob.open.is_(True),
                    FulfilmentJob.waiting_for.is_not(None),
                )
                .group_by(FulfilmentJob.service, FulfilmentJob.waiting_for)
            )
        ).all()
        return {(row[0], str(row[1])): int(row[2]) for row in rows}

    async def finished_since(self, release_id: UUID, since: datetime) -> dict[str, int]:
        rows = (
            await self.session.execute(
                select(Presave.service, func.count())
                .where(
                    Presave.release_id == release_id,
                    Presave.finished_at.is_not(None),
                    Presave.finished_at >= since,
                )
                .group_by(Presave.service)
            )
        ).all()
        return {row[0]: int(row[1]) for row in rows}

    async def report_rows(
        self, link_id: UUID, *, after: UUID | None, limit: int
    ) -> list[tuple[Presave, Fan]]:
        query = (
            select(Presave, Fan)
            .join(Fan, Fan.id == Presave.fan_id)
            .where(Presave.link_id == link_id)
            .order_by(Presave.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(Presave.id > after)
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    # -- standing authorisations ------------------------------------------------------------

    async def release_artists(self, release_id: UUID) -> list[UUID]:
        return list(
            (
                await self.session.scalars(
                    select(ReleaseArtist.artist_id).where(ReleaseArtist.release_id == release_id)
                )
            ).all()
        )

    async def standing_grants(self, workspace_id: UUID) -> list[ServiceGrant]:
        return list(
            (
                await self.session.scalars(
                    select(ServiceGrant).where(
                        ServiceGrant.workspace_id == workspace_id,
                        ServiceGrant.standing.is_(True),
                        ServiceGrant.revoked_at.is_(None),
                        ServiceGrant.access_token.is_not(None),
                    )
                )
            ).all()
        )

    async def grants_with_presave(self, link_id: UUID) -> set[tuple[str, UUID]]:
        rows = (
            await self.session.execute(
                select(Presave.service, Presave.grant_id).where(
                    Presave.link_id == link_id, Presave.grant_id.is_not(None)
                )
            )
        ).all()
        return {(row[0], row[1]) for row in rows if row[1] is not None}

    async def fans(self, fan_ids: Iterable[UUID]) -> dict[UUID, Fan]:
        ids = list(fan_ids)
        if not ids:
            return {}
        return {
            fan.id: fan
            for fan in (await self.session.scalars(select(Fan).where(Fan.id.in_(ids)))).all()
        }

    async def delete_jobs_of(self, presave_ids: Iterable[UUID]) -> None:
        ids = list(presave_ids)
        if ids:
            await self.session.execute(
                delete(FulfilmentJob).where(FulfilmentJob.presave_id.in_(ids))
            )
