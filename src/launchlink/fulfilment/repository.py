"""All fulfilment SQL: claims and leases, action records, resolutions, grants, counts.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL: any number of workers take
disjoint batches) inside a ``BEGIN IMMEDIATE`` transaction on SQLite (single writer, where
SQLAlchemy leaves the ``FOR UPDATE`` out). Every write a worker makes about a job it holds
is fenced by ``lease_owner``: a worker whose lease expired and was re-claimed gets
:class:`LeaseLost` and its transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.kit.ids import uuid7
from launchlink.kit.repository import in_workspace
from launchlink.models.catalog import Release, ReleaseArtist
from launchlink.models.fulfilment import (
    FulfilmentAction,
    FulfilmentJob,
    ReleaseResolution,
    ServiceLimiterState,
)
from launchlink.models.links import Destination, Link
from launchlink.models.presave import (
    FINAL_PRESAVE_STATES,
    Fan,
    Presave,
    PresaveEvent,
    PresaveState,
    ServiceGrant,
    ServiceMode,
)

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
    app_client_id: str | None = None
    """The app the tokens were issued to (None: recorded before apps were)."""


@dataclass(frozen=True)
class ActionRecord:
    """One action's durable record: ``in_flight`` (written before the call: the outcome is
    unknown if the worker dies), ``done`` or ``failed``."""

    kind: str
    status: str
    targets: list[Any]
    confirmed: bool
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class FinalState:
    presave_id: UUID
    state: PresaveState
    reason: str | None
    outcome: list[dict[str, Any]]


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
    records: dict[str, ActionRecord] = field(default_factory=dict)
    """Actions recorded by earlier claims (read by the claim itself; empty on a first claim)."""


@dataclass(frozen=True)
class ReleaseInfo:
    id: UUID
    workspace_id: UUID
    upc: str | None
    isrcs: tuple[str, ...]
    artist_service_ids: dict[UUID, dict[str, Any]]
    urls: dict[str, str] = field(default_factory=dict)
    """The release's link per platform (its links' destinations, the oldest link first):
    how services without a UPC/ISRC search (SoundCloud, YouTube) find it."""


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
        """Lease up to ``limit`` due jobs of ``service`` and return all they need to run.

        Core statements, one round trip each, whatever the batch size: lease the jobs
        (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``), read
        their pre-saves and grants in one join, move ``due`` pre-saves to ``resolving``, and
        read the actions earlier claims recorded (re-claims only).
        """
        connection = await self.session.connection()
        job = FulfilmentJob
        claimable = (
            select(job.id)
            .where(job.open.is_(True), job.service == service, job.next_attempt_at <= now)
            .order_by(job.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = (
            await connection.execute(
                update(job)
                .where(job.id.in_(claimable.scalar_subquery()))
                .values(next_attempt_at=lease_until, lease_owner=owner, claims=job.claims + 1)
                .returning(job.id, job.presave_id, job.attempts, job.claims)
            )
        ).all()
        if not claimed:
            return []
        by_presave = {row[1]: row for row in claimed}
        p, g = Presave, ServiceGrant
        rows = (
            await connection.execute(
                select(
                    p.id,
                    p.state,
                    p.workspace_id,
                    p.link_id,
                    p.release_id,
                    p.fan_id,
                    p.service,
                    p.mode,
                    p.country,
                    p.due_at,
                    p.actions,
                    g.id,
                    g.access_token,
                    g.refresh_token,
                    g.access_expires_at,
                    g.scopes,
                    g.standing,
                    g.revoked_at,
                    g.revoked_reason,
                    g.storefront,
                    g.account_id,
                    g.app_client_id,
                )
                .select_from(p)
                .outerjoin(g, g.id == p.grant_id)
                .where(p.id.in_(list(by_presave)))
            )
        ).all()
        due = [row[0] for row in rows if row[1] == PresaveState.due]
        if due:
            await connection.execute(
                update(Presave)
                .where(Presave.id.in_(due))
                .values(state=PresaveState.resolving, updated_at=now)
            )
            await connection.execute(
                insert(PresaveEvent),
                [
                    {
                        "id": uuid7(),
                        "presave_id": presave_id,
                        "state": PresaveState.resolving,
                        "reason": None,
                        "at": now,
                    }
                    for presave_id in due
                ],
            )
        again = [row[1] for row in claimed if row[3] > 1]
        records: dict[UUID, dict[str, ActionRecord]] = {}
        if again:
            a = FulfilmentAction
            for record in await connection.execute(
                select(
                    a.presave_id, a.kind, a.status, a.targets, a.confirmed, a.reason, a.at
                ).where(a.presave_id.in_(again))
            ):
                records.setdefault(record[0], {})[record[1]] = ActionRecord(
                    record[1], record[2], list(record[3] or []), record[4], record[5], record[6]
                )
        result = []
        for row in rows:
            lease = by_presave[row[0]]
            grant = None
            if row[11] is not None:
                grant = GrantSnapshot(
                    id=row[11],
                    access_token=row[12],
                    refresh_token=row[13],
                    access_expires_at=row[14],
                    scopes=tuple(str(scope) for scope in row[15] or ()),
                    standing=row[16],
                    revoked_at=row[17],
                    revoked_reason=row[18],
                    storefront=row[19],
                    account_id=row[20],
                    app_client_id=row[21],
                )
            result.append(
                ClaimedJob(
                    job_id=lease[0],
                    presave_id=row[0],
                    attempts=lease[2],
                    claims=lease[3],
                    state=PresaveState.resolving if row[1] == PresaveState.due else row[1],
                    workspace_id=row[2],
                    link_id=row[3],
                    release_id=row[4],
                    fan_id=row[5],
                    service=row[6],
                    mode=row[7],
                    country=row[8],
                    due_at=row[9],
                    actions=dict(row[10] or {}),
                    grant=grant,
                    records=records.get(row[0], {}),
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

    # -- batched writes (one transaction for many jobs: see fulfilment/writes.py) ----------

    async def fence_many(self, job_ids: Sequence[UUID], owner: str, **values: Any) -> set[UUID]:
        """Apply ``values`` to the jobs ``owner`` still holds; returns those ids (the others
        were re-claimed by another worker)."""
        if not job_ids:
            return set()
        connection = await self.session.connection()
        job = FulfilmentJob
        rows = await connection.execute(
            update(job)
            .where(job.id.in_(list(job_ids)), job.lease_owner == owner, job.open.is_(True))
            .values(**values)
            .returning(job.id)
        )
        return {row[0] for row in rows}

    async def mark_executing_many(self, presave_ids: Sequence[UUID], now: datetime) -> None:
        if not presave_ids:
            return
        connection = await self.session.connection()
        moved = (
            await connection.execute(
                update(Presave)
                .where(Presave.id.in_(list(presave_ids)), Presave.state == PresaveState.resolving)
                .values(state=PresaveState.executing, updated_at=now)
                .returning(Presave.id)
            )
        ).all()
        if moved:
            await connection.execute(
                insert(PresaveEvent),
                [
                    {
                        "id": uuid7(),
                        "presave_id": row[0],
                        "state": PresaveState.executing,
                        "reason": None,
                        "at": now,
                    }
                    for row in moved
                ],
            )

    async def upsert_actions(self, rows: Sequence[tuple[UUID, str, ActionRecord]]) -> None:
        """Write action records (presave id, idempotency key, record); one statement.

        One statement run for many rows (executemany), not one multi-row VALUES: a VALUES
        list of a new length is a new statement that SQLAlchemy compiles again, and every
        group commit had a new length (the compiler was 8 % of a worker's CPU)."""
        if not rows:
            return
        connection = await self.session.connection()
        upsert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
        statement = upsert(FulfilmentAction)
        excluded = statement.excluded
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[FulfilmentAction.presave_id, FulfilmentAction.kind],
                set_={
                    "status": excluded.status,
                    "targets": excluded.targets,
                    "confirmed": excluded.confirmed,
                    "reason": excluded.reason,
                    "at": excluded.at,
                },
            ),
            [
                {
                    "id": uuid7(),
                    "presave_id": presave_id,
                    "kind": record.kind,
                    "idempotency_key": key,
                    "status": record.status,
                    "targets": list(record.targets),
                    "confirmed": record.confirmed,
                    "reason": record.reason[:500] if record.reason else None,
                    "at": record.at,
                }
                for presave_id, key, record in rows
            ],
        )

    async def completed_services(
        self, pairs: Iterable[tuple[UUID, str]]
    ) -> list[tuple[UUID, UUID, str, dict[str, int]]]:
        """Of these (release, service) pairs, those whose every pre-save fulfilment handles
        is final now: (release, workspace, service, final state → count), in key order.

        On PostgreSQL a transaction-scoped lock per pair is taken first (in key order, so
        two flushes never wait on each other crosswise): of two flushes finishing a pair's
        last pre-saves at once, the second sees the first's commit, so exactly one of them
        finds the pair complete. The open check is an index probe (release, service, state); the
        counts are read only once a pair is complete.
        """
        keys = sorted(set(pairs))
        if not keys:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            for release_id, service in keys:
                await self.session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"fulfilment.completed:{release_id}:{service}"},
                )
        open_states = [s for s in PresaveState if not s.is_final]
        done: list[tuple[UUID, UUID, str, dict[str, int]]] = []
        for release_id, service in keys:
            mine = (
                Presave.release_id == release_id,
                Presave.service == service,
                Presave.mode.in_(ENGINE_MODES),
            )
            still_open = await self.session.scalar(
                select(exists().where(*mine, Presave.state.in_(open_states)))
            )
            if still_open:
                continue
            rows = (
                await self.session.execute(
                    select(Presave.workspace_id, Presave.state, func.count())
                    .where(*mine)
                    .group_by(Presave.workspace_id, Presave.state)
                )
            ).all()
            if rows:
                counts = {str(PresaveState(row[1]).value): int(row[2]) for row in rows}
                done.append((release_id, rows[0][0], service, counts))
        return done

    async def finish_many(self, finals: Sequence[FinalState], now: datetime) -> None:
        """Final states of many pre-saves (their jobs are already closed by the fence)."""
        if not finals:
            return
        connection = await self.session.connection()
        await connection.execute(
            update(Presave)
            .where(Presave.id == bindparam("presave_id"))
            .values(
                state=bindparam("final_state"),
                final_reason=bindparam("final_reason"),
                outcome=bindparam("final_outcome"),
                finished_at=now,
                updated_at=now,
            ),
            [
                {
                    "presave_id": final.presave_id,
                    "final_state": final.state,
                    "final_reason": final.reason[:500] if final.reason else None,
                    "final_outcome": {"actions": final.outcome},
                }
                for final in finals
            ],
        )
        await connection.execute(
            insert(PresaveEvent),
            [
                {
                    "id": uuid7(),
                    "presave_id": final.presave_id,
                    "state": final.state,
                    "reason": final.reason[:500] if final.reason else None,
                    "at": now,
                }
                for final in finals
            ],
        )

    async def forget_tokens_of_finished(self, grant_ids: Sequence[UUID], now: datetime) -> None:
        """The rule of ``presave.service.forget_tokens_after_fulfilment``, set-based: delete
        the tokens of these grants unless standing or still needed by an open pre-save."""
        if not grant_ids:
            return
        connection = await self.session.connection()
        grant = ServiceGrant
        still_needed = exists().where(
            and_(Presave.grant_id == grant.id, Presave.state.not_in(FINAL_PRESAVE_STATES))
        )
        await connection.execute(
            update(grant)
            .where(
                grant.id.in_(list(grant_ids)),
                grant.standing.is_(False),
                grant.access_token.is_not(None),
                ~still_needed,
            )
            .values(
                access_token=None,
                refresh_token=None,
                access_expires_at=None,
                revoked_at=now,
                revoked_reason="deleted after fulfilment",
                updated_at=now,
            )
        )

    async def close(self, job: ClaimedJob, owner: str, now: datetime) -> None:
        """Close a job whose pre-save reached a final state elsewhere (e.g. cancelled)."""
        await self._fence(job.job_id, owner, open=False, closed_at=now, lease_owner=None)

    # -- releases and resolutions ------------------------------------------------------------

    async def release_info(self, release_id: UUID) -> ReleaseInfo | None:
        release = await self.session.get(Release, release_id)
        if release is None:
            return None
        artists: dict[UUID, dict[str, Any]] = {}
        for link in release.artist_links:
            artists[link.artist_id] = dict(link.artist.service_ids or {})
        destinations = (
            await self.session.execute(
                select(Destination.service, Destination.url)
                .join(Link, Link.id == Destination.link_id)
                .where(Link.release_id == release.id)
                .order_by(Link.created_at, Link.id, Destination.hidden, Destination.position)
            )
        ).all()
        urls: dict[str, str] = {}
        for service, url in destinations:
            urls.setdefault(service, url)
        return ReleaseInfo(
            id=release.id,
            workspace_id=release.workspace_id,
            upc=release.upc,
            isrcs=tuple(track.isrc for track in release.tracks if track.isrc),
            artist_service_ids=artists,
            urls=urls,
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

    async def release_resolution_check(
        self, release_id: UUID, service: str, territory: str, now: datetime
    ) -> None:
        """A lookup that failed hands its turn back: the next caller checks at once."""
        table = ReleaseResolution
        await self.session.execute(
            update(table)
            .where(
                table.release_id == release_id,
                table.service == service,
                table.territory == territory,
                table.found.is_(False),
            )
            .values(next_check_at=now)
            .execution_options(synchronize_session=False)
        )

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

    async def presave_for_update(self, presave_id: UUID) -> Presave | None:
        return await self.session.get(Presave, presave_id, with_for_update=True)

    async def add_presave_event(self, event: PresaveEvent) -> None:
        self.session.add(event)

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
        self,
        link_id: UUID,
        *,
        after: UUID | None,
        limit: int,
        state: PresaveState | None = None,
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
        if state is not None:
            query = query.where(Presave.state == state)
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    # -- standing authorisations ------------------------------------------------------------

    async def first_link_of_release(self, release_id: UUID) -> Link | None:
        """The release's oldest link: the one standing pre-saves are filed under."""
        return await self.session.scalar(
            select(Link).where(Link.release_id == release_id).order_by(Link.created_at).limit(1)
        )

    async def upcoming_releases_with_links(self, now: datetime) -> list[UUID]:
        """Releases still ahead (by instant, or by a date not yet over anywhere) with a link."""
        rows = (
            await self.session.execute(
                select(Release.id)
                .join(Link, Link.release_id == Release.id)
                .where(
                    (Release.release_instant > now)
                    | (Release.release_date >= (now - timedelta(days=1)).date())
                )
                .distinct()
            )
        ).all()
        return [row[0] for row in rows]

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
                    in_workspace(ServiceGrant, workspace_id).where(
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

    async def add_standing_presaves(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        """Insert queued pre-saves (complete rows) and their ``waiting`` event; two statements."""
        if not rows:
            return
        await self.session.execute(insert(Presave), list(rows))
        await self.session.execute(
            insert(PresaveEvent),
            [
                {
                    "id": uuid7(),
                    "presave_id": row["id"],
                    "state": PresaveState.waiting,
                    "reason": "queued from a standing authorisation",
                    "at": now,
                }
                for row in rows
            ],
        )

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


# == What is not done yet, and why (launchlink fulfil, GET /releases/{id}/fulfilment) ======
# Appended as its own section: read by the operator views, written only by ``--resume``.

PARKED_BY_PAUSE = ("service_paused", "rate_limited")
"""``waiting_for`` of jobs put back until a service's pause (a 429's Retry-After) ends."""


@dataclass(frozen=True)
class ReasonGroup:
    """Open jobs of one service that wait for the same reason (and last error)."""

    service: str
    reason: str
    """in_progress | queued | release_not_live | rate_limited | service_paused | transient."""
    last_error: str | None
    count: int
    first_at: datetime
    """The earliest next attempt among them (while in progress: a lease's expiry)."""
    last_at: datetime


@dataclass(frozen=True)
class TimingGroup:
    service: str
    kind: str
    """in_progress (a worker holds it) | soon (claimable within the horizon) | parked."""
    count: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class UpcomingGroup:
    """Engine pre-saves of one service not queued yet (``waiting``)."""

    service: str
    count: int
    soon: int
    """Of those, due within the horizon (the scheduler queues them on its next round)."""
    first_due_at: datetime


@dataclass(frozen=True)
class OpenJobRow:
    id: UUID
    presave_id: UUID
    service: str
    state: PresaveState
    reason: str
    last_error: str | None
    attempts: int
    next_attempt_at: datetime
    due_at: datetime


def _held(now: datetime) -> Any:
    return and_(FulfilmentJob.lease_owner.is_not(None), FulfilmentJob.next_attempt_at > now)


def _reason(now: datetime) -> Any:
    return case(
        (_held(now), "in_progress"),
        else_=func.coalesce(FulfilmentJob.waiting_for, "queued"),
    )


class ProgressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reasons(self, release_id: UUID, now: datetime, *, limit: int) -> list[ReasonGroup]:
        job = FulfilmentJob
        reason = _reason(now).label("reason")
        rows = (
            await self.session.execute(
                select(
                    job.service,
                    reason,
                    job.last_error,
                    func.count(),
                    func.min(job.next_attempt_at),
                    func.max(job.next_attempt_at),
                )
                .where(job.release_id == release_id, job.open.is_(True))
                .group_by(job.service, reason, job.last_error)
                .order_by(func.count().desc(), job.service)
                .limit(limit)
            )
        ).all()
        return [ReasonGroup(r[0], str(r[1]), r[2], int(r[3]), r[4], r[5]) for r in rows]

    async def timing(self, release_id: UUID, now: datetime, soon: datetime) -> list[TimingGroup]:
        job = FulfilmentJob
        kind = case(
            (_held(now), "in_progress"), (job.next_attempt_at <= soon, "soon"), else_="parked"
        ).label("kind")
        rows = (
            await self.session.execute(
                select(
                    job.service,
                    kind,
                    func.count(),
                    func.min(job.next_attempt_at),
                    func.max(job.next_attempt_at),
                )
                .where(job.release_id == release_id, job.open.is_(True))
                .group_by(job.service, kind)
            )
        ).all()
        return [TimingGroup(r[0], str(r[1]), int(r[2]), r[3], r[4]) for r in rows]

    async def upcoming(self, release_id: UUID, soon: datetime) -> list[UpcomingGroup]:
        rows = (
            await self.session.execute(
                select(
                    Presave.service,
                    func.count(),
                    func.sum(case((Presave.due_at <= soon, 1), else_=0)),
                    func.min(Presave.due_at),
                )
                .where(
                    Presave.release_id == release_id,
                    Presave.state == PresaveState.waiting,
                    Presave.mode.in_(ENGINE_MODES),
                )
                .group_by(Presave.service)
            )
        ).all()
        return [UpcomingGroup(r[0], int(r[1]), int(r[2] or 0), r[3]) for r in rows]

    async def open_jobs(
        self,
        release_id: UUID,
        now: datetime,
        *,
        service: str | None,
        reason: str | None,
        after: UUID | None,
        limit: int,
    ) -> list[OpenJobRow]:
        job = FulfilmentJob
        why = _reason(now)
        query = (
            select(
                job.id,
                job.presave_id,
                job.service,
                Presave.state,
                why,
                job.last_error,
                job.attempts,
                job.next_attempt_at,
                Presave.due_at,
            )
            .join(Presave, Presave.id == job.presave_id)
            .where(job.release_id == release_id, job.open.is_(True))
        )
        if service is not None:
            query = query.where(job.service == service)
        if reason is not None:
            query = query.where(why == reason)
        if after is not None:
            query = query.where(job.id > after)
        rows = (await self.session.execute(query.order_by(job.id).limit(limit + 1))).all()
        return [
            OpenJobRow(r[0], r[1], r[2], r[3], str(r[4]), r[5], int(r[6]), r[7], r[8]) for r in rows
        ]

    async def resume_parked(self, service: str, now: datetime) -> int:
        """Jobs put back until ``service``'s pause ends become claimable now (every
        release: the pause was the service's, not one release's)."""
        job = FulfilmentJob
        result = await self.session.execute(
            update(job)
            .where(
                job.service == service,
                job.open.is_(True),
                job.lease_owner.is_(None),
                job.waiting_for.in_(PARKED_BY_PAUSE),
                job.next_attempt_at > now,
            )
            .values(next_attempt_at=now, waiting_for=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class LimiterStateRepository:
    """The rows of :class:`launchlink.fulfilment.limiter.DatabaseLimiter`: one per service
    app, every change one atomic statement (times are epoch seconds of the real clock)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, key: str) -> None:
        """Insert the row of ``key``; IntegrityError when another worker did it first."""
        await self.session.execute(insert(ServiceLimiterState).values(key=key))

    async def reserve_slot(self, key: str, *, now: float, interval: float) -> float | None:
        """Take the next slot of an unpaused ``key`` (``interval`` after the last one taken,
        never in the past) and return the end of it; None when paused or absent."""
        table = ServiceLimiterState
        greatest = func.max if self.session.get_bind().dialect.name == "sqlite" else func.greatest
        row = (
            await self.session.execute(
                update(table)
                .where(table.key == key, table.paused_until <= now)
                .values(next_slot=greatest(table.next_slot, now) + interval)
                .returning(table.next_slot)
            )
        ).first()
        return None if row is None else float(row[0])

    async def paused_until(self, key: str) -> float | None:
        """Until when ``key`` is paused (a past instant: not paused); None when absent."""
        table = ServiceLimiterState
        return await self.session.scalar(select(table.paused_until).where(table.key == key))

    async def extend_pause(self, key: str, *, until: float, reason: str) -> None:
        table = ServiceLimiterState
        await self.session.execute(
            update(table)
            .where(table.key == key, table.paused_until < until)
            .values(paused_until=until, pause_reason=reason)
        )

    async def reset(self, key: str) -> None:
        await self.session.execute(
            update(ServiceLimiterState)
            .where(ServiceLimiterState.key == key)
            .values(paused_until=0.0, pause_reason=None, next_slot=0.0)
        )

    async def pause_of(self, key: str) -> tuple[float, str | None] | None:
        table = ServiceLimiterState
        row = (
            await self.session.execute(
                select(table.paused_until, table.pause_reason).where(table.key == key)
            )
        ).first()
        return None if row is None else (row[0], row[1])
