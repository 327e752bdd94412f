"""The dashboard's read queries (lists shown on its pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.connectors.base import SERVICES
from launchlink.models import (
    Announcement,
    ConsentRecord,
    ConsentText,
    Fan,
    Link,
    Message,
    Presave,
    Release,
)
from launchlink.models.presave import ANY_SERVICE, PendingContact

PRESAVE_SERVICES = (*SERVICES, ANY_SERVICE)
"""Every value ``presave.service`` takes: a connector's service, or a reminder-only one."""

Consent = Literal["", "any", "email", "sms", "reminder", "none"]
"""``any``/``email``/``sms``: marketing consent; ``reminder``: a release's reminders only
(no marketing); ``none``: neither."""


@dataclass(frozen=True)
class FanFilter:
    """What the fans page narrows the list to (every part optional)."""

    search: str = ""
    """Part of the fan's proven address."""
    consent: Consent = ""
    link_id: UUID | None = None
    """Fans of one campaign: a pre-save on it, or an address confirmed from it."""
    service: str = ""
    """Fans who pre-saved on this service."""


@dataclass(frozen=True)
class Provenance:
    """One consent as recorded: what, where, under which text, when."""

    fan_id: UUID
    kind: str
    service: str | None
    granted: bool
    text_version: int | None
    text_language: str | None
    campaign: str | None
    ip_hash: str | None
    at: datetime


@dataclass(frozen=True)
class CampaignRow:
    """One line of the campaigns list."""

    link_id: UUID
    host: str
    slug: str
    created_at: datetime
    title: str
    release_instant: datetime | None
    release_date: date | None
    artwork_url: str | None


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def campaigns(self, workspace_id: UUID, *, limit: int) -> list[CampaignRow]:
        """The newest campaigns as the list shows them: columns, not a link and a release
        entity each, which loaded every release's artists, tracks and the link's
        destinations (selectin relationships) — most of the list page's time."""
        result = await self.session.execute(
            select(
                Link.id,
                Link.host,
                Link.slug,
                Link.created_at,
                Release.title,
                Release.release_instant,
                Release.release_date,
                Release.artwork_url,
            )
            .join(Release, Release.id == Link.release_id)
            .where(Link.workspace_id == workspace_id)
            .order_by(Link.created_at.desc(), Link.id.desc())
            .limit(limit)
        )
        return [CampaignRow(*row) for row in result]

    async def campaign_choices(
        self, workspace_id: UUID, *, limit: int
    ) -> list[tuple[UUID, str, str]]:
        """(link id, release title, slug) of the newest campaigns, for a picker: three
        columns, not two entities and their relationships per campaign."""
        result = await self.session.execute(
            select(Link.id, Release.title, Link.slug)
            .join(Release, Release.id == Link.release_id)
            .where(Link.workspace_id == workspace_id)
            .order_by(Link.created_at.desc(), Link.id.desc())
            .limit(limit)
        )
        return [(row[0], str(row[1]), str(row[2])) for row in result]

    async def presave_counts(self, link_ids: list[UUID]) -> dict[UUID, int]:
        if not link_ids:
            return {}
        result = await self.session.execute(
            select(Presave.link_id, func.count(Presave.id))
            .where(Presave.link_id.in_(link_ids))
            .group_by(Presave.link_id)
        )
        return {row[0]: int(row[1]) for row in result}

    async def presave_states(self, link_id: UUID) -> dict[str, int]:
        result = await self.session.execute(
            select(Presave.state, func.count(Presave.id))
            .where(Presave.link_id == link_id)
            .group_by(Presave.state)
        )
        return {str(row[0]): int(row[1]) for row in result}

    async def fan_count(self, workspace_id: UUID) -> int:
        result = await self.session.execute(
            select(func.count(Fan.id)).where(Fan.workspace_id == workspace_id)
        )
        return int(result.scalar_one())

    async def campaign_for_upc(self, workspace_id: UUID, upc: str) -> tuple[Link, Release] | None:
        result = await self.session.execute(
            select(Link, Release)
            .join(Release, Release.id == Link.release_id)
            .where(Release.workspace_id == workspace_id, Release.upc == upc)
            .order_by(Link.created_at)
            .limit(1)
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    def _fans(self, workspace_id: UUID, wanted: FanFilter) -> Select[Any]:
        query = select(Fan).where(Fan.workspace_id == workspace_id, Fan.deleted_at.is_(None))
        if wanted.search:
            query = query.where(Fan.email.contains(wanted.search.lower(), autoescape=True))
        if wanted.consent == "any":
            query = query.where(Fan.email_consent_at.is_not(None) | Fan.sms_consent_at.is_not(None))
        elif wanted.consent == "email":
            query = query.where(Fan.email_consent_at.is_not(None))
        elif wanted.consent == "sms":
            query = query.where(Fan.sms_consent_at.is_not(None))
        elif wanted.consent in ("reminder", "none"):
            reminded = select(Presave.fan_id).where(
                Presave.workspace_id == workspace_id,
                Presave.email_reminder_at.is_not(None) | Presave.sms_reminder_at.is_not(None),
            )
            query = query.where(
                Fan.email_consent_at.is_(None),
                Fan.sms_consent_at.is_(None),
                Fan.id.in_(reminded) if wanted.consent == "reminder" else Fan.id.not_in(reminded),
            )
        if wanted.link_id is not None or wanted.service:
            presaved = select(Presave.fan_id).where(Presave.workspace_id == workspace_id)
            if wanted.link_id is not None:
                presaved = presaved.where(Presave.link_id == wanted.link_id)
            if wanted.service:
                presaved = presaved.where(Presave.service == wanted.service)
            condition: ColumnElement[bool] = Fan.id.in_(presaved)
            if wanted.link_id is not None and not wanted.service:
                confirmed = select(PendingContact.confirmed_fan_id).where(
                    PendingContact.link_id == wanted.link_id,
                    PendingContact.confirmed_fan_id.is_not(None),
                )
                condition = condition | Fan.id.in_(confirmed)
            query = query.where(condition)
        return query

    async def fans(
        self, workspace_id: UUID, wanted: FanFilter, *, before: UUID | None, limit: int
    ) -> list[Fan]:
        """Newest first (ids are uuid7), a page at a time below ``before``."""
        query = self._fans(workspace_id, wanted)
        if before is not None:
            query = query.where(Fan.id < before)
        result = await self.session.execute(query.order_by(Fan.id.desc()).limit(limit))
        return list(result.scalars())

    async def stream_consenting(
        self, workspace_id: UUID, wanted: FanFilter, *, batch: int = 500
    ) -> AsyncIterator[Fan]:
        """The filtered fans who consented to email or SMS, in id order, batch by batch."""
        consenting = FanFilter(wanted.search, "any", wanted.link_id, wanted.service)
        # "reminder" passes through: those fans have no marketing consent, so the CSV
        # (written under marketing consent only) comes out empty rather than widened.
        if wanted.consent in ("email", "sms", "reminder"):
            consenting = FanFilter(wanted.search, wanted.consent, wanted.link_id, wanted.service)
        after: UUID | None = None
        while True:
            query = self._fans(workspace_id, consenting)
            if after is not None:
                query = query.where(Fan.id > after)
            found = list(
                (await self.session.execute(query.order_by(Fan.id).limit(batch))).scalars()
            )
            for fan in found:
                yield fan
            if len(found) < batch:
                return
            after = found[-1].id

    async def presaves_of(
        self, fan_ids: Sequence[UUID]
    ) -> dict[UUID, list[tuple[str, str, str, str]]]:
        """Per fan: (service, state, campaign slug, reminder-only channels: "", "email",
        "SMS" or "email + SMS") of each pre-save."""
        if not fan_ids:
            return {}
        result = await self.session.execute(
            select(
                Presave.fan_id, Presave.service, Presave.state, Link.slug,
                Presave.email_reminder_at, Presave.sms_reminder_at,
            )
            .join(Link, Link.id == Presave.link_id)
            .where(Presave.fan_id.in_(fan_ids))
            .order_by(Presave.created_at)
        )  # fmt: skip
        out: dict[UUID, list[tuple[str, str, str, str]]] = {}
        for fan_id, service, state, slug, email_at, sms_at in result:
            reminder = " + ".join(
                name for name, at in (("email", email_at), ("SMS", sms_at)) if at is not None
            )
            out.setdefault(fan_id, []).append((service, str(state), slug, reminder))
        return out

    async def provenance_of(self, fan_ids: Sequence[UUID]) -> dict[UUID, list[Provenance]]:
        """Per fan: every consent record, with the text's version and the campaign."""
        if not fan_ids:
            return {}
        result = await self.session.execute(
            select(ConsentRecord, ConsentText.version, ConsentText.language, Link.slug)
            .outerjoin(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
            .outerjoin(Presave, Presave.id == ConsentRecord.presave_id)
            .outerjoin(Link, Link.id == Presave.link_id)
            .where(ConsentRecord.fan_id.in_(fan_ids))
            .order_by(ConsentRecord.at)
        )
        out: dict[UUID, list[Provenance]] = {}
        for record, version, language, slug in result:
            out.setdefault(record.fan_id, []).append(
                Provenance(
                    fan_id=record.fan_id,
                    kind=str(record.kind),
                    service=record.service,
                    granted=record.granted,
                    text_version=version,
                    text_language=language,
                    campaign=slug,
                    ip_hash=record.ip_hash,
                    at=record.at,
                )
            )
        return out

    async def services_presaved(self, workspace_id: UUID) -> list[str]:
        """The services the workspace's fans pre-saved on: one EXISTS probe of
        ix_presave_workspace_service per known service, not a GROUP BY over every pre-save
        of the workspace (which grew with its fans)."""
        row = (
            await self.session.execute(
                select(
                    *(
                        exists()
                        .where(Presave.workspace_id == workspace_id, Presave.service == service)
                        .label(service)
                        for service in PRESAVE_SERVICES
                    )
                )
            )
        ).one()
        return sorted(
            service for service, found in zip(PRESAVE_SERVICES, row, strict=True) if found
        )

    # -- messaging pages -------------------------------------------------------------------

    async def message_tallies(
        self,
        workspace_id: UUID,
        *,
        announcement_id: UUID | None = None,
        release_id: UUID | None = None,
    ) -> list[MessageTally]:
        """Messages by channel, kind, state, bounce and whether a wait was imposed on them
        (quiet hours, a pause), for one announcement or one release."""
        m = Message
        query = select(
            m.channel, m.kind, m.state, m.bounce, m.deferred.is_not(None), func.count()
        ).where(m.workspace_id == workspace_id)
        if announcement_id is not None:
            query = query.where(m.announcement_id == announcement_id)
        if release_id is not None:
            query = query.where(m.release_id == release_id)
        rows = await self.session.execute(
            query.group_by(m.channel, m.kind, m.state, m.bounce, m.deferred.is_not(None))
        )
        return [
            MessageTally(
                channel=str(r[0]),
                kind=str(r[1]),
                state=str(r[2]),
                bounce=r[3],
                deferred=bool(r[4]),
                count=int(r[5]),
            )
            for r in rows
        ]

    async def tallies_by_announcement(
        self, workspace_id: UUID, announcement_ids: Sequence[UUID]
    ) -> dict[UUID, list[MessageTally]]:
        """:meth:`message_tallies` of several announcements in one query (a list page)."""
        if not announcement_ids:
            return {}
        m = Message
        rows = await self.session.execute(
            select(
                m.announcement_id, m.channel, m.kind, m.state, m.bounce, m.deferred.is_not(None),
                func.count(),
            )
            .where(m.workspace_id == workspace_id, m.announcement_id.in_(announcement_ids))
            .group_by(
                m.announcement_id, m.channel, m.kind, m.state, m.bounce, m.deferred.is_not(None)
            )
        )  # fmt: skip
        found: dict[UUID, list[MessageTally]] = {}
        for r in rows:
            if r[0] is None:
                continue  # not possible under the filter; keeps the key's type honest
            found.setdefault(r[0], []).append(
                MessageTally(
                    channel=str(r[1]), kind=str(r[2]), state=str(r[3]), bounce=r[4],
                    deferred=bool(r[5]), count=int(r[6]),
                )
            )  # fmt: skip
        return found

    async def planned_instants(self, release_id: UUID) -> list[PlannedInstant]:
        """The release's messages by kind, channel and the time zone of their pre-save,
        with the planned instant (earliest, latest) and how many of them are in each
        state."""
        m, p = Message, Presave
        zone = func.coalesce(p.time_zone, "")
        rows = await self.session.execute(
            select(
                m.kind, m.channel, zone, m.state, func.min(m.send_at), func.max(m.send_at),
                func.count(),
            )
            .select_from(m)
            .outerjoin(p, p.id == m.presave_id)
            .where(m.release_id == release_id)
            .group_by(m.kind, m.channel, zone, m.state)
        )  # fmt: skip
        return [
            PlannedInstant(
                kind=str(r[0]),
                channel=str(r[1]),
                time_zone=str(r[2]) or None,
                state=str(r[3]),
                first=r[4],
                last=r[5],
                count=int(r[6]),
            )
            for r in rows
        ]

    async def announcements(self, workspace_id: UUID, *, limit: int) -> list[Announcement]:
        result = await self.session.execute(
            select(Announcement)
            .where(Announcement.workspace_id == workspace_id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(limit)
        )
        return list(result.scalars())


@dataclass(frozen=True)
class MessageTally:
    channel: str
    kind: str
    state: str
    bounce: str | None
    deferred: bool
    """A wait was put on it (quiet hours in the fan's zone, or the workspace's pause)."""
    count: int


@dataclass(frozen=True)
class PlannedInstant:
    kind: str
    channel: str
    time_zone: str | None
    state: str
    first: datetime
    last: datetime
    count: int
