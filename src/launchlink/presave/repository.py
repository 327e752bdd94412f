"""All SQL of the pre-save domain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CursorResult,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.kit.ids import uuid7
from launchlink.kit.repository import (
    WorkspaceScoped,
    advisory_xact_locks,
    delete_in_workspace,
    in_workspace,
)
from launchlink.models import (
    Campaign,
    ConsentRecord,
    ConsentText,
    Fan,
    Link,
    MagicLink,
    OAuthAttempt,
    Presave,
    PresaveEvent,
    Release,
    ServiceGrant,
    WorkspaceServiceMode,
)
from launchlink.models.fulfilment import FulfilmentAction, FulfilmentJob, ReleaseResolution
from launchlink.models.presave import (
    FINAL_PRESAVE_STATES,
    ConsentKind,
    FormRateHit,
    PendingContact,
    PresaveState,
    ServiceMode,
)


class FormRateRepository:
    """The sliding windows of :mod:`launchlink.presave.ratelimit`: one row per accepted post."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_buckets(self, buckets: Sequence[str]) -> None:
        """Serialise the posts that share a bucket until the transaction ends."""
        await advisory_xact_locks(self.session, buckets)

    async def recent(self, bucket: str, since: datetime) -> list[datetime]:
        """When the accepted posts of ``bucket`` after ``since`` came, oldest first."""
        result = await self.session.execute(
            select(FormRateHit.at)
            .where(FormRateHit.bucket == bucket, FormRateHit.at > since)
            .order_by(FormRateHit.at)
        )
        return list(result.scalars())

    async def record(self, buckets: Sequence[str], at: datetime) -> None:
        self.session.add_all(FormRateHit(bucket=bucket, at=at) for bucket in buckets)
        await self.session.flush()

    async def purge(self, before: datetime) -> None:
        await self.session.execute(delete(FormRateHit).where(FormRateHit.at < before))

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count(FormRateHit.id)))).scalar_one())


class CampaignRepository(WorkspaceScoped[Campaign]):
    """Campaigns as the operator's API sees them: one per link, keyed by the link's id."""

    model = Campaign
    key = "link_id"


class PresaveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    # -- links and campaigns ------------------------------------------------------------

    async def link(self, link_id: UUID) -> Link | None:
        """A link by id alone: the id comes from a row or a signed token we issued (an
        OAuth attempt, a magic link, a pending contact), never from a workspace's request."""
        return await self.session.get(Link, link_id)

    async def link_with_release(self, link_id: UUID) -> tuple[Link, Release] | None:
        result = await self.session.execute(
            select(Link, Release)
            .join(Release, Release.id == Link.release_id)
            .where(Link.id == link_id)
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def campaign(self, link_id: UUID) -> Campaign | None:
        """The campaign of a link already found (by its page or its workspace)."""
        return await self.session.get(Campaign, link_id)

    async def workspace_modes(self, workspace_id: UUID) -> dict[str, ServiceMode]:
        result = await self.session.execute(in_workspace(WorkspaceServiceMode, workspace_id))
        return {row.service: row.mode for row in result.scalars()}

    async def replace_workspace_modes(
        self, workspace_id: UUID, modes: dict[str, ServiceMode]
    ) -> None:
        await self.session.execute(delete_in_workspace(WorkspaceServiceMode, workspace_id))
        self.session.add_all(
            WorkspaceServiceMode(workspace_id=workspace_id, service=service, mode=mode)
            for service, mode in modes.items()
        )
        await self.session.flush()

    # -- consent texts ------------------------------------------------------------------

    async def consent_text(self, text_id: UUID) -> ConsentText | None:
        return await self.session.get(ConsentText, text_id)

    async def consent_texts(self, workspace_id: UUID, kind: ConsentKind) -> list[ConsentText]:
        result = await self.session.execute(
            in_workspace(ConsentText, workspace_id)
            .where(ConsentText.kind == kind)
            .order_by(ConsentText.version)
        )
        return list(result.scalars())

    # -- fans and grants ----------------------------------------------------------------

    async def fan(self, workspace_id: UUID, fan_id: UUID) -> Fan | None:
        result = await self.session.execute(in_workspace(Fan, workspace_id).where(Fan.id == fan_id))
        return result.scalars().first()

    async def fan_by_email(self, workspace_id: UUID, email: str) -> Fan | None:
        """The fan who proved ``email`` (only proven addresses are in ``fan.email``)."""
        result = await self.session.execute(
            in_workspace(Fan, workspace_id).where(Fan.email == email)
        )
        return result.scalars().first()

    async def fan_of_browser(self, workspace_id: UUID, browser_hash: str) -> Fan | None:
        """The fan of the newest pre-save this browser made in the workspace."""
        result = await self.session.execute(
            in_workspace(Fan, workspace_id)
            .join(Presave, Presave.fan_id == Fan.id)
            .where(Presave.workspace_id == workspace_id, Presave.browser_hash == browser_hash)
            .order_by(Presave.id.desc())
            .limit(1)
        )
        return result.scalars().first()

    async def grant(self, workspace_id: UUID, service: str, account_id: str) -> ServiceGrant | None:
        result = await self.session.execute(
            in_workspace(ServiceGrant, workspace_id).where(
                ServiceGrant.service == service, ServiceGrant.account_id == account_id
            )
        )
        return result.scalars().first()

    async def grant_by_id(self, grant_id: UUID) -> ServiceGrant | None:
        return await self.session.get(ServiceGrant, grant_id)

    async def grants_of_fan(self, fan_id: UUID) -> list[ServiceGrant]:
        result = await self.session.execute(
            select(ServiceGrant).where(ServiceGrant.fan_id == fan_id).order_by(ServiceGrant.id)
        )
        return list(result.scalars())

    async def count_active_accounts(self, service: str, app_client_id: str | None = None) -> int:
        """Distinct accounts holding a live grant on ``service``, across every workspace
        (of the one app ``app_client_id`` when given: a workspace's own app).

        Spotify's development-mode user limit is per app (client id), and one instance uses
        one app for all its workspaces but those that bring their own; a fan pre-saving for
        two workspaces is one user. Without ``app_client_id`` every grant counts (the
        instance's cap is reached no later than it is).
        """
        query = select(func.count(func.distinct(ServiceGrant.account_id))).where(
            ServiceGrant.service == service,
            ServiceGrant.revoked_at.is_(None),
        )
        if app_client_id is not None:
            query = query.where(ServiceGrant.app_client_id == app_client_id)
        result = await self.session.execute(query)
        return int(result.scalar_one())

    # -- pre-saves ----------------------------------------------------------------------

    async def presave(self, presave_id: UUID) -> Presave | None:
        return await self.session.get(Presave, presave_id)

    async def presave_for_grant(
        self, link_id: UUID, service: str, grant_id: UUID
    ) -> Presave | None:
        result = await self.session.execute(
            select(Presave).where(
                Presave.link_id == link_id,
                Presave.service == service,
                Presave.grant_id == grant_id,
            )
        )
        return result.scalars().first()

    async def reminder_presave(self, link_id: UUID, service: str, fan_id: UUID) -> Presave | None:
        result = await self.session.execute(
            select(Presave).where(
                Presave.link_id == link_id,
                Presave.service == service,
                Presave.fan_id == fan_id,
                Presave.mode == ServiceMode.reminder,
            )
        )
        return result.scalars().first()

    async def presaves_of_fan(
        self, fan_id: UUID, *, link_id: UUID | None = None, browser_hash: str | None = None
    ) -> list[Presave]:
        """The fan's pre-saves (on one link; made by one browser)."""
        query = select(Presave).where(Presave.fan_id == fan_id)
        if link_id is not None:
            query = query.where(Presave.link_id == link_id)
        if browser_hash is not None:
            query = query.where(Presave.browser_hash == browser_hash)
        result = await self.session.execute(query.order_by(Presave.id))
        return list(result.scalars())

    async def has_sms_reminder(self, fan_id: UUID) -> bool:
        """Whether the fan asked for a release's texts only (on a pre-save not cancelled)."""
        result = await self.session.execute(
            select(
                exists().where(
                    Presave.fan_id == fan_id,
                    Presave.sms_reminder_at.is_not(None),
                    Presave.state != PresaveState.cancelled,
                )
            )
        )
        return bool(result.scalar())

    async def withdraw_reminders(
        self, fan_id: UUID, *, email: bool, sms: bool, now: datetime, why: str | None = None
    ) -> list[ConsentKind]:
        """Clear the fan's reminder-only consents on every pre-save (an unsubscribe, a
        STOP: everything at once), with a consent-ledger row per kind the fan had."""
        withdrawn: list[ConsentKind] = []
        for column, kind, wanted in (
            (Presave.email_reminder_at, ConsentKind.email_reminder, email),
            (Presave.sms_reminder_at, ConsentKind.sms_reminder, sms),
        ):
            if not wanted:
                continue
            result = await self.session.execute(
                update(Presave)
                .where(Presave.fan_id == fan_id, column.is_not(None))
                .values({column.key: None})
                .execution_options(synchronize_session="fetch")
            )
            assert isinstance(result, CursorResult)
            if result.rowcount:
                withdrawn.append(kind)
        fan = await self.session.get(Fan, fan_id) if withdrawn else None
        if fan is not None:
            self.session.add_all(
                ConsentRecord(
                    workspace_id=fan.workspace_id,
                    fan_id=fan_id,
                    kind=kind,
                    granted=False,
                    user_agent=why[:500] if why else None,
                    at=now,
                )
                for kind in withdrawn
            )
        await self.session.flush()
        return withdrawn

    async def open_presaves_of_grants(self, grant_ids: Sequence[UUID]) -> list[Presave]:
        if not grant_ids:
            return []
        result = await self.session.execute(
            select(Presave).where(
                Presave.grant_id.in_(grant_ids), Presave.state.not_in(FINAL_PRESAVE_STATES)
            )
        )
        return list(result.scalars())

    async def open_presaves_of_grant_count(self, grant_id: UUID, *, except_id: UUID) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Presave)
            .where(
                Presave.grant_id == grant_id,
                Presave.id != except_id,
                Presave.state.not_in(FINAL_PRESAVE_STATES),
            )
        )
        return int(result.scalar_one())

    async def list_presaves(
        self,
        link_id: UUID,
        *,
        service: str | None,
        state: str | None,
        country: str | None,
        after: UUID | None,
        limit: int,
    ) -> list[Presave]:
        query = select(Presave).where(Presave.link_id == link_id)
        if service is not None:
            query = query.where(Presave.service == service)
        if state is not None:
            query = query.where(Presave.state == state)
        if country is not None:
            query = query.where(Presave.country == country)
        if after is not None:
            query = query.where(Presave.id > after)
        result = await self.session.execute(query.order_by(Presave.id).limit(limit + 1))
        return list(result.scalars())

    async def count_presaves_by(self, link_id: UUID, column: str) -> dict[str, int]:
        field = getattr(Presave, column)
        result = await self.session.execute(
            select(field, func.count()).where(Presave.link_id == link_id).group_by(field)
        )
        return {str(key) if key is not None else "unknown": int(n) for key, n in result.all()}

    async def events_of(self, presave_ids: Sequence[UUID]) -> list[PresaveEvent]:
        if not presave_ids:
            return []
        result = await self.session.execute(
            select(PresaveEvent)
            .where(PresaveEvent.presave_id.in_(presave_ids))
            .order_by(PresaveEvent.id)
        )
        return list(result.scalars())

    # -- consents ------------------------------------------------------------

    async def consents_of_fan(self, fan_id: UUID) -> list[ConsentRecord]:
        result = await self.session.execute(
            select(ConsentRecord).where(ConsentRecord.fan_id == fan_id).order_by(ConsentRecord.id)
        )
        return list(result.scalars())

    async def contacts(self, link_id: UUID, *, after: UUID | None, limit: int) -> list[Fan]:
        """Fans of this link (a pre-save on it, or an address confirmed from it) who
        consented to email or SMS, a page at a time."""
        presaved = select(Presave.fan_id).where(Presave.link_id == link_id)
        confirmed = select(PendingContact.confirmed_fan_id).where(
            PendingContact.link_id == link_id, PendingContact.confirmed_fan_id.is_not(None)
        )
        query = select(Fan).where(
            Fan.id.in_(presaved) | Fan.id.in_(confirmed),
            Fan.deleted_at.is_(None),
            (Fan.email_consent_at.is_not(None)) | (Fan.sms_consent_at.is_not(None)),
        )
        if after is not None:
            query = query.where(Fan.id > after)
        result = await self.session.execute(query.order_by(Fan.id).limit(limit))
        return list(result.scalars())

    async def stream_contacts(self, link_id: UUID, *, batch: int = 500) -> AsyncIterator[Fan]:
        after: UUID | None = None
        while True:
            fans = await self.contacts(link_id, after=after, limit=batch)
            for fan in fans:
                yield fan
            if len(fans) < batch:
                return
            after = fans[-1].id

    # -- OAuth attempts and magic links -------------------------------------------------

    async def attempt(self, attempt_id: UUID) -> OAuthAttempt | None:
        return await self.session.get(OAuthAttempt, attempt_id)

    async def reload(self, row: object) -> None:
        """Read ``row`` again: after a conditional update changed it in the database."""
        await self.session.refresh(row)

    async def attempt_by_state(self, state_hash: str) -> OAuthAttempt | None:
        result = await self.session.execute(
            select(OAuthAttempt).where(OAuthAttempt.state_hash == state_hash)
        )
        return result.scalars().first()

    async def claim_attempt(self, attempt_id: UUID, now: datetime) -> bool:
        """Mark an attempt completed unless it already was; True if this call claimed it."""
        result = await self.session.execute(
            update(OAuthAttempt)
            .where(OAuthAttempt.id == attempt_id, OAuthAttempt.completed_at.is_(None))
            .values(completed_at=now)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def attempt_counts(self, link_id: UUID) -> dict[str, int]:
        result = await self.session.execute(
            select(OAuthAttempt.outcome, func.count())
            .where(OAuthAttempt.link_id == link_id)
            .group_by(OAuthAttempt.outcome)
        )
        return {key or "started": int(n) for key, n in result.all()}

    async def magic_link(self, token_hash_value: str) -> MagicLink | None:
        result = await self.session.execute(
            select(MagicLink).where(MagicLink.token_hash == token_hash_value)
        )
        return result.scalars().first()

    async def magic_link_by_id(self, workspace_id: UUID, magic_id: UUID) -> MagicLink | None:
        result = await self.session.execute(
            in_workspace(MagicLink, workspace_id).where(MagicLink.id == magic_id)
        )
        return result.scalars().first()

    # -- pending contacts (typed addresses waiting for their confirmation) -----------------

    async def pending_contact(self, token_hash_value: str) -> PendingContact | None:
        result = await self.session.execute(
            select(PendingContact).where(PendingContact.token_hash == token_hash_value)
        )
        return result.scalars().first()

    async def pending_contact_by_id(
        self, workspace_id: UUID, contact_id: UUID
    ) -> PendingContact | None:
        result = await self.session.execute(
            in_workspace(PendingContact, workspace_id).where(PendingContact.id == contact_id)
        )
        return result.scalars().first()

    async def claim_pending_contact(self, contact_id: UUID, now: datetime) -> bool:
        """Mark it confirmed unless it already was; True if this call confirmed it."""
        result = await self.session.execute(
            update(PendingContact)
            .where(PendingContact.id == contact_id, PendingContact.confirmed_at.is_(None))
            .values(confirmed_at=now)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def pending_contacts_for(self, workspace_id: UUID, email: str) -> list[PendingContact]:
        result = await self.session.execute(
            in_workspace(PendingContact, workspace_id)
            .where(PendingContact.email == email)
            .order_by(PendingContact.id)
        )
        return list(result.scalars())

    async def delete_pending_contacts(self, workspace_id: UUID, email: str) -> int:
        result = await self.session.execute(
            delete_in_workspace(PendingContact, workspace_id).where(PendingContact.email == email)
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount)

    async def delete_unused_magic_links(self, workspace_id: UUID, email: str) -> int:
        """Magic links sent to ``email`` and never used (a used one belongs to its fan)."""
        result = await self.session.execute(
            delete_in_workspace(MagicLink, workspace_id).where(
                MagicLink.email == email, MagicLink.fan_id.is_(None)
            )
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount)

    async def purge_unconfirmed_contacts(self, before: datetime) -> None:
        """Forget addresses nobody confirmed (their link expired before ``before``)."""
        await self.session.execute(
            delete(PendingContact).where(
                PendingContact.confirmed_at.is_(None), PendingContact.expires_at < before
            )
        )

    async def delete_fan(self, fan: Fan) -> None:
        await self.session.delete(fan)
        await self.session.flush()

    async def link_location(self, link_id: UUID) -> tuple[str, str] | None:
        row = (
            await self.session.execute(select(Link.host, Link.slug).where(Link.id == link_id))
        ).first()
        return (str(row[0] or ""), str(row[1])) if row is not None else None


# == Re-planning when a release moves (presave/replan.py) ====================================
# Kept apart from the rest of the pre-save SQL: these statements also touch fulfilment's
# queue, because a pre-save that is due but not started goes back to waiting.

REPLANNED_STATES = (PresaveState.waiting, PresaveState.due, PresaveState.resolving)
"""States a re-plan may move: nothing has been saved yet. ``executing`` and final are not."""

ReplanGroup = tuple[UUID, str | None, str | None]
"""(link, the pre-save's country, the fan's chosen zone): the inputs of a fan's instant."""


@dataclass(frozen=True)
class UnstartedJob:
    """An open job no worker holds and that has recorded no action: still movable."""

    job_id: UUID
    presave_id: UUID
    group: ReplanGroup
    waiting_for: str | None


@dataclass(frozen=True)
class ReplannedPresave:
    job_id: UUID
    presave_id: UUID
    due_at: datetime
    time_zone: str


class ReplanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def campaigns(self, link_ids: Sequence[UUID]) -> dict[UUID, Campaign]:
        if not link_ids:
            return {}
        result = await self.session.execute(
            select(Campaign).where(Campaign.link_id.in_(list(link_ids)))
        )
        return {campaign.link_id: campaign for campaign in result.scalars()}

    async def groups(self, release_id: UUID) -> list[ReplanGroup]:
        result = await self.session.execute(
            select(Presave.link_id, Presave.country, Fan.time_zone)
            .join(Fan, Fan.id == Presave.fan_id)
            .where(Presave.release_id == release_id, Presave.state.in_(REPLANNED_STATES))
            .distinct()
        )
        return [(row[0], row[1], row[2]) for row in result.all()]

    async def move_waiting(
        self,
        release_id: UUID,
        group: ReplanGroup,
        *,
        due_at: datetime,
        time_zone: str,
        now: datetime,
    ) -> int:
        """New instant and zone for the group's waiting pre-saves; how many changed.

        Set-based, one statement per group: a release with a million fans has a few
        hundred groups (links x countries x chosen zones), not a million updates.
        """
        link_id, country, zone = group
        same_zone = Fan.time_zone.is_(None) if zone is None else Fan.time_zone == zone
        result = await self.session.execute(
            update(Presave)
            .where(
                Presave.release_id == release_id,
                Presave.link_id == link_id,
                Presave.state == PresaveState.waiting,
                Presave.country.is_(None) if country is None else Presave.country == country,
                exists().where(Fan.id == Presave.fan_id, same_zone),
                (Presave.due_at != due_at) | (Presave.time_zone != time_zone),
            )
            .values(due_at=due_at, time_zone=time_zone, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount or 0)

    async def unstarted_jobs(self, release_id: UUID, now: datetime) -> list[UnstartedJob]:
        """Open jobs of the release that no worker holds and that recorded no action yet.

        Locked with ``SKIP LOCKED``: a job a worker is claiming this very moment is the
        worker's, and this re-plan never waits on a worker (which could wait on it).
        """
        job = FulfilmentJob
        rows = (
            await self.session.execute(
                select(
                    job.id,
                    job.presave_id,
                    Presave.link_id,
                    Presave.country,
                    Fan.time_zone,
                    job.waiting_for,
                )
                .join(Presave, Presave.id == job.presave_id)
                .join(Fan, Fan.id == Presave.fan_id)
                .where(
                    job.release_id == release_id,
                    job.open.is_(True),
                    job.lease_owner.is_(None) | (job.next_attempt_at <= now),
                    Presave.state.in_((PresaveState.due, PresaveState.resolving)),
                    ~exists().where(FulfilmentAction.presave_id == job.presave_id),
                )
                .with_for_update(of=job, skip_locked=True)
            )
        ).all()
        return [UnstartedJob(row[0], row[1], (row[2], row[3], row[4]), row[5]) for row in rows]

    async def back_to_waiting(
        self, moved: Sequence[ReplannedPresave], *, now: datetime, reason: str
    ) -> None:
        """Due pre-saves whose new instant is ahead: their jobs go, they wait again."""
        if not moved:
            return
        connection = await self.session.connection()
        await connection.execute(
            delete(FulfilmentJob).where(FulfilmentJob.id.in_([m.job_id for m in moved]))
        )
        await self._replan_due(moved, now, state=PresaveState.waiting)
        await connection.execute(
            insert(PresaveEvent),
            [
                {
                    "id": uuid7(),
                    "presave_id": m.presave_id,
                    "state": PresaveState.waiting,
                    "reason": reason[:500],
                    "at": now,
                }
                for m in moved
            ],
        )

    async def keep_due(self, moved: Sequence[ReplannedPresave], *, now: datetime) -> None:
        """Due pre-saves whose new instant has passed too: they stay queued, with the new
        instant, and a job waiting for the release to appear looks again now."""
        if not moved:
            return
        await self._replan_due(moved, now)
        await self.session.execute(
            update(FulfilmentJob)
            .where(
                FulfilmentJob.id.in_([m.job_id for m in moved]),
                FulfilmentJob.waiting_for == "release_not_live",
                FulfilmentJob.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
        )

    async def _replan_due(
        self, moved: Sequence[ReplannedPresave], now: datetime, **values: Any
    ) -> None:
        connection = await self.session.connection()
        await connection.execute(
            update(Presave)
            .where(
                Presave.id == bindparam("moved_id"),
                # Not IN (...): an executemany takes no expanding parameters.
                (Presave.state == PresaveState.due) | (Presave.state == PresaveState.resolving),
            )
            .values(
                due_at=bindparam("new_due_at"),
                time_zone=bindparam("new_time_zone"),
                updated_at=now,
                **values,
            ),
            [
                {"moved_id": m.presave_id, "new_due_at": m.due_at, "new_time_zone": m.time_zone}
                for m in moved
            ],
        )

    async def forget_unfound_resolutions(self, release_id: UUID) -> int:
        """Drop "not there yet" answers: their poll schedule (and the give-up deadline
        counted from the first poll) belonged to the old date."""
        result = await self.session.execute(
            delete(ReleaseResolution).where(
                ReleaseResolution.release_id == release_id,
                ReleaseResolution.found.is_(False),
            )
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount or 0)

    async def releases_with_movable_presaves(self) -> list[UUID]:
        result = await self.session.execute(
            select(Presave.release_id).where(Presave.state.in_(REPLANNED_STATES)).distinct()
        )
        return [row[0] for row in result.all()]
