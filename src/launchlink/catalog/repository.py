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

    async def by_id(self, release_id: UUID, *, for_update: bool = False) -> Release | None:
        """Instance-wide on purpose: operator commands (the CLI) and the fulfilment engine
        name a release by its id alone, never on behalf of a workspace."""
        return await self.session.get(Release, release_id, with_for_update=for_update)

    async def get_by_title(self, workspace_id: UUID, title: str) -> Release | None:
        result = await self.session.execute(self.scoped(workspace_id).where(Release.title == title))
        return result.scalars().first()
