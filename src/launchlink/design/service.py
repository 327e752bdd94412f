"""Changing a link's look: theme, headings and stored artwork (services never commit)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.design.artwork import ArtworkStore, ProcessedArtwork
from launchlink.design.repository import DesignRepository
from launchlink.links.changes import touch_links
from launchlink.links.service import get_link, reorder_destinations
from launchlink.links.theme import valid_color
from launchlink.models import LinkDesign
from launchlink.models.presave import ServiceMode
from launchlink.presave.campaigns import set_page_choices


@dataclass(frozen=True, slots=True)
class ThemeChoice:
    mode: str
    accent: str | None
    """None: take the artwork's colour."""
    headline: str | None
    presave_headline: str | None


async def design_of(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> LinkDesign:
    """The link's design row, created with the defaults on first use (404 for a link of
    another workspace, like every link lookup)."""
    link = await get_link(session, workspace_id, link_id)
    repository = DesignRepository(session)
    design = await repository.get(workspace_id, link.id)
    if design is None:
        design = await repository.add(
            LinkDesign(link_id=link.id, workspace_id=workspace_id, mode="auto")
        )
    return design


async def save_theme(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, choice: ThemeChoice
) -> LinkDesign:
    design = await design_of(session, workspace_id, link_id)
    design.mode = choice.mode
    design.accent = valid_color(choice.accent)
    design.headline = choice.headline
    design.presave_headline = choice.presave_headline
    await session.flush()
    await touch_links(session, [design.link_id])
    return design


async def save_artwork(
    session: AsyncSession,
    workspace_id: UUID,
    link_id: UUID,
    artwork: ProcessedArtwork,
    store: ArtworkStore,
) -> LinkDesign:
    """Store the processed file (content-named: writing it before the commit leaves at
    worst an unused file, never a wrong one) and point the link at it."""
    design = await design_of(session, workspace_id, link_id)
    store.save(artwork)
    design.artwork_key = artwork.key
    design.artwork_accent = artwork.accent
    design.artwork_size = artwork.side
    await session.flush()
    await touch_links(session, [design.link_id])
    return design


async def remove_artwork(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> LinkDesign:
    design = await design_of(session, workspace_id, link_id)
    design.artwork_key = None
    design.artwork_accent = None
    design.artwork_size = None
    await session.flush()
    await touch_links(session, [design.link_id])
    return design


async def arrange_buttons(
    session: AsyncSession,
    workspace_id: UUID,
    link_id: UUID,
    *,
    order: list[str],
    visible: set[str],
    modes: dict[str, ServiceMode | None],
) -> None:
    """The service rows in this order, only ``visible`` ones shown, and (with a campaign)
    each listed service's pre-save mode; one version bump for the lot."""
    link = await reorder_destinations(session, workspace_id, link_id, order)
    for destination in link.destinations:
        destination.hidden = destination.service not in visible
    if modes:
        await set_page_choices(
            session, workspace_id, link.id, service_modes=modes, consent_texts={}
        )
    await session.flush()
    await touch_links(session, [link.id])
