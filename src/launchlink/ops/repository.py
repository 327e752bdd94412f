"""The queries behind /readyz, /metrics and the doctor (all their SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.models.accounts import Workspace
from launchlink.models.analytics import AnalyticsInbox
from launchlink.models.fulfilment import FulfilmentJob
from launchlink.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent


@dataclass(frozen=True)
class WorkspaceRow:
    id: str
    name: str
    kind: str
    created_at: datetime
    links: int


class OpsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ping(self) -> None:
        await self.session.execute(text("SELECT 1"))

    async def migration_revisions(self) -> set[str]:
        """The revisions the database is at (empty: never migrated)."""
        try:
            async with self.session.begin_nested():
                rows = await self.session.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return set()
        return {str(row[0]) for row in rows}

    async def fulfilment_depths(self, now: datetime) -> dict[tuple[str, str], int]:
        """(service, due | scheduled | leased) → open jobs. ``leased`` jobs carry their
        lease expiry in ``next_attempt_at``; others are due once it has passed."""
        j = FulfilmentJob
        status = case(
            (j.lease_owner.is_not(None) & (j.next_attempt_at > now), "leased"),
            (j.next_attempt_at <= now, "due"),
            else_="scheduled",
        )
        rows = await self.session.execute(
            select(j.service, status, func.count())
            .where(j.open.is_(True))
            .group_by(j.service, status)
        )
        return {(str(row[0]), str(row[1])): int(row[2]) for row in rows}

    async def outbox_depths(self) -> dict[str, int]:
        """Subscriber → deliveries not yet handled (waiting, leased or backing off)."""
        d = OutboxDelivery
        rows = await self.session.execute(
            select(d.subscriber, func.count())
            .where(d.state == DeliveryState.pending)
            .group_by(d.subscriber)
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def outbox_oldest_waiting(self, now: datetime) -> datetime | None:
        """When the oldest event still waiting to be fanned out, or with a due delivery,
        occurred (deliveries backing off after a failure are not lag: they wait on purpose)."""
        e, d = OutboxEvent, OutboxDelivery
        unfanned = await self.session.scalar(
            select(func.min(e.occurred_at)).where(e.fanned_out_at.is_(None))
        )
        due = await self.session.scalar(
            select(func.min(e.occurred_at))
            .select_from(d)
            .join(e, e.seq == d.event_seq)
            .where(
                d.state == DeliveryState.pending,
                d.attempts == 0,
                d.lease_owner.is_(None),
                d.next_attempt_at <= now,
            )
        )
        found = [value for value in (unfanned, due) if value is not None]
        return min(found) if found else None

    async def analytics_inbox_backlog(self) -> tuple[int, int, datetime | None]:
        """(rows, events, oldest row's creation) waiting in ``analytics_inbox``: web
        processes' flushes that no worker has enriched and stored yet."""
        i = AnalyticsInbox
        row = (
            await self.session.execute(
                select(func.count(), func.coalesce(func.sum(i.events), 0), func.min(i.created_at))
            )
        ).one()
        return int(row[0]), int(row[1]), row[2]

    async def workspaces(self) -> list[WorkspaceRow]:
        from launchlink.models.links import Link

        links = (
            select(Link.workspace_id, func.count().label("links"))
            .group_by(Link.workspace_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(
                Workspace.id,
                Workspace.name,
                Workspace.kind,
                Workspace.created_at,
                func.coalesce(links.c.links, 0),
            )
            .outerjoin(links, links.c.workspace_id == Workspace.id)
            .order_by(Workspace.name)
        )
        return [
            WorkspaceRow(
                id=str(row[0]),
                name=row[1],
                kind=str(getattr(row[2], "value", row[2])),
                created_at=row[3],
                links=int(row[4]),
            )
            for row in rows
        ]

    async def link_keys(self) -> list[tuple[str, str]]:
        """(host, slug) of every link, platform host (``""``) first."""
        from launchlink.models.links import Link

        rows = await self.session.execute(
            select(Link.host, Link.slug).order_by(Link.host, Link.slug)
        )
        return [(str(row[0]), str(row[1])) for row in rows]
