from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from launchlink.kit.repository import WorkspaceScoped
from launchlink.models import Artist, Release, ReleaseArtist


class ArtistRepository(WorkspaceScoped[Artist]):
    model = Artist

    async def get_by_name(self, workspace_id: UUID, name: str) -> Artist | None:
        result = await self.session.execute(self.scoped(workspace_id).where(Artist.name == name))
        return result.scalars().first()

    async def is_credited(self, artist_id: UUID) -> bool:
        result = await self.session.execute(
            select(ReleaseArtist.release_id).where(ReleaseArtist.artist_id == artist_id).limit(1)
        )
        return result.first() is not None


class ReleaseRepository(WorkspaceScoped[Release]):
    model = Release

    async def get_by_title(self, workspace_id: UUID, title: str) -> Release | None:
        result = await self.session.execute(self.scoped(workspace_id).where(Release.title == title))
        return result.scalars().first()
