"""What the fan-facing hot path knows about a link, detached from the database.

The public app (page + redirect) never touches the ORM: it works on an immutable
:class:`LinkSnapshot` built once per link change and cached in-process. That keeps the
hot path free of database round trips and makes it testable without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from launchlink.links.theme import Theme

ReleaseType = Literal["single", "ep", "album"]
ReleaseMode = Literal["global", "local"]


@dataclass(frozen=True, slots=True)
class DestinationView:
    """One service button: where it goes by default and per visitor country."""

    service: str
    url: str
    country_urls: Mapping[str, str] = field(default_factory=dict)

    def url_for(self, country: str | None) -> str:
        if country is not None:
            return self.country_urls.get(country, self.url)
        return self.url


@dataclass(frozen=True, slots=True)
class TrackView:
    title: str
    isrc: str | None
    duration_ms: int | None


@dataclass(frozen=True, slots=True)
class ReleaseTiming:
    """When the release goes live.

    ``global`` mode: everyone at ``instant``. ``local`` mode: at local midnight of
    ``local_date`` in each visitor's territory, ``default_time_zone`` when the territory
    is unknown.
    """

    mode: ReleaseMode
    instant: datetime | None
    local_date: date | None
    default_time_zone: str
    presave_opens_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CampaignView:
    """What the pre-save page needs of the link's campaign (see launchlink.presave)."""

    enabled: bool
    presave_opens_at: datetime | None
    service_modes: Mapping[str, str]
    link_only_urls: Mapping[str, str]
    save_release: bool
    follows: bool
    """Artists or playlists to follow (the page says so, the OAuth asks for it)."""
    playlist: bool
    email_opt_in: bool
    sms_opt_in: bool
    future_releases_opt_in: bool
    apple_preorder_album_id: str | None
    consent_text_ids: Mapping[str, str]
    playlist_action: Mapping[str, Any] | None = None
    """The campaign's playlist action (it names its service): what it asks of that service."""
    extra_follows: tuple[Mapping[str, Any], ...] = ()
    """Extra artists or playlists to follow, each on a named service."""


@dataclass(frozen=True, slots=True)
class ArtistPage:
    """An artist's profile on one service (a follow suggestion after a pre-save)."""

    name: str
    service: str
    url: str


@dataclass(frozen=True, slots=True)
class DesignView:
    """How the fan pages of a link look: the theme and the operator's own headings."""

    theme: Theme = field(default_factory=Theme)
    headline: str | None = None
    """Replaces "Listen on" above the service rows when set."""
    presave_headline: str | None = None
    """Replaces "Pre-save" above the pre-save choices when set."""


@dataclass(frozen=True, slots=True)
class LinkSnapshot:
    link_id: UUID
    workspace_id: UUID
    version: int
    host: str | None
    """Custom domain serving this link, or None for the platform's own host."""
    slug: str
    canonical_url: str
    release_title: str
    release_type: ReleaseType
    artists: tuple[str, ...]
    artwork_url: str | None
    upc: str | None
    tracks: tuple[TrackView, ...]
    timing: ReleaseTiming
    destinations: tuple[DestinationView, ...]
    """Visible destinations only, in the operator's configured order."""
    campaign: CampaignView | None = None
    """The pre-save campaign, if the link has one."""
    design: DesignView = field(default_factory=lambda: DesignView())
    """The operator's look for the fan pages (defaults until one is saved)."""
    artist_pages: tuple[ArtistPage, ...] = ()
    """The artists' profiles on the services we know their ids on."""
    base_language: str = "en"
    """The workspace's language for visitors whose language we have no translation in."""
    artwork_side: int | None = None
    """Pixels per side of ``artwork_url`` when it is artwork we stored (squared, resized,
    JPEG: design/artwork.py); None for the release's own, whose size we do not know."""

    def destination(self, service: str) -> DestinationView | None:
        for destination in self.destinations:
            if destination.service == service:
                return destination
        return None


class SnapshotSource(Protocol):
    """Where the hot path gets snapshots from (the database in production)."""

    async def load(self, host: str | None, slug: str | None) -> LinkSnapshot | None:
        """The link served at ``host``/``slug``; ``slug`` None means the domain root."""
        ...
