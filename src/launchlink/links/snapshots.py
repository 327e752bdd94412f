"""Building :class:`LinkSnapshot` objects from the database, and caching them per process."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from uuid import UUID

from launchlink.db import Database
from launchlink.design.repository import DesignRepository
from launchlink.design.views import design_view, stored_artwork_url
from launchlink.links.follow import artist_pages
from launchlink.links.repository import LinkRepository
from launchlink.links.service import public_url_of
from launchlink.links.snapshot import (
    CampaignView,
    DestinationView,
    LinkSnapshot,
    ReleaseTiming,
    SnapshotSource,
    TrackView,
)
from launchlink.models import Campaign, Link, LinkDesign, Release
from launchlink.models.links import DEFAULT_HOST


def campaign_view(campaign: Campaign | None) -> CampaignView | None:
    if campaign is None:
        return None
    return CampaignView(
        enabled=campaign.enabled,
        presave_opens_at=campaign.presave_opens_at,
        service_modes=dict(campaign.service_modes),
        link_only_urls=dict(campaign.link_only_urls),
        save_release=campaign.save_release,
        follows=bool(campaign.follow_artist_ids or campaign.extra_follows),
        playlist=campaign.playlist_action is not None,
        email_opt_in=campaign.email_opt_in,
        sms_opt_in=campaign.sms_opt_in,
        future_releases_opt_in=campaign.future_releases_opt_in,
        apple_preorder_album_id=campaign.apple_preorder_album_id,
        consent_text_ids={str(k): str(v) for k, v in campaign.consent_text_ids.items()},
        playlist_action=dict(campaign.playlist_action) if campaign.playlist_action else None,
        extra_follows=tuple(dict(e) for e in campaign.extra_follows if isinstance(e, dict)),
    )


def build_snapshot(
    link: Link,
    release: Release,
    *,
    public_base_url: str,
    campaign: Campaign | None = None,
    design: LinkDesign | None = None,
    base_language: str = "en",
) -> LinkSnapshot:
    destinations = tuple(
        DestinationView(
            service=destination.service,
            url=destination.url,
            country_urls=dict(destination.country_urls),
        )
        for destination in sorted(link.destinations, key=lambda d: d.position)
        if not destination.hidden
    )
    return LinkSnapshot(
        link_id=link.id,
        workspace_id=link.workspace_id,
        version=link.version,
        host=link.host or None,
        slug=link.slug,
        canonical_url=public_url_of(link, public_base_url=public_base_url),
        release_title=release.title,
        release_type=release.type.value,
        artists=tuple(credit.artist.name for credit in release.artist_links),
        # Artwork the operator uploaded to us wins over the release's (a service's CDN).
        artwork_url=stored_artwork_url(design) or release.artwork_url,
        artwork_side=design.artwork_size if stored_artwork_url(design) and design else None,
        upc=release.upc,
        tracks=tuple(
            TrackView(title=track.title, isrc=track.isrc, duration_ms=track.duration_ms)
            for track in release.tracks
        ),
        timing=ReleaseTiming(
            mode="global" if release.release_mode.value == "global" else "local",
            instant=release.release_instant,
            local_date=release.release_date,
            default_time_zone=release.time_zone,
            presave_opens_at=campaign.presave_opens_at
            if campaign is not None and campaign.enabled
            else None,
        ),
        destinations=destinations,
        campaign=campaign_view(campaign),
        design=design_view(design),
        artist_pages=artist_pages(
            (credit.artist.name, credit.artist.service_ids or {}) for credit in release.artist_links
        ),
        base_language=base_language,
    )


class DatabaseSnapshotSource:
    """Reads a link and everything its page shows, in a handful of queries."""

    def __init__(self, database: Database, *, public_base_url: str) -> None:
        self.database = database
        self.public_base_url = public_base_url

    async def load(self, host: str | None, slug: str | None) -> LinkSnapshot | None:
        async with self.database.sessionmaker() as session:
            repository = LinkRepository(session)
            if slug is None:
                found = await repository.load_domain_root(host) if host else None
            else:
                found = await repository.load_for_page(host or DEFAULT_HOST, slug)
            if found is None:
                return None
            link, release = found
            campaign = await LinkRepository(session).campaign(link.id)
            design = await DesignRepository(session).of_link(link.id)
            return build_snapshot(
                link,
                release,
                public_base_url=self.public_base_url,
                campaign=campaign,
                design=design,
                base_language=await repository.base_language(link.workspace_id),
            )


class CachingSnapshotSource:
    """An LRU of snapshots (and of misses) in front of another source.

    Misses are cached too, so a flood of made-up slugs does not become a flood of
    queries; any link change drops all cached misses (a new link may fill one).
    """

    def __init__(self, inner: SnapshotSource, *, max_entries: int = 4096) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str | None, str | None], LinkSnapshot | None] = (
            OrderedDict()
        )

    async def load(self, host: str | None, slug: str | None) -> LinkSnapshot | None:
        key = (host, slug)
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        snapshot = await self.inner.load(host, slug)
        self._entries[key] = snapshot
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return snapshot

    def invalidate(self, link_ids: Sequence[UUID]) -> None:
        stale = set(link_ids)
        for key, snapshot in list(self._entries.items()):
            if snapshot is None or snapshot.link_id in stale:
                del self._entries[key]
            elif slug_is_domain_root(key):
                # Root links of custom domains can change without their own link changing.
                del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


def slug_is_domain_root(key: tuple[str | None, str | None]) -> bool:
    return key[1] is None
