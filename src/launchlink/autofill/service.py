"""Auto-fill actions: resolve a release, create it with its link, run pre-launch checks.

Never commits: the request's unit of work does. Lookups run before the first write, so a
slow service never holds a database write lock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.autofill.checks import ReleaseChecks, check_release
from launchlink.autofill.resolver import Resolution, ResolveQuery, resolve
from launchlink.autofill.schemas import AutofillReleaseCreate
from launchlink.autofill.sources import LookupSources
from launchlink.catalog import service as catalog
from launchlink.catalog.repository import ArtistRepository
from launchlink.catalog.schemas import ArtistCreate, ReleaseCreate, TrackWrite
from launchlink.errors import ValidationFailed
from launchlink.links import service as links
from launchlink.links.repository import LinkRepository
from launchlink.links.schemas import DestinationCreate, LinkCreate
from launchlink.links.slugs import RESERVED_SLUGS, SLUG_PATTERN
from launchlink.models import Artist, Link, Release
from launchlink.models.links import DEFAULT_HOST

__all__ = [
    "AutofilledRelease",
    "Resolution",
    "ResolveQuery",
    "create_release_from_services",
    "release_checks",
    "resolve",
]

_MAX_SLUG = 64
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class AutofilledRelease:
    release: Release
    link: Link
    resolution: Resolution


def slug_base(title: str) -> str:
    """A slug from a title: ASCII, lower case, hyphens; ``release`` when nothing is left."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")[:_MAX_SLUG].strip("-")
    if not base:
        return "release"
    if base in RESERVED_SLUGS:
        return f"{base}-release"
    return base


async def unique_slug(session: AsyncSession, title: str) -> str:
    """The title's slug, with ``-2``, ``-3``... appended until it is free on this instance."""
    base = slug_base(title)
    repository = LinkRepository(session)
    for number in range(1, 1000):
        suffix = "" if number == 1 else f"-{number}"
        candidate = base[: _MAX_SLUG - len(suffix)].rstrip("-") + suffix
        if SLUG_PATTERN.match(candidate) and (
            await repository.get_by_host_slug(DEFAULT_HOST, candidate) is None
        ):
            return candidate
    raise ValidationFailed("no free slug derived from the title; give one", field="slug")


async def _artists_named(session: AsyncSession, workspace_id: UUID, names: list[str]) -> list[UUID]:
    repository = ArtistRepository(session)
    ids: list[UUID] = []
    for name in dict.fromkeys(name.strip()[:200] for name in names if name.strip()):
        existing: Artist | None = await repository.get_by_name(workspace_id, name)
        if existing is None:
            existing = await catalog.create_artist(session, workspace_id, ArtistCreate(name=name))
        ids.append(existing.id)
    if not ids:
        raise ValidationFailed("the services name no artist for this release", field="artists")
    return ids


def _service_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def _release_create(
    data: AutofillReleaseCreate, resolution: Resolution, artist_ids: list[UUID]
) -> ReleaseCreate:
    found = resolution.release
    mode = data.release_mode or "local"
    release_date = data.release_date or _service_date(found.release_date)
    if mode == "local" and release_date is None:
        raise ValidationFailed(
            "the services give no full release date; send release_date (or release_mode "
            "'global' with release_instant)",
            field="release_date",
        )
    artwork = found.artwork_url if (found.artwork_url or "").startswith("https://") else None
    try:
        return ReleaseCreate(
            title=found.title[:300],
            type=data.type or found.type,
            artist_ids=artist_ids,
            upc=data.upc or found.upc,
            artwork_url=artwork,
            label_name=data.label_name,
            release_mode=mode,
            release_instant=data.release_instant if mode == "global" else None,
            release_date=release_date if mode == "local" else None,
            time_zone=data.time_zone,
            tracks=[
                TrackWrite(
                    title=track.title[:300] or f"Track {track.position}",
                    isrc=track.isrc,
                    duration_ms=track.duration_ms,
                )
                for track in found.tracks
            ],
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(
            f"the services' data for this release is unusable ({where}: {first['msg']})",
            field=where or None,
        ) from None


async def create_release_from_services(
    session: AsyncSession,
    workspace_id: UUID,
    data: AutofillReleaseCreate,
    sources: LookupSources,
) -> AutofilledRelease:
    """Resolve, then create the artists (matched by name), the release and its link."""
    resolution = await resolve(
        sources, ResolveQuery(url=data.url, upc=data.upc, isrc=data.isrc, country=data.country)
    )
    artist_ids = await _artists_named(session, workspace_id, list(resolution.release.artists))
    release = await catalog.create_release(
        session, workspace_id, _release_create(data, resolution, artist_ids)
    )
    slug = data.slug or await unique_slug(session, release.title)
    link = await links.create_link(
        session,
        workspace_id,
        LinkCreate(
            release_id=release.id,
            slug=slug,
            destinations=[
                DestinationCreate(service=found.service, url=found.url)
                for found in resolution.destinations
            ],
        ),
    )
    return AutofilledRelease(release=release, link=link, resolution=resolution)


async def release_checks(
    session: AsyncSession,
    workspace_id: UUID,
    release_id: UUID,
    sources: LookupSources,
    *,
    now: datetime,
    country: str | None = None,
) -> tuple[Release, ReleaseChecks]:
    """Pre-launch checks of one release of the workspace (404 for anyone else's)."""
    release = await catalog.get_release(session, workspace_id, release_id)
    return release, await check_release(sources, release, now=now, country=country)
