"""A fan's release instant and phase: territory zone, or the zone the fan chose."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from launchlink.links.phase import Phase, ReleaseZones, phase_for, release_instant_for
from launchlink.links.snapshot import ReleaseTiming
from launchlink.models import Campaign, Release

_ZONES: frozenset[str] | None = None


def known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def valid_zone(name: str | None) -> str | None:
    """``name`` when it is a real IANA zone (cookies and query strings are untrusted)."""
    if not name or len(name) > 64 or name not in known_zones():
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


class ChosenZone:
    """A :class:`ReleaseZones` that answers the fan's own zone whatever the country."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)

    def zone_for(self, country: str | None, *, default_zone: str = "UTC") -> ZoneInfo:
        return self.zone

    def local_midnight_release_instant(
        self, release_date: date, country: str | None, *, default_zone: str
    ) -> datetime:
        return datetime.combine(release_date, time(0, 0), tzinfo=self.zone).astimezone(UTC)


def timing_of(release: Release, campaign: Campaign | None) -> ReleaseTiming:
    return ReleaseTiming(
        mode="global" if release.release_mode.value == "global" else "local",
        instant=release.release_instant,
        local_date=release.release_date,
        default_time_zone=release.time_zone,
        presave_opens_at=campaign.presave_opens_at if campaign is not None else None,
    )


def zones_for(territories: ReleaseZones, chosen_zone: str | None) -> ReleaseZones:
    zone = valid_zone(chosen_zone)
    return ChosenZone(zone) if zone is not None else territories


def fan_zone_name(
    timing: ReleaseTiming, country: str | None, territories: ReleaseZones, chosen: str | None
) -> str:
    zone = valid_zone(chosen)
    if zone is not None:
        return zone
    if country is None:
        return timing.default_time_zone
    return territories.zone_for(country, default_zone=timing.default_time_zone).key


def fan_release_instant(
    timing: ReleaseTiming, country: str | None, territories: ReleaseZones, chosen: str | None
) -> datetime:
    return release_instant_for(timing, country, zones_for(territories, chosen))


def fan_phase(
    timing: ReleaseTiming,
    *,
    country: str | None,
    now: datetime,
    territories: ReleaseZones,
    chosen_zone: str | None,
) -> Phase:
    return phase_for(
        timing, country=country, now=now, territories=zones_for(territories, chosen_zone)
    )
