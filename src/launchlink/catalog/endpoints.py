from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from launchlink.autofill import service as autofill
from launchlink.autofill.endpoints import (
    RELEASE_CREATE_OPENAPI,
    ReleaseCreateBody,
    destination_read,
    missing_read,
)
from launchlink.autofill.schemas import AutofilledReleaseRead, AutofillReleaseCreate
from launchlink.autofill.sources import LookupSources, get_lookup_sources
from launchlink.catalog import service
from launchlink.catalog.schemas import (
    ArtistCreate,
    ArtistPage,
    ArtistRead,
    ArtistUpdate,
    ReleaseArtistRead,
    ReleasePage,
    ReleaseRead,
    ReleaseUpdate,
    TrackRead,
)
from launchlink.context import AppContext
from launchlink.dependencies import (
    CurrentPrincipal,
    Session,
    WritingPrincipal,
    get_clock,
    get_context,
)
from launchlink.kit.clock import Clock
from launchlink.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.links.endpoints import link_read
from launchlink.models import Release

router = APIRouter(tags=["catalogue"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Context = Annotated[AppContext, Depends(get_context)]
AutofillSources = Annotated[LookupSources, Depends(get_lookup_sources)]
AppClock = Annotated[Clock, Depends(get_clock)]


def get_territories(context: Context) -> TerritoryTimeZones:
    """The process's territory table (the pre-save wiring shares it; loaded once here
    for an API built without the pre-save routes)."""
    if context.territories is None:
        context.territories = TerritoryTimeZones.load(context.settings.territory_timezones_file)
    return context.territories


Territories = Annotated[TerritoryTimeZones, Depends(get_territories)]


def release_read(release: Release) -> ReleaseRead:
    return ReleaseRead(
        id=release.id,
        title=release.title,
        type=release.type,
        artists=[
            ReleaseArtistRead(id=link.artist.id, name=link.artist.name)
            for link in release.artist_links
        ],
        upc=release.upc,
        artwork_url=release.artwork_url,
        label_name=release.label_name,
        release_mode="global" if release.release_mode.value == "global" else "local",
        release_instant=release.release_instant,
        release_date=release.release_date,
        time_zone=release.time_zone,
        tracks=[TrackRead.model_validate(track) for track in release.tracks],
        created_at=release.created_at,
        updated_at=release.updated_at,
    )


@router.post("/artists", status_code=status.HTTP_201_CREATED)
async def create_artist(
    data: ArtistCreate, session: Session, principal: WritingPrincipal
) -> ArtistRead:
    """Create an artist."""
    return ArtistRead.model_validate(
        await service.create_artist(session, principal.workspace_id, data)
    )


@router.get("/artists")
async def list_artists(
    session: Session,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ArtistPage:
    """List artists, oldest first, a page at a time."""
    page = await service.list_artists(session, principal.workspace_id, cursor=cursor, limit=limit)
    return ArtistPage(
        items=[ArtistRead.model_validate(artist) for artist in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/artists/{artist_id}")
async def get_artist(artist_id: UUID, session: Session, principal: CurrentPrincipal) -> ArtistRead:
    """Get one artist."""
    return ArtistRead.model_validate(
        await service.get_artist(session, principal.workspace_id, artist_id)
    )


@router.patch("/artists/{artist_id}")
async def update_artist(
    artist_id: UUID, data: ArtistUpdate, session: Session, principal: WritingPrincipal
) -> ArtistRead:
    """Change an artist's name or service ids."""
    artist = await service.update_artist(session, principal.workspace_id, artist_id, data)
    return ArtistRead.model_validate(artist)


@router.delete("/artists/{artist_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_artist(artist_id: UUID, session: Session, principal: WritingPrincipal) -> None:
    """Delete an artist who is credited on no release."""
    await service.delete_artist(session, principal.workspace_id, artist_id)


@router.post(
    "/releases",
    status_code=status.HTTP_201_CREATED,
    response_model=ReleaseRead | AutofilledReleaseRead,
    openapi_extra=RELEASE_CREATE_OPENAPI,
)
async def create_release(
    data: ReleaseCreateBody,
    session: Session,
    principal: WritingPrincipal,
    context: Context,
    sources: AutofillSources,
) -> ReleaseRead | AutofilledReleaseRead:
    """Create a release with its tracks; with ?autofill=true, from a service URL, UPC or ISRC."""
    if isinstance(data, AutofillReleaseCreate):
        created = await autofill.create_release_from_services(
            session, principal.workspace_id, data, sources
        )
        return AutofilledReleaseRead(
            release=release_read(created.release),
            link=link_read(created.link, context),
            destinations=[destination_read(d) for d in created.resolution.destinations],
            missing=[missing_read(m) for m in created.resolution.missing],
        )
    return release_read(await service.create_release(session, principal.workspace_id, data))


@router.get("/releases")
async def list_releases(
    session: Session,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ReleasePage:
    """List releases, oldest first, a page at a time."""
    page = await service.list_releases(session, principal.workspace_id, cursor=cursor, limit=limit)
    return ReleasePage(
        items=[release_read(release) for release in page.items], next_cursor=page.next_cursor
    )


@router.get("/releases/{release_id}")
async def get_release(
    release_id: UUID, session: Session, principal: CurrentPrincipal
) -> ReleaseRead:
    """Get one release."""
    return release_read(await service.get_release(session, principal.workspace_id, release_id))


@router.patch("/releases/{release_id}")
async def update_release(
    release_id: UUID,
    data: ReleaseUpdate,
    session: Session,
    principal: WritingPrincipal,
    territories: Territories,
    clock: AppClock,
) -> ReleaseRead:
    """Change a release; a given track list replaces the old one; a new date re-plans its
    pre-saves and reminders."""
    change = await service.update_release(
        session, principal.workspace_id, release_id, data, territories=territories, clock=clock
    )
    return release_read(change.release)


@router.delete("/releases/{release_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_release(release_id: UUID, session: Session, principal: WritingPrincipal) -> None:
    """Delete a release that has no links."""
    await service.delete_release(session, principal.workspace_id, release_id)
