"""Auto-fill: one service URL, UPC or ISRC in; the release and its link on every service out.

Flow (docs/autofill.md has the long form):

1. **Seed.** A URL is *parsed* (never fetched) with :func:`parse_service_url` and looked up
   through that service's connector (``lookup_url``). A UPC is looked up on every connector
   that can (``find_release_by_upc``), an ISRC likewise (``find_track_by_isrc``). The richest
   hit (the one with track ISRCs) supplies the metadata.
2. **Fan out**, concurrently, one task per remaining connector, each under its own time
   budget: by UPC; then by the first track's ISRC for singles; then, for services without
   UPC lookup (YouTube, SoundCloud) or when no UPC is known, by title + artist search, kept
   only above the confidence threshold of :mod:`launchlink.autofill.matching`.
3. **Odesli** (only with an operator API key) adds link-only services (Amazon Music,
   Pandora, Audiomack...).

A service that fails (rate limited, down, too slow, not configured) is listed in
``missing`` with the reason; it never fails the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit

from launchlink.autofill import matching
from launchlink.autofill.outcomes import (
    CONNECTOR_FOR_PLATFORM,
    CONNECTOR_PLATFORMS,
    LINK_ONLY_PLATFORMS,
    PLATFORM_FOR_CONNECTOR,
    SEED_PREFERENCE,
    FoundDestination,
    MissingService,
    Outcome,
    Resolution,
    ResolvedRelease,
    ResolveQuery,
    ServiceLookupFailed,
    can,
    destination,
    fill_gaps,
    guarded,
    refusing_app,
    release_from_match,
    release_from_track,
)
from launchlink.autofill.sources import LookupSources
from launchlink.connectors.base import Capability, Connector, ReleaseMatch, TrackMatch
from launchlink.errors import NotFound, ServiceUnavailable, ValidationFailed
from launchlink.models.catalog import ReleaseType
from launchlink.platforms import PLATFORMS, parse_service_url, platform_for_host

__all__ = [
    "LINK_ONLY_PLATFORMS",
    "FoundDestination",
    "MissingService",
    "Resolution",
    "ResolveQuery",
    "Resolver",
    "resolve",
]

T = TypeVar("T")


# -- the resolver -----------------------------------------------------------------------------


class Resolver:
    """One auto-fill run over a set of lookup sources."""

    def __init__(self, sources: LookupSources, *, country: str | None) -> None:
        self.sources = sources
        self.country = country
        # Releases found during the fan-out (by UPC, or accepted by search): they fill gaps
        # in the seed's metadata (ISRCs, tracks, UPC...).
        self.found: list[ReleaseMatch] = []

    async def _lookup(self, service: str, call: Callable[[], Awaitable[T]]) -> T | MissingService:
        platform = PLATFORM_FOR_CONNECTOR.get(service, service)
        return await guarded(platform, self.sources.timeout_seconds, call)

    # seeds ----------------------------------------------------------------------------------

    async def seed_from_url(
        self, raw_url: str
    ) -> tuple[ResolvedRelease, dict[str, Outcome], str, list[ReleaseMatch]]:
        parsed = parse_service_url(raw_url)
        if parsed is None:
            raise ValidationFailed(_unparseable_url_message(raw_url), field="url")
        if parsed.kind in ("artist",):
            raise ValidationFailed(
                "this link points to an artist; paste the link of an album or a track",
                field="url",
            )
        platform = PLATFORMS[parsed.platform]
        service = CONNECTOR_FOR_PLATFORM.get(parsed.platform)
        connector = self.sources.connectors.get(service) if service else None
        if connector is None or not can(connector, Capability.LOOKUP_URL):
            raise ValidationFailed(
                f"launchlink cannot look releases up on {platform.display_name}; paste a "
                "Spotify, Apple Music, Deezer or TIDAL link, or the UPC",
                field="url",
            )
        if not connector.available:
            raise ServiceUnavailable(
                f"{platform.display_name} is not configured on this instance "
                f"({connector.unavailable_reason}); paste another service's link or the UPC",
                field="url",
            )
        found = await self._lookup(
            connector.service,
            lambda: refusing_app(
                connector,
                lambda: connector.lookup_url(parsed.url),
                display_name=platform.display_name,
            ),
        )
        if isinstance(found, MissingService):
            raise ServiceLookupFailed(
                f"{platform.display_name} could not be asked right now ({found.detail}); "
                "try again, or paste another service's link or the UPC",
                field="url",
            )
        if found is None:
            raise NotFound(f"no release at this {platform.display_name} link", field="url")
        release = release_from_match(found)
        seed = destination(connector.service, found.url or parsed.url, "url", service_id=found.id)
        return release, {connector.service: seed}, found.url or parsed.url, [found]

    async def seed_from_upc(
        self, upc: str
    ) -> tuple[ResolvedRelease, dict[str, Outcome], str, list[ReleaseMatch]]:
        able = {
            service: connector
            for service, connector in self.sources.connectors.items()
            if can(connector, Capability.LOOKUP_UPC) and connector.available
        }
        results = await asyncio.gather(
            *(
                self._lookup(
                    service,
                    partial(connector.find_release_by_upc, upc, country=self.country),
                )
                for service, connector in able.items()
            )
        )
        outcomes: dict[str, Outcome] = {}
        matches: dict[str, ReleaseMatch] = {}
        for service, result in zip(able, results, strict=True):
            if isinstance(result, MissingService):
                outcomes[service] = result
            elif result is None:
                outcomes[service] = MissingService(
                    PLATFORM_FOR_CONNECTOR.get(service, service),
                    "not_found",
                    "no release with this UPC (yet)",
                )
            else:
                assert isinstance(result, ReleaseMatch)
                matches[service] = result
                outcomes[service] = destination(service, result.url, "upc", service_id=result.id)
        if not matches:
            _raise_when_nobody_answered("UPC", "upc", outcomes)
            raise NotFound(
                "no service knows this UPC yet; check the digits, or wait until the "
                "distributor has delivered the release",
                field="upc",
            )
        ordered = sorted(
            matches.values(),
            key=lambda m: (
                not any(track.isrc for track in m.tracks),
                SEED_PREFERENCE.index(m.service) if m.service in SEED_PREFERENCE else 99,
            ),
        )
        release = fill_gaps(replace(release_from_match(ordered[0]), upc=upc), ordered[1:])
        seed_url = ordered[0].url or ""
        return release, outcomes, seed_url, ordered

    async def seed_from_isrc(
        self, isrc: str
    ) -> tuple[ResolvedRelease, dict[str, Outcome], str, list[ReleaseMatch]]:
        able = {
            service: connector
            for service, connector in self.sources.connectors.items()
            if can(connector, Capability.LOOKUP_ISRC) and connector.available
        }
        results = await asyncio.gather(
            *(
                self._lookup(
                    service,
                    partial(connector.find_track_by_isrc, isrc, country=self.country),
                )
                for service, connector in able.items()
            )
        )
        outcomes: dict[str, Outcome] = {}
        tracks: list[TrackMatch] = []
        for service, result in zip(able, results, strict=True):
            if isinstance(result, MissingService):
                outcomes[service] = result
            elif result is None:
                outcomes[service] = MissingService(
                    PLATFORM_FOR_CONNECTOR.get(service, service),
                    "not_found",
                    "no track with this ISRC (yet)",
                )
            else:
                assert isinstance(result, TrackMatch)
                tracks.append(result)
                outcomes[service] = destination(service, result.url, "isrc", service_id=result.id)
        if not tracks:
            _raise_when_nobody_answered("ISRC", "isrc", outcomes)
            raise NotFound("no service knows this ISRC yet; check it for typos", field="isrc")
        tracks.sort(
            key=lambda t: SEED_PREFERENCE.index(t.service) if t.service in SEED_PREFERENCE else 99
        )
        release = release_from_track(tracks[0])
        release = replace(release, tracks=(replace(release.tracks[0], isrc=isrc),), upc=None)
        return release, outcomes, tracks[0].url or "", []

    # fan-out --------------------------------------------------------------------------------

    async def find_on(self, connector: Connector, release: ResolvedRelease) -> Outcome:
        """Look ``release`` up on one more service: UPC, then ISRC (singles), then search."""
        platform = PLATFORM_FOR_CONNECTOR.get(connector.service, connector.service)
        if not connector.available:
            return MissingService(
                platform,
                "connector_unavailable",
                connector.unavailable_reason or "not configured",
            )
        tried = False
        if release.upc and can(connector, Capability.LOOKUP_UPC):
            tried = True
            match = await connector.find_release_by_upc(release.upc, country=self.country)
            if match is not None:
                self.found.append(match)
                return destination(connector.service, match.url, "upc", service_id=match.id)
        single_isrc = release.first_isrc if release.type is ReleaseType.single else None
        if single_isrc and can(connector, Capability.LOOKUP_ISRC):
            tried = True
            track = await connector.find_track_by_isrc(single_isrc, country=self.country)
            if track is not None:
                return destination(connector.service, track.url, "isrc", service_id=track.id)
        searchable = can(connector, Capability.SEARCH) and release.artists
        if searchable and (not release.upc or not can(connector, Capability.LOOKUP_UPC)):
            tried = True
            hits = await connector.search(
                title=release.title, artists=list(release.artists), country=self.country
            )
            # An album is never matched to one of its tracks; a single may be a track.
            kinds = (
                {"album", "playlist", "track"}
                if release.type is ReleaseType.single
                else {
                    "album",
                    "playlist",
                }
            )
            hits = [hit for hit in hits if hit.kind in kinds]
            best = matching.best_match(release.target(), hits)
            if best is not None:
                hit, scored = best
                self.found.append(hit)
                return destination(
                    connector.service,
                    hit.url,
                    "title_artist",
                    service_id=hit.id,
                    confidence=scored.confidence,
                )
            if hits:
                return MissingService(
                    platform,
                    "not_found",
                    f"{len(hits)} search result(s), none above the confidence threshold "
                    f"{matching.CONFIDENCE_THRESHOLD}",
                )
        if not tried:
            return MissingService(
                platform, "no_lookup_capability", "this service offers no way to look it up"
            )
        return MissingService(platform, "not_found", "not found on this service (yet)")

    async def from_directory(self, seed_url: str) -> list[Outcome]:
        directory = self.sources.link_directory
        if directory is None:
            return [
                MissingService(
                    platform,
                    "no_lookup_capability",
                    f"link-only service; {self.sources.link_directory_off_reason}",
                )
                for platform in LINK_ONLY_PLATFORMS
            ]
        found = await guarded(
            "odesli",
            self.sources.timeout_seconds,
            lambda: directory.links_for(seed_url, country=self.country),
        )
        if isinstance(found, MissingService):
            return [replace(found, service=platform) for platform in LINK_ONLY_PLATFORMS]
        outcomes: list[Outcome] = []
        for platform, url in found.items():
            outcome = destination(platform, url, "odesli", service_id=None)
            # A connector's own answer (even "not found") is not second-guessed.
            if outcome.service not in CONNECTOR_PLATFORMS:
                outcomes.append(outcome)
        listed = {outcome.service for outcome in outcomes}
        outcomes += [
            MissingService(platform, "not_found", "Odesli knows no link for it")
            for platform in LINK_ONLY_PLATFORMS
            if platform not in listed
        ]
        return outcomes

    async def run(self, query: ResolveQuery) -> Resolution:
        if query.url is not None:
            release, outcomes, seed_url, hits = await self.seed_from_url(query.url)
        elif query.upc is not None:
            release, outcomes, seed_url, hits = await self.seed_from_upc(query.upc)
        elif query.isrc is not None:
            release, outcomes, seed_url, hits = await self.seed_from_isrc(query.isrc)
        else:
            raise ValidationFailed("give one of url, upc or isrc", field="url")
        remaining = [
            connector
            for service, connector in self.sources.connectors.items()
            if service not in outcomes
        ]
        directory = asyncio.ensure_future(self.from_directory(seed_url) if seed_url else _nothing())
        per_connector = await asyncio.gather(
            *(
                self._lookup(connector.service, partial(self.find_on, connector, release))
                for connector in remaining
            )
        )
        all_outcomes: list[Outcome] = [*outcomes.values(), *per_connector, *await directory]
        release = fill_gaps(release, [*hits[1:], *self.found])
        return _assemble(release, all_outcomes)


def _raise_when_nobody_answered(what: str, field: str, outcomes: dict[str, Outcome]) -> None:
    """A "not found" is only honest when at least one service could be asked."""
    if not outcomes:
        raise ServiceUnavailable(
            f"no service on this instance can look up an {what}; configure the credentials "
            "of Spotify, Apple Music, Deezer or TIDAL",
            field=field,
        )
    if all(isinstance(o, MissingService) and o.reason != "not_found" for o in outcomes.values()):
        details = "; ".join(
            f"{o.service}: {o.reason}" for o in outcomes.values() if isinstance(o, MissingService)
        )
        raise ServiceLookupFailed(
            f"no service could be asked right now ({details}); try again later", field=field
        )


async def _nothing() -> list[Outcome]:
    return []


def _assemble(release: ResolvedRelease, outcomes: Sequence[Outcome]) -> Resolution:
    """One destination per platform (identifier matches beat search and Odesli)."""
    rank: dict[str, int] = {"url": 0, "upc": 1, "isrc": 2, "title_artist": 3, "odesli": 4}
    found: dict[str, FoundDestination] = {}
    for outcome in outcomes:
        if isinstance(outcome, FoundDestination):
            current = found.get(outcome.service)
            if current is None or rank[outcome.matched_by] < rank[current.matched_by]:
                found[outcome.service] = outcome
    missing: dict[str, MissingService] = {}
    for outcome in outcomes:
        if isinstance(outcome, MissingService) and outcome.service not in found:
            missing.setdefault(outcome.service, outcome)
    order = {key: index for index, key in enumerate(PLATFORMS)}
    return Resolution(
        release=release,
        destinations=tuple(sorted(found.values(), key=lambda d: order.get(d.service, 999))),
        missing=tuple(sorted(missing.values(), key=lambda m: order.get(m.service, 999))),
    )


def _unparseable_url_message(raw_url: str) -> str:
    text = raw_url.strip()
    candidate = text if "://" in text else f"https://{text}"
    try:
        host = (urlsplit(candidate).hostname or "").rstrip(".")
    except ValueError:
        host = ""
    if not host or "." not in host:
        return "this is not a web address; paste the link from the service's Share menu"
    platform = platform_for_host(host)
    if platform is None:
        return (
            f"{host} is not a streaming service launchlink knows; paste a Spotify, Apple "
            "Music, Deezer, TIDAL, YouTube Music or SoundCloud link"
        )
    return (
        f"this {platform.display_name} link does not point to an album or a track; use the "
        "link from the release's Share menu"
    )


async def resolve(sources: LookupSources, query: ResolveQuery) -> Resolution:
    """Find the release on every service; see the module docstring for the flow."""
    return await Resolver(sources, country=query.country).run(query)
