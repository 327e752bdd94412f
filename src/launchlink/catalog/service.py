"""Catalogue actions: artists and releases of one workspace. Never commits.

Moving a release (its mode, instant, local date or default zone) re-plans, in the same
transaction, every pre-save and reminder that depends on it
(:func:`launchlink.presave.replan.replan_release`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.catalog.repository import ArtistRepository, ReleaseRepository
from launchlink.catalog.schemas import (
    ArtistCreate,
    ArtistUpdate,
    ReleaseCreate,
    ReleaseUpdate,
    TrackWrite,
)
from launchlink.errors import Conflict, NotFound, ValidationFailed
from launchlink.events import ReleaseMoved, emit
from launchlink.kit.clock import Clock
from launchlink.kit.pagination import Page
from launchlink.links.phase import ReleaseZones
from launchlink.links.service import count_links_of_release, touch_links_of_release
from launchlink.models import Artist, Release, ReleaseArtist, Track
from launchlink.models.catalog import ReleaseMode
from launchlink.presave.replan import Replan, replan_release


async def create_artist(session: AsyncSession, workspace_id: UUID, data: ArtistCreate) -> Artist:
    return await ArtistRepository(session).add(
        Artist(workspace_id=workspace_id, name=data.name, service_ids=dict(data.service_ids))
    )


async def get_artist(session: AsyncSession, workspace_id: UUID, artist_id: UUID) -> Artist:
    artist = await ArtistRepository(session).get(workspace_id, artist_id)
    if artist is None:
        raise NotFound(f"no artist {artist_id} in this workspace")
    return artist


async def list_artists(
    session: AsyncSession, workspace_id: UUID, *, cursor: str | None, limit: int
) -> Page[Artist]:
    return await ArtistRepository(session).list_page(workspace_id, cursor=cursor, limit=limit)


async def update_artist(
    session: AsyncSession, workspace_id: UUID, artist_id: UUID, data: ArtistUpdate
) -> Artist:
    artist = await get_artist(session, workspace_id, artist_id)
    if data.name is not None:
        artist.name = data.name
    if data.service_ids is not None:
        artist.service_ids = dict(data.service_ids)
    await session.flush()
    return artist


async def delete_artist(session: AsyncSession, workspace_id: UUID, artist_id: UUID) -> None:
    repository = ArtistRepository(session)
    artist = await get_artist(session, workspace_id, artist_id)
    if await repository.is_credited(artist.id):
        raise Conflict("this artist is credited on releases; remove them from those releases first")
    await repository.delete(artist)


async def _artists_of(
    session: AsyncSession, workspace_id: UUID, artist_ids: list[UUID]
) -> list[Artist]:
    if len(set(artist_ids)) != len(artist_ids):
        raise ValidationFailed("an artist is listed twice", field="artist_ids")
    found = {
        artist.id: artist
        for artist in await ArtistRepository(session).get_many(workspace_id, artist_ids)
    }
    for artist_id in artist_ids:
        if artist_id not in found:
            raise ValidationFailed(f"no artist {artist_id} in this workspace", field="artist_ids")
    return [found[artist_id] for artist_id in artist_ids]


def _tracks(tracks: list[TrackWrite]) -> list[Track]:
    return [
        Track(position=index, title=track.title, isrc=track.isrc, duration_ms=track.duration_ms)
        for index, track in enumerate(tracks, start=1)
    ]


async def create_release(session: AsyncSession, workspace_id: UUID, data: ReleaseCreate) -> Release:
    artists = await _artists_of(session, workspace_id, data.artist_ids)
    release = Release(
        workspace_id=workspace_id,
        title=data.title,
        type=data.type,
        upc=data.upc,
        artwork_url=data.artwork_url,
        label_name=data.label_name,
        release_mode=ReleaseMode(data.release_mode),
        release_instant=data.release_instant if data.release_mode == "global" else None,
        release_date=data.release_date if data.release_mode == "local" else None,
        time_zone=data.time_zone,
        artist_links=[
            ReleaseArtist(artist_id=artist.id, position=index, artist=artist)
            for index, artist in enumerate(artists)
        ],
        tracks=_tracks(data.tracks),
    )
    return await ReleaseRepository(session).add(release)


async def get_release(session: AsyncSession, workspace_id: UUID, release_id: UUID) -> Release:
    release = await ReleaseRepository(session).get(workspace_id, release_id)
    if release is None:
        raise NotFound(f"no release {release_id} in this workspace")
    return release


async def list_releases(
    session: AsyncSession, workspace_id: UUID, *, cursor: str | None, limit: int
) -> Page[Release]:
    return await ReleaseRepository(session).list_page(workspace_id, cursor=cursor, limit=limit)


@dataclass(frozen=True)
class ReleaseChange:
    release: Release
    replan: Replan | None
    """What moved with the release; ``None`` when its timing did not change."""


def _timing_key(release: Release) -> tuple[Any, ...]:
    return (
        release.release_mode,
        release.release_instant,
        release.release_date,
        release.time_zone,
    )


async def update_release(
    session: AsyncSession,
    workspace_id: UUID,
    release_id: UUID,
    data: ReleaseUpdate,
    *,
    territories: ReleaseZones,
    clock: Clock,
) -> ReleaseChange:
    """Apply ``data``; a change of timing re-plans what depends on it (same transaction)."""
    # Locked: two moves of one release apply and re-plan one after the other, each from
    # the timing the other left.
    release = await ReleaseRepository(session).get(workspace_id, release_id, for_update=True)
    if release is None:
        raise NotFound(f"no release {release_id} in this workspace")
    before = _timing_key(release)
    fields = data.model_fields_set
    for name in ("title", "type", "upc", "artwork_url", "label_name", "time_zone"):
        if name in fields:
            value = getattr(data, name)
            if value is None and name in ("title", "type", "time_zone"):
                raise ValidationFailed(f"{name} cannot be removed", field=name)
            setattr(release, name, value)
    mode = data.release_mode or release.release_mode.value
    if "release_mode" in fields or "release_instant" in fields or "release_date" in fields:
        instant = data.release_instant if "release_instant" in fields else release.release_instant
        local_date = data.release_date if "release_date" in fields else release.release_date
        if mode == "global" and instant is None:
            raise ValidationFailed(
                "a global release needs release_instant", field="release_instant"
            )
        if mode == "local" and local_date is None:
            raise ValidationFailed("a local release needs release_date", field="release_date")
        release.release_mode = ReleaseMode(mode)
        release.release_instant = instant if mode == "global" else None
        release.release_date = local_date if mode == "local" else None
    if data.artist_ids is not None:
        artists = await _artists_of(session, workspace_id, data.artist_ids)
        release.artist_links = [
            ReleaseArtist(artist_id=artist.id, position=index, artist=artist)
            for index, artist in enumerate(artists)
        ]
    if data.tracks is not None:
        release.tracks = []
        await session.flush()  # the old rows must go before new positions reuse their keys
        release.tracks = _tracks(data.tracks)
    await session.flush()
    replan = None
    if _timing_key(release) != before:
        # Subscribers (webhooks, messaging) hear of the move with the commit of it.
        await emit(
            session,
            ReleaseMoved(
                occurred_at=clock.now(),
                workspace_id=workspace_id,
                release_id=release.id,
                release_mode=release.release_mode.value,
                time_zone=release.time_zone,
                release_instant=release.release_instant,
                release_date=release.release_date,
                previous_release_instant=before[1],
                previous_release_date=before[2],
            ),
        )
        try:
            replan = await replan_release(session, release, territories=territories, clock=clock)
        except DBAPIError as error:
            # PostgreSQL broke a lock cycle with a fan's concurrent revoke: nothing was
            # changed, and the same request succeeds once the revoke has committed.
            if getattr(error.orig, "sqlstate", None) != "40P01":
                raise
            raise Conflict(
                "this release's pre-saves were being changed at the same moment; "
                "nothing was saved, send the change again"
            ) from None
    await touch_links_of_release(session, release.id)
    return ReleaseChange(release, replan)


async def move_release(
    session: AsyncSession,
    workspace_id: UUID,
    release_id: UUID,
    *,
    release_mode: str | None = None,
    release_instant: datetime | None = None,
    release_date: date | None = None,
    time_zone: str | None = None,
    territories: ReleaseZones,
    clock: Clock,
) -> ReleaseChange:
    """Move a release (the demo's ``--release-in``, scripts): only the given parts of its
    timing change, with the API's rules, and everything planned from it follows."""
    given = {
        "release_mode": release_mode,
        "release_instant": release_instant,
        "release_date": release_date,
        "time_zone": time_zone,
    }
    try:
        data = ReleaseUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    except PydanticValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise ValidationFailed(first["msg"], field=where) from None
    return await update_release(
        session, workspace_id, release_id, data, territories=territories, clock=clock
    )


async def delete_release(session: AsyncSession, workspace_id: UUID, release_id: UUID) -> None:
    release = await get_release(session, workspace_id, release_id)
    if await count_links_of_release(session, release.id):
        # Deleting the release would silently take its public links down with it.
        raise Conflict("this release still has links; delete its links first")
    await ReleaseRepository(session).delete(release)
