from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import selectinload

from launchlink.kit.repository import WorkspaceScoped
from launchlink.models import (
    Campaign,
    CustomDomain,
    CustomDomainClaim,
    Link,
    LinkChange,
    Release,
    ReleaseArtist,
    Workspace,
)


class LinkRepository(WorkspaceScoped[Link]):
    model = Link

    async def base_language(self, workspace_id: UUID) -> str:
        """The workspace's language for visitors we have no translation for."""
        found = await self.session.scalar(
            select(Workspace.base_language).where(Workspace.id == workspace_id)
        )
        return found or "en"

    async def link_ids_of_workspace(self, workspace_id: UUID) -> list[UUID]:
        rows = await self.session.execute(select(Link.id).where(Link.workspace_id == workspace_id))
        return [row[0] for row in rows]

    async def reload(self, link: Link, *, only: Sequence[str] | None = None) -> None:
        """Read ``link`` (or only the ``only`` attributes) again from the database: after
        a flush, what the database computed (version, defaults) and its destinations."""
        await self.session.refresh(link, only)

    async def campaign(self, link_id: UUID) -> Campaign | None:
        """The pre-save campaign of a link already found (its snapshot is being built)."""
        return await self.session.get(Campaign, link_id)

    async def get_by_host_slug(self, host: str, slug: str) -> Link | None:
        result = await self.session.execute(
            select(Link).where(Link.host == host, Link.slug == slug)
        )
        return result.scalars().first()

    async def ids_of_release(self, release_id: UUID) -> list[UUID]:
        result = await self.session.execute(select(Link.id).where(Link.release_id == release_id))
        return list(result.scalars())

    async def ids_on_domain(self, custom_domain_id: UUID) -> list[UUID]:
        result = await self.session.execute(
            select(Link.id).where(Link.custom_domain_id == custom_domain_id)
        )
        return list(result.scalars())

    async def bump_versions(self, link_ids: Sequence[UUID]) -> None:
        await self.session.execute(
            update(Link)
            .where(Link.id.in_(link_ids))
            .values(version=Link.version + 1)
            .execution_options(synchronize_session="fetch")
        )

    async def versions(self, link_ids: Sequence[UUID]) -> list[tuple[UUID, UUID, int]]:
        """(link id, workspace id, version) of each link, in id order."""
        result = await self.session.execute(
            select(Link.id, Link.workspace_id, Link.version)
            .where(Link.id.in_(link_ids))
            .order_by(Link.id)
        )
        return [(row[0], row[1], row[2]) for row in result]

    async def record_changes(self, link_ids: Sequence[UUID], *, notify: str | None) -> None:
        """Append to the change log; on PostgreSQL also ``NOTIFY notify`` (delivered at
        commit, dropped on rollback) so other processes' pollers wake at once."""
        await self.session.execute(insert(LinkChange), [{"link_id": x} for x in link_ids])
        if notify is not None and self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text(f"NOTIFY {notify}"))

    async def prune_changes(self, before: datetime) -> None:
        await self.session.execute(delete(LinkChange).where(LinkChange.changed_at < before))

    async def changes_after(self, last_id: int, *, limit: int = 1000) -> list[LinkChange]:
        result = await self.session.execute(
            select(LinkChange).where(LinkChange.id > last_id).order_by(LinkChange.id).limit(limit)
        )
        return list(result.scalars())

    async def last_change_id(self) -> int:
        result = await self.session.execute(select(func.max(LinkChange.id)))
        return result.scalar() or 0

    async def load_for_page(self, host: str, slug: str) -> tuple[Link, Release] | None:
        """A link with everything its public page shows, in a fixed number of queries."""
        result = await self.session.execute(
            select(Link, Release)
            .join(Release, Release.id == Link.release_id)
            .where(Link.host == host, Link.slug == slug)
            .options(
                selectinload(Release.artist_links).joinedload(ReleaseArtist.artist),
                selectinload(Release.tracks),
                selectinload(Link.destinations),
            )
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def load_domain_root(self, hostname: str) -> tuple[Link, Release] | None:
        domain = await CustomDomainRepository(self.session).get_by_hostname(hostname)
        if domain is None or domain.root_link_id is None:
            return None
        link = await self.session.get(Link, domain.root_link_id)
        if link is None:
            return None
        return await self.load_for_page(link.host, link.slug)


class CustomDomainRepository(WorkspaceScoped[CustomDomain]):
    model = CustomDomain

    async def get_by_hostname(self, hostname: str) -> CustomDomain | None:
        """The workspace holding ``hostname`` (ownership proven), whichever it is."""
        result = await self.session.execute(
            select(CustomDomain).where(CustomDomain.hostname == hostname)
        )
        return result.scalars().first()

    async def list_all(self, workspace_id: UUID) -> list[CustomDomain]:
        result = await self.session.execute(
            self.scoped(workspace_id).order_by(CustomDomain.hostname)
        )
        return list(result.scalars())

    async def clear_root(self, link_id: UUID) -> None:
        await self.session.execute(
            update(CustomDomain)
            .where(CustomDomain.root_link_id == link_id)
            .values(root_link_id=None)
        )


class CustomDomainClaimRepository(WorkspaceScoped[CustomDomainClaim]):
    model = CustomDomainClaim

    async def get_for(self, workspace_id: UUID, hostname: str) -> CustomDomainClaim | None:
        result = await self.session.execute(
            self.scoped(workspace_id).where(CustomDomainClaim.hostname == hostname)
        )
        return result.scalars().first()

    async def list_all(self, workspace_id: UUID) -> list[CustomDomainClaim]:
        result = await self.session.execute(
            self.scoped(workspace_id).order_by(CustomDomainClaim.hostname)
        )
        return list(result.scalars())
