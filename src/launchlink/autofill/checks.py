"""Pre-launch checks: is the release where it must be before release day?

For each connector that can look a UPC up: is the release there yet (``found``), not yet
(``not_yet``: normal before delivery) or could the service not be asked (``unavailable``,
with the reason). Where found and the service lists ISRCs, each of our tracks is compared:
``match`` (our ISRC is on the service's release), ``mismatch`` (another ISRC sits at our
track's position and ours is absent), ``missing`` (ours is absent and nothing is at that
position), ``no_isrc`` (we hold none) or ``unknown`` (the service gives none).
Apple pre-add is possible when Apple lists the release as a pre-order and it is not a
single (Apple offers pre-add for albums and EPs only, platform-apis.md §2.7).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from launchlink.autofill.outcomes import PLATFORM_FOR_CONNECTOR, MissingService, guarded
from launchlink.autofill.schemas import IsrcStatus, UpcStatus
from launchlink.autofill.sources import LookupSources
from launchlink.connectors.base import Capability, ReleaseMatch
from launchlink.models import Release
from launchlink.models.catalog import ReleaseType

APPLE = "apple_music"


@dataclass(frozen=True)
class ServiceCheck:
    service: str
    upc_status: UpcStatus
    detail: str | None = None
    match: ReleaseMatch | None = None


@dataclass(frozen=True)
class TrackCheck:
    position: int
    title: str
    isrc: str | None
    services: dict[str, IsrcStatus]


@dataclass(frozen=True)
class ApplePreadd:
    eligible: bool | None
    detail: str


@dataclass(frozen=True)
class ReleaseChecks:
    checked_at: datetime
    upc: str | None
    services: tuple[ServiceCheck, ...]
    tracks: tuple[TrackCheck, ...]
    apple_preadd: ApplePreadd
    issues: list[str] = field(default_factory=list)


async def _check_service(
    sources: LookupSources, service: str, upc: str, country: str | None
) -> ServiceCheck:
    platform = PLATFORM_FOR_CONNECTOR.get(service, service)
    connector = sources.connectors[service]
    if not connector.available:
        return ServiceCheck(platform, "unavailable", connector.unavailable_reason)
    found = await guarded(
        platform,
        sources.timeout_seconds,
        partial(connector.find_release_by_upc, upc, country=country),
    )
    if isinstance(found, MissingService):
        return ServiceCheck(platform, "unavailable", found.detail)
    if found is None:
        return ServiceCheck(platform, "not_yet", "no release with this UPC on the service yet")
    return ServiceCheck(platform, "found", None, found)


def _isrc_status(position: int, isrc: str | None, match: ReleaseMatch) -> IsrcStatus:
    theirs = [track.isrc.upper() if track.isrc else None for track in match.tracks]
    if not any(theirs):
        return "unknown"
    if isrc is None:
        return "no_isrc"
    if isrc.upper() in theirs:
        return "match"
    return "mismatch" if position <= len(theirs) and theirs[position - 1] else "missing"


def _apple_preadd(release: Release, apple: ServiceCheck | None) -> ApplePreadd:
    if release.type is ReleaseType.single:
        return ApplePreadd(False, "Apple Music offers pre-add for albums and EPs, not singles")
    if apple is None or apple.upc_status == "unavailable":
        reason = apple.detail if apple is not None else "Apple Music has no connector here"
        return ApplePreadd(None, f"Apple Music could not be asked: {reason}")
    if apple.match is None:
        return ApplePreadd(
            False,
            "Apple Music does not list this UPC yet; ask the distributor to deliver it "
            "with a pre-order date",
        )
    if apple.match.is_preorder:
        return ApplePreadd(True, "Apple Music lists the release as a pre-order")
    return ApplePreadd(False, "Apple Music lists the release, but not as a pre-order")


def _issues(checks: ReleaseChecks) -> list[str]:
    issues = []
    for check in checks.services:
        if check.upc_status == "not_yet":
            issues.append(f"{check.service}: the UPC is not found yet")
        elif check.upc_status == "unavailable":
            issues.append(f"{check.service}: could not be checked ({check.detail})")
    for track in checks.tracks:
        wrong = sorted(
            s for s, status in track.services.items() if status in ("mismatch", "missing")
        )
        if wrong:
            issues.append(
                f"track {track.position} ({track.title}): ISRC not found on {', '.join(wrong)}"
            )
        if any(status == "no_isrc" for status in track.services.values()):
            issues.append(f"track {track.position} ({track.title}): add its ISRC")
    return issues


async def check_release(
    sources: LookupSources, release: Release, *, now: datetime, country: str | None = None
) -> ReleaseChecks:
    """Run every pre-launch check of ``release`` against the services, concurrently."""
    if release.upc is None:
        checks = ReleaseChecks(
            checked_at=now,
            upc=None,
            services=(),
            tracks=(),
            apple_preadd=ApplePreadd(None, "the release has no UPC to look up"),
        )
        checks.issues.append("add the release's UPC: services are checked by UPC")
        return checks
    services = [
        service
        for service, connector in sources.connectors.items()
        if Capability.LOOKUP_UPC in connector.capabilities
    ]
    results = await asyncio.gather(
        *(_check_service(sources, service, release.upc, country) for service in services)
    )
    found = [check for check in results if check.match is not None]
    tracks = tuple(
        TrackCheck(
            position=track.position,
            title=track.title,
            isrc=track.isrc,
            services={
                check.service: _isrc_status(track.position, track.isrc, check.match)
                for check in found
                if check.match is not None
            },
        )
        for track in release.tracks
    )
    apple = next((check for check in results if check.service == APPLE), None)
    checks = ReleaseChecks(
        checked_at=now,
        upc=release.upc,
        services=tuple(results),
        tracks=tracks,
        apple_preadd=_apple_preadd(release, apple),
    )
    checks.issues.extend(_issues(checks))
    return checks
