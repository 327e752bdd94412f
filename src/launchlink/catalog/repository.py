from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.models import Artist, Release, ReleaseArtist


class ArtistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, workspace_id: UUID, artist_id: UUID) -> Artist | None:
        result = await self.session.execute(
            select(Artist).where(Artist.id == artist_id, Artist.workspace_id == workspace_id)
        )
        return result.scalars().first()

    async def get_many(self, workspace_id: UUID, artist_ids: Sequence[UUID]) -> list[Artist]:
        result = await self.session.execute(
            select(Artist).where(Artist.workspace_id == workspace_id, Artist.id.in_(artist_ids))
        )
        return list(result.scalars())

    async def get_by_name(self, workspace_id: UUID, name: str) -> Artist | None:
        result = await self.session.execute(
            select(Artist).where(Artist.workspace_id == workspace_id, Artist.name == name)
        )
        return result.scalars().first()

    async def list_page(
        self, workspace_id: UUID, *, after: UUID | None, limit: int
    ) -> list[Artist]:
        query = select(Artist).where(Artist.workspace_id == workspace_id)
        if after is not None:
            query = query.where(Artist.id > after)
        result = await self.session.execute(query.order_by(Artist.id).limit(limit + 1))
        return list(result.scalars())

    async def add(self, artist: Artist) -> Artist:
        self.session.add(artist)
        await self.session.flush()
        return artist

    async def is_credited(self, artist_id: UUID) -> bool:
        result = await self.session.execute(
            select(ReleaseArtist.release_id).where(ReleaseArtist.artist_id == artist_id).limit(1)
        )
        return result.first() is not None

    async def delete(self, artist: Artist) -> None:
        await self.session.delete(artist)
        await self.session.flush()


class ReleaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, workspace_id: UUID, release_id: UUID, *, for_update: bool = False
    ) -> Release | None:
        query = select(Release).where(
            Release.id == release_id, Release.workspace_id == workspace_id
        )
        if for_update:
            query = query.with_for_update(of=Release).execution_options(populate_existing=True)
        result = await self.session.execute(query)
        return result.scalars().first()

    async def get_by_title(self, workspace_id: UUID, title: str) -> Release | None:
        result = await self.session.execute(
            select(Release).where(Release.workspace_id == workspace_id, Release.title == title)
        )
        return result.scalars().first()

    async def list_page(
        self, workspace_id: UUID, *, after: UUID | None, limit: int
    ) -> list[Release]:
        query = select(Release).where(Release.workspace_id == workspace_id)
        if after is not None:
            query = query.where(Release.id > after)
        result = await self.session.execute(query.order_by(Release.id).limit(limit + 1))
        return list(result.scalars())

    async def add(self, release: Release) -> Release:
        self.session.add(release)
        await self.session.flush()
        return release

    async def delete(self, release: Release) -> None:
        await self.session.delete(release)
        await self.session.flush()
