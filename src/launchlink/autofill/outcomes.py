"""What one auto-fill run produces, and the small pure helpers that build it.

Values: :class:`ResolvedRelease` (the metadata), :class:`FoundDestination` (a link and how
it was matched), :class:`MissingService` (a service left out, with the reason), and
:class:`Resolution` (all three). :func:`guarded` runs one service's lookups under its time
budget and turns every connector failure into a :class:`MissingService`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from launchlink.autofill import matching
from launchlink.autofill.schemas import MatchedBy, MissingReason
from launchlink.catalog.identifiers import IdentifierError, normalize_isrc, normalize_upc
from launchlink.connectors.base import Capability, Connector, ReleaseMatch, TrackInfo, TrackMatch
from launchlink.connectors.errors import (
    APP_REFUSALS,
    ConnectorError,
    NotAllowed,
    NotSupported,
    RateLimited,
    Unavailable,
)
from launchlink.connectors.registry import app_client_id
from launchlink.errors import LaunchlinkError
from launchlink.models.catalog import ReleaseType
from launchlink.platforms import (
    PLATFORMS,
    DestinationUrlError,
    parse_service_url,
    validate_destination_url,
)

logger = logging.getLogger("launchlink.autofill")

T = TypeVar("T")

# Platform key of a URL → the connector that can look it up.
CONNECTOR_FOR_PLATFORM: dict[str, str] = {
    "spotify": "spotify",
    "apple_music": "apple_music",
    "deezer": "deezer",
    "tidal": "tidal",
    "soundcloud": "soundcloud",
    "youtube_music": "youtube",
    "youtube": "youtube",
}
# Connector → the platform its releases are listed under when its URL does not say.
PLATFORM_FOR_CONNECTOR: dict[str, str] = {
    "spotify": "spotify",
    "apple_music": "apple_music",
    "deezer": "deezer",
    "tidal": "tidal",
    "soundcloud": "soundcloud",
    "youtube": "youtube_music",
}
CONNECTOR_PLATFORMS = frozenset(PLATFORM_FOR_CONNECTOR.values())
# Services no connector can search; only a link directory (Odesli) finds them.
LINK_ONLY_PLATFORMS: tuple[str, ...] = (
    "amazon_music",
    "pandora",
    "audiomack",
    "boomplay",
    "anghami",
    "napster",
)
# Connectors tried first for the seed metadata: fullest track data (ISRCs) first.
SEED_PREFERENCE: tuple[str, ...] = ("spotify", "deezer", "apple_music", "tidal")

STORE_SUFFIX = re.compile(r"\s+-\s+(Single|EP)$", re.IGNORECASE)
STORE_PREFIX = re.compile(r"^(Album|EP|Single)\s+-\s+", re.IGNORECASE)


class ServiceLookupFailed(LaunchlinkError):
    """The service the pasted URL belongs to could not be asked (down, rate limited...)."""

    status_code = 502
    code = "service_lookup_failed"


class ServiceAppRefused(LaunchlinkError):
    """The service refused the app credentials the lookup of the pasted URL ran with
    (``invalid_client``...): a setup fault that trying again will not fix."""

    status_code = 503
    code = "service_app_refused"

    def __init__(self, message: str, *, service: str, reason: str, field: str | None) -> None:
        super().__init__(message, field=field)
        self.service = service
        self.reason = reason

    def advising(self, advice: str) -> ServiceAppRefused:
        """The same refusal, saying whose app it is and who can fix it."""
        return ServiceAppRefused(
            f"{self.message}: {advice}", service=self.service, reason=self.reason, field=self.field
        )


@dataclass(frozen=True)
class ResolveQuery:
    url: str | None = None
    upc: str | None = None
    isrc: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ResolvedTrack:
    position: int
    title: str
    isrc: str | None
    duration_ms: int | None


@dataclass(frozen=True)
class ResolvedRelease:
    title: str
    type: ReleaseType
    artists: tuple[str, ...]
    upc: str | None
    tracks: tuple[ResolvedTrack, ...]
    artwork_url: str | None
    release_date: str | None
    source: str

    @property
    def first_isrc(self) -> str | None:
        return self.tracks[0].isrc if self.tracks else None

    def target(self) -> matching.Target:
        durations = [track.duration_ms for track in self.tracks]
        total = sum(d for d in durations if d) if durations and all(durations) else None
        return matching.Target(
            title=self.title,
            artists=self.artists,
            track_count=len(self.tracks) or None,
            duration_ms=total,
            release_date=self.release_date,
        )


@dataclass(frozen=True)
class FoundDestination:
    service: str
    url: str
    matched_by: MatchedBy
    confidence: float | None = None
    service_id: str | None = None


@dataclass(frozen=True)
class MissingService:
    service: str
    reason: MissingReason
    detail: str


@dataclass(frozen=True)
class Resolution:
    release: ResolvedRelease
    destinations: tuple[FoundDestination, ...]
    missing: tuple[MissingService, ...]


Outcome = FoundDestination | MissingService


# -- guarded calls ----------------------------------------------------------------------------


def missing_for_error(platform: str, error: BaseException) -> MissingService:
    if isinstance(error, TimeoutError):
        return MissingService(platform, "timeout", "the service did not answer in time")
    if isinstance(error, RateLimited):
        return MissingService(platform, "rate_limited", "the service asked us to slow down")
    if isinstance(error, Unavailable):
        return MissingService(platform, "connector_unavailable", error.message)
    if isinstance(error, NotSupported):
        return MissingService(platform, "no_lookup_capability", error.message)
    if isinstance(error, NotAllowed):
        return MissingService(platform, "not_allowed", f"the service refused ({error.reason})")
    assert isinstance(error, ConnectorError)
    return MissingService(platform, "service_error", str(error))


async def refusing_app(
    connector: Connector, call: Callable[[], Awaitable[T]], *, display_name: str
) -> T:
    """``call``, with the service refusing the app's credentials raised as the permanent
    :class:`ServiceAppRefused` (which :func:`guarded` lets through) instead of a reason."""
    try:
        return await call()
    except NotAllowed as error:
        if error.reason not in APP_REFUSALS:
            raise
        client_id = app_client_id(connector)
        app = f"the app {client_id}" if client_id else "its app"
        raise ServiceAppRefused(
            f"{display_name} refused the credentials of {app} ({error.reason}); the lookup "
            "will fail until they are corrected",
            service=connector.service,
            reason=error.reason,
            field="url",
        ) from None


async def guarded(
    platform: str, timeout: float, call: Callable[[], Awaitable[T]]
) -> T | MissingService:
    """Run one service's lookups under its time budget; failures become a reason."""
    try:
        async with asyncio.timeout(timeout):
            return await call()
    except (ConnectorError, TimeoutError) as error:
        logger.info("auto-fill lookup on %s failed: %s", platform, type(error).__name__)
        return missing_for_error(platform, error)


# -- building blocks --------------------------------------------------------------------------


def platform_of(connector_service: str, url: str | None) -> str:
    parsed = parse_service_url(url) if url else None
    if parsed is not None:
        return parsed.platform
    return PLATFORM_FOR_CONNECTOR.get(connector_service, connector_service)


def destination(
    connector_service: str,
    url: str | None,
    matched_by: MatchedBy,
    *,
    service_id: str | None,
    confidence: float | None = None,
) -> Outcome:
    platform = platform_of(connector_service, url)
    if not url or platform not in PLATFORMS:
        return MissingService(platform, "service_error", "the service gave no usable link")
    try:
        checked = validate_destination_url(platform, url)
    except DestinationUrlError as error:
        return MissingService(platform, "service_error", f"unusable link: {error.message}")
    return FoundDestination(platform, checked, matched_by, confidence, service_id)


def release_type(match: ReleaseMatch) -> ReleaseType:
    suffix = STORE_SUFFIX.search(match.title) or STORE_PREFIX.search(match.title)
    if match.kind == "track" or match.is_single or (suffix and suffix.group(1).lower() == "single"):
        return ReleaseType.single
    if suffix and suffix.group(1).lower() == "ep":
        return ReleaseType.ep
    return ReleaseType.album


def valid_isrc(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_isrc(value)
    except IdentifierError:
        return None


def valid_upc(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_upc(value)
    except IdentifierError:
        return None


def tracks(tracks: Sequence[TrackInfo]) -> tuple[ResolvedTrack, ...]:
    return tuple(
        ResolvedTrack(
            position=index,
            title=track.title,
            isrc=valid_isrc(track.isrc),
            duration_ms=track.duration_ms,
        )
        for index, track in enumerate(tracks, start=1)
    )


def release_from_match(match: ReleaseMatch) -> ResolvedRelease:
    return ResolvedRelease(
        title=STORE_PREFIX.sub("", STORE_SUFFIX.sub("", match.title)).strip() or match.title,
        type=release_type(match),
        artists=match.artists,
        upc=valid_upc(match.upc),
        tracks=tracks(match.tracks),
        artwork_url=match.artwork_url,
        release_date=match.release_date,
        source=match.service,
    )


def release_from_track(track: TrackMatch) -> ResolvedRelease:
    return ResolvedRelease(
        title=track.title,
        type=ReleaseType.single,
        artists=track.artists,
        upc=None,
        tracks=(ResolvedTrack(1, track.title, valid_isrc(track.isrc), track.duration_ms),),
        artwork_url=track.artwork_url,
        release_date=track.release_date,
        source=track.service,
    )


def fill_gaps(release: ResolvedRelease, others: Sequence[ReleaseMatch]) -> ResolvedRelease:
    """Borrow what the seed lacks (artwork, date, UPC, tracks, ISRCs) from other hits.

    ``others`` are releases found by identifier or accepted by the confidence rules, so
    they are the same release; the seed's own values always win.
    """
    for other in others:
        if release.artwork_url is None and other.artwork_url:
            release = replace(release, artwork_url=other.artwork_url)
        if release.release_date is None and other.release_date:
            release = replace(release, release_date=other.release_date)
        if release.upc is None and valid_upc(other.upc):
            release = replace(release, upc=valid_upc(other.upc))
        if not release.tracks and other.tracks:
            release = replace(release, tracks=tracks(other.tracks))
        if len(other.tracks) == len(release.tracks) and any(
            track.isrc is None for track in release.tracks
        ):
            theirs = tracks(other.tracks)
            release = replace(
                release,
                tracks=tuple(
                    replace(ours, isrc=ours.isrc or their.isrc)
                    for ours, their in zip(release.tracks, theirs, strict=True)
                ),
            )
    return release


def can(connector: Connector, capability: Capability) -> bool:
    return capability in connector.capabilities
