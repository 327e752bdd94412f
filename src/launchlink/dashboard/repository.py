"""The dashboard's read queries (lists shown on its pages)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.models import Fan, Link, Presave, Release


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def campaigns(self, workspace_id: UUID, *, limit: int) -> list[tuple[Link, Release]]:
        result = await self.session.execute(
            select(Link, Release)
            .join(Release, Release.id == Link.release_id)
            .where(Link.workspace_id == workspace_id)
            .order_by(Link.created_at.desc(), Link.id.desc())
            .limit(limit)
        )
        return [(row[0], row[1]) for row in result]

    async def presave_counts(self, link_ids: list[UUID]) -> dict[UUID, int]:
        if not link_ids:
            return {}
        result = await self.session.execute(
            select(Presave.link_id, func.count(Presave.id))
            .where(Presave.link_id.in_(link_ids))
            .group_by(Presave.link_id)
        )
        return {row[0]: int(row[1]) for row in result}

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
