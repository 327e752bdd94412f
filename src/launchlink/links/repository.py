from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from launchlink.models import (
    CustomDomain,
    CustomDomainClaim,
    Link,
    LinkChange,
    Release,
    ReleaseArtist,
)


class LinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, workspace_id: UUID, link_id: UUID) -> Link | None:
        result = await self.session.execute(
            select(Link).where(Link.id == link_id, Link.workspace_id == workspace_id)
        )
        return result.scalars().first()

    async def get_by_host_slug(self, host: str, slug: str) -> Link | None:
        result = await self.session.execute(
            select(Link).where(Link.host == host, Link.slug == slug)
        )
        return result.scalars().first()

    async def list_page(self, workspace_id: UUID, *, after: UUID | None, limit: int) -> list[Link]:
        query = select(Link).where(Link.workspace_id == workspace_id)
        if after is not None:
            query = query.where(Link.id > after)
        result = await self.session.execute(query.order_by(Link.id).limit(limit + 1))
        return list(result.scalars())

    async def ids_of_release(self, release_id: UUID) -> list[UUID]:
        result = await self.session.execute(select(Link.id).where(Link.release_id == release_id))
        return list(result.scalars())

    async def ids_on_domain(self, custom_domain_id: UUID) -> list[UUID]:
        result = await self.session.execute(
            select(Link.id).where(Link.custom_domain_id == custom_domain_id)
        )
        return list(result.scalars())

    async def add(self, link: Link) -> Link:
        self.session.add(link)
        await self.session.flush()
        return link

    async def delete(self, link: Link) -> None:
        await self.session.delete(link)
        await self.session.flush()

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

    async def record_changes(self, link_ids: Sequence[UUID]) -> None:
        await self.session.execute(insert(LinkChange), [{"link_id": x} for x in link_ids])

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


class CustomDomainRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, workspace_id: UUID, domain_id: UUID) -> CustomDomain | None:
        result = await self.session.execute(
            select(CustomDomain).where(
                CustomDomain.id == domain_id, CustomDomain.workspace_id == workspace_id
            )
        )
        return result.scalars().first()

    async def get_by_hostname(self, hostname: str) -> CustomDomain | None:
        """The workspace holding ``hostname`` (ownership proven), whichever it is."""
        result = await self.session.execute(
            select(CustomDomain).where(CustomDomain.hostname == hostname)
        )
        return result.scalars().first()

    async def add_if_free(self, domain: CustomDomain) -> bool:
        """Insert a held domain; False when another workspace got the hostname first."""
        try:
            async with self.session.begin_nested():
                self.session.add(domain)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def list_all(self, workspace_id: UUID) -> list[CustomDomain]:
        result = await self.session.execute(
            select(CustomDomain)
            .where(CustomDomain.workspace_id == workspace_id)
            .order_by(CustomDomain.hostname)
        )
        return list(result.scalars())

    async def clear_root(self, link_id: UUID) -> None:
        await self.session.execute(
            update(CustomDomain)
            .where(CustomDomain.root_link_id == link_id)
            .values(root_link_id=None)
        )

    async def add(self, domain: CustomDomain) -> CustomDomain:
        self.session.add(domain)
        await self.session.flush()
        return domain

    async def delete(self, domain: CustomDomain) -> None:
        await self.session.delete(domain)
        await self.session.flush()


class CustomDomainClaimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, workspace_id: UUID, claim_id: UUID) -> CustomDomainClaim | None:
        result = await self.session.execute(
            select(CustomDomainClaim).where(
                CustomDomainClaim.id == claim_id, CustomDomainClaim.workspace_id == workspace_id
            )
        )
        return result.scalars().first()

    async def get_for(self, workspace_id: UUID, hostname: str) -> CustomDomainClaim | None:
        result = await self.session.execute(
            select(CustomDomainClaim).where(
                CustomDomainClaim.workspace_id == workspace_id,
                CustomDomainClaim.hostname == hostname,
            )
        )
        return result.scalars().first()

    async def list_all(self, workspace_id: UUID) -> list[CustomDomainClaim]:
        result = await self.session.execute(
            select(CustomDomainClaim)
            .where(CustomDomainClaim.workspace_id == workspace_id)
            .order_by(CustomDomainClaim.hostname)
        )
        return list(result.scalars())

    async def add_if_free(self, claim: CustomDomainClaim) -> bool:
        """Insert a claim; False when this workspace already claims the hostname."""
        try:
            async with self.session.begin_nested():
                self.session.add(claim)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def delete(self, claim: CustomDomainClaim) -> None:
        await self.session.delete(claim)
        await self.session.flush()
