"""All SQL of the pre-save domain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.models import (
    Artist,
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
    Reminder,
    ServiceGrant,
    WorkspaceServiceMode,
)
from launchlink.models.presave import (
    FINAL_PRESAVE_STATES,
    ConsentKind,
    PendingContact,
    ReminderChannel,
    ReminderState,
    ServiceMode,
)


@dataclass(frozen=True)
class DueReminder:
    """An email reminder claimed for sending, with what the message needs."""

    reminder_id: UUID
    fan_id: UUID
    link_id: UUID
    email: str
    language: str
    service: str | None


class PresaveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    # -- links and campaigns ------------------------------------------------------------

    async def link(self, workspace_id: UUID, link_id: UUID) -> Link | None:
        result = await self.session.execute(
            select(Link).where(Link.id == link_id, Link.workspace_id == workspace_id)
        )
        return result.scalars().first()

    async def link_with_release(self, link_id: UUID) -> tuple[Link, Release] | None:
        result = await self.session.execute(
            select(Link, Release)
            .join(Release, Release.id == Link.release_id)
            .where(Link.id == link_id)
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def campaign(self, link_id: UUID) -> Campaign | None:
        return await self.session.get(Campaign, link_id)

    async def delete_campaign(self, campaign: Campaign) -> None:
        await self.session.delete(campaign)
        await self.session.flush()

    async def workspace_modes(self, workspace_id: UUID) -> dict[str, ServiceMode]:
        result = await self.session.execute(
            select(WorkspaceServiceMode).where(WorkspaceServiceMode.workspace_id == workspace_id)
        )
        return {row.service: row.mode for row in result.scalars()}

    async def replace_workspace_modes(
        self, workspace_id: UUID, modes: dict[str, ServiceMode]
    ) -> None:
        await self.session.execute(
            delete(WorkspaceServiceMode).where(WorkspaceServiceMode.workspace_id == workspace_id)
        )
        self.session.add_all(
            WorkspaceServiceMode(workspace_id=workspace_id, service=service, mode=mode)
            for service, mode in modes.items()
        )
        await self.session.flush()

    async def artists(self, workspace_id: UUID, artist_ids: Sequence[UUID]) -> list[Artist]:
        if not artist_ids:
            return []
        result = await self.session.execute(
            select(Artist).where(Artist.workspace_id == workspace_id, Artist.id.in_(artist_ids))
        )
        return list(result.scalars())

    # -- consent texts ------------------------------------------------------------------

    async def consent_text(self, text_id: UUID) -> ConsentText | None:
        return await self.session.get(ConsentText, text_id)

    async def consent_texts(self, workspace_id: UUID, kind: ConsentKind) -> list[ConsentText]:
        result = await self.session.execute(
            select(ConsentText)
            .where(ConsentText.workspace_id == workspace_id, ConsentText.kind == kind)
            .order_by(ConsentText.version)
        )
        return list(result.scalars())

    # -- fans and grants ----------------------------------------------------------------

    async def fan(self, workspace_id: UUID, fan_id: UUID) -> Fan | None:
        result = await self.session.execute(
            select(Fan).where(Fan.id == fan_id, Fan.workspace_id == workspace_id)
        )
        return result.scalars().first()

    async def fan_by_email(self, workspace_id: UUID, email: str) -> Fan | None:
        """The fan who proved ``email`` (only proven addresses are in ``fan.email``)."""
        result = await self.session.execute(
            select(Fan).where(Fan.workspace_id == workspace_id, Fan.email == email)
        )
        return result.scalars().first()

    async def fan_of_browser(self, workspace_id: UUID, browser_hash: str) -> Fan | None:
        """The fan of the newest pre-save this browser made in the workspace."""
        result = await self.session.execute(
            select(Fan)
            .join(Presave, Presave.fan_id == Fan.id)
            .where(
                Presave.workspace_id == workspace_id,
                Presave.browser_hash == browser_hash,
                Fan.workspace_id == workspace_id,
            )
            .order_by(Presave.id.desc())
            .limit(1)
        )
        return result.scalars().first()

    async def grant(self, workspace_id: UUID, service: str, account_id: str) -> ServiceGrant | None:
        result = await self.session.execute(
            select(ServiceGrant).where(
                ServiceGrant.workspace_id == workspace_id,
                ServiceGrant.service == service,
                ServiceGrant.account_id == account_id,
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

    async def count_active_accounts(self, service: str) -> int:
        """Distinct accounts holding a live grant on ``service``, across every workspace.

        Spotify's development-mode user limit is per app (client id), and one instance uses
        one app for all its workspaces; a fan pre-saving for two workspaces is one user.
        """
        result = await self.session.execute(
            select(func.count(func.distinct(ServiceGrant.account_id))).where(
                ServiceGrant.service == service,
                ServiceGrant.revoked_at.is_(None),
            )
        )
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

    # -- consents, reminders ------------------------------------------------------------

    async def consents_of_fan(self, fan_id: UUID) -> list[ConsentRecord]:
        result = await self.session.execute(
            select(ConsentRecord).where(ConsentRecord.fan_id == fan_id).order_by(ConsentRecord.id)
        )
        return list(result.scalars())

    async def reminders_of_fan(self, fan_id: UUID) -> list[Reminder]:
        result = await self.session.execute(
            select(Reminder).where(Reminder.fan_id == fan_id).order_by(Reminder.id)
        )
        return list(result.scalars())

    async def pending_reminders(
        self,
        *,
        fan_id: UUID,
        link_id: UUID | None = None,
        presave_ids: Sequence[UUID] | None = None,
    ) -> list[Reminder]:
        query = select(Reminder).where(
            Reminder.fan_id == fan_id, Reminder.state == ReminderState.pending
        )
        if link_id is not None:
            query = query.where(Reminder.link_id == link_id)
        if presave_ids is not None:
            query = query.where(Reminder.presave_id.in_(presave_ids))
        result = await self.session.execute(query)
        return list(result.scalars())

    async def due_email_reminders(self, now: datetime, *, limit: int) -> list[Reminder]:
        result = await self.session.execute(
            select(Reminder)
            .where(
                Reminder.state == ReminderState.pending,
                Reminder.channel == "email",
                Reminder.send_at <= now,
            )
            .order_by(Reminder.send_at)
            .limit(limit)
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
            select(MagicLink).where(
                MagicLink.id == magic_id, MagicLink.workspace_id == workspace_id
            )
        )
        return result.scalars().first()

    # -- pending contacts (typed addresses waiting for their confirmation) -----------------

    async def pending_contact(self, token_hash_value: str) -> PendingContact | None:
        result = await self.session.execute(
            select(PendingContact).where(PendingContact.token_hash == token_hash_value)
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
            select(PendingContact)
            .where(PendingContact.workspace_id == workspace_id, PendingContact.email == email)
            .order_by(PendingContact.id)
        )
        return list(result.scalars())

    async def delete_pending_contacts(self, workspace_id: UUID, email: str) -> int:
        result = await self.session.execute(
            delete(PendingContact).where(
                PendingContact.workspace_id == workspace_id, PendingContact.email == email
            )
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount)

    async def delete_unused_magic_links(self, workspace_id: UUID, email: str) -> int:
        """Magic links sent to ``email`` and never used (a used one belongs to its fan)."""
        result = await self.session.execute(
            delete(MagicLink).where(
                MagicLink.workspace_id == workspace_id,
                MagicLink.email == email,
                MagicLink.fan_id.is_(None),
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

    # -- release-day reminders ---------------------------------------------------------------

    async def claim_due_email_reminders(self, now: datetime, *, limit: int) -> list[DueReminder]:
        """Mark up to ``limit`` due email reminders sent and return what to send.

        The caller commits before sending; ``SKIP LOCKED`` lets PostgreSQL workers share
        the work (SQLite serialises writers with ``BEGIN IMMEDIATE`` instead).
        """
        rows = (
            await self.session.execute(
                select(Reminder.id, Reminder.fan_id, Reminder.link_id, Reminder.service,
                       Fan.email, Fan.language)
                .join(Fan, Fan.id == Reminder.fan_id)
                .where(
                    Reminder.state == ReminderState.pending,
                    Reminder.channel == ReminderChannel.email,
                    Reminder.send_at <= now,
                    Fan.email.is_not(None),
                    Fan.deleted_at.is_(None),
                )
                .order_by(Reminder.send_at)
                .limit(limit)
                .with_for_update(of=Reminder, skip_locked=True)
            )
        ).all()  # fmt: skip
        if not rows:
            return []
        await self.session.execute(
            update(Reminder)
            .where(Reminder.id.in_([row[0] for row in rows]))
            .values(state=ReminderState.sent, sent_at=now, last_error=None)
        )
        return [
            DueReminder(
                reminder_id=row[0],
                fan_id=row[1],
                link_id=row[2],
                service=row[3],
                email=str(row[4]),
                language=row[5] or "en",
            )
            for row in rows
        ]

    async def release_reminder(self, reminder_id: UUID, *, error: str) -> None:
        await self.session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id)
            .values(state=ReminderState.pending, sent_at=None, last_error=error[:500])
        )

    async def link_location(self, link_id: UUID) -> tuple[str, str]:
        row = (
            await self.session.execute(select(Link.host, Link.slug).where(Link.id == link_id))
        ).one()
        return str(row[0]), str(row[1])
