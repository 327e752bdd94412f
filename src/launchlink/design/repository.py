"""All SQL of the design package."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.models import LinkDesign


class DesignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, workspace_id: UUID, link_id: UUID) -> LinkDesign | None:
        found = await self.session.execute(
            select(LinkDesign).where(
                LinkDesign.link_id == link_id, LinkDesign.workspace_id == workspace_id
            )
        )
        return found.scalar_one_or_none()

    async def of_link(self, link_id: UUID) -> LinkDesign | None:
        """For the public snapshot, which has already found the link by its address."""
        return await self.session.get(LinkDesign, link_id)

    async def add(self, design: LinkDesign) -> LinkDesign:
        self.session.add(design)
        await self.session.flush()
        return design
