"""Where a link is in the release lifecycle, for one visitor, right now.

Phase is a rule evaluated per request from the release timing, never a job that rewrites
the link (product brief, "The release lifecycle"). Two modes:

* ``global``: everybody switches at ``timing.instant``.
* ``local``: the release goes live at midnight of ``timing.local_date`` in the reference
  time zone of the visitor's territory (``timing.default_time_zone`` when the territory is
  unknown), so a fan in Los Angeles can still be before the release while a fan in London
  is already after it.

The pre-save work plugs in here: ``Phase.PRESAVE`` is the window between
``timing.presave_opens_at`` (or the link's creation when unset) and the visitor's release
instant; ``Phase.ANNOUNCE`` is the time before the pre-save opens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from launchlink.links.snapshot import ReleaseTiming

# Real UTC offsets run from -12:00 to +14:00; one more hour either side keeps us safe from
# an operator's odd time-zone table without making the "country matters" window much wider.
_EARLIEST_OFFSET = timedelta(hours=15)
_LATEST_OFFSET = timedelta(hours=13)


class Phase(StrEnum):
    ANNOUNCE = "announce"
    PRESAVE = "presave"
    LIVE = "live"

    @property
    def is_before_release(self) -> bool:
        return self is not Phase.LIVE


class ReleaseZones(Protocol):
    """The part of ``launchlink.kit.territories.TerritoryTimeZones`` phase rules need."""

    def zone_for(self, country: str | None, *, default_zone: str = ...) -> ZoneInfo: ...

    def local_midnight_release_instant(
        self, release_date: date, country: str | None, *, default_zone: str
    ) -> datetime: ...


class UndatedReleaseError(ValueError):
    """The timing carries no instant (global mode) or no date (local mode)."""


TIME_ZONE_COOKIE = "ll_tz"
"""The zone a fan chose (set by the pre-save flow); it overrides the country's zone."""


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def chosen_zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name`` (an untrusted cookie value), or None when it is not one."""
    if not name or len(name) > 64 or name not in _known_zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def chosen_zone_from_cookies(cookie_header: str | None) -> ZoneInfo | None:
    """The fan's chosen zone from a ``Cookie`` header (one pass, no full cookie parse)."""
    if not cookie_header or TIME_ZONE_COOKIE not in cookie_header:
        return None
    for part in cookie_header.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip() == TIME_ZONE_COOKIE:
            return chosen_zone(value.strip().strip('"'))
    return None


def release_instant_for(
    timing: ReleaseTiming,
    country: str | None,
    territories: ReleaseZones,
    zone: ZoneInfo | None = None,
) -> datetime:
    """The instant (UTC) at which the release goes live for a visitor from ``country``
    (in local mode, at midnight in ``zone`` when the fan chose one)."""
    if timing.mode == "global":
        if timing.instant is None:
            raise UndatedReleaseError("global release without an instant")
        return timing.instant.astimezone(UTC)
    if timing.local_date is None:
        raise UndatedReleaseError("local-midnight release without a date")
    if zone is not None:
        return datetime.combine(timing.local_date, time(0, 0), tzinfo=zone).astimezone(UTC)
    return territories.local_midnight_release_instant(
        timing.local_date, country, default_zone=timing.default_time_zone
    ).astimezone(UTC)


def phase_for(
    timing: ReleaseTiming,
    *,
    country: str | None,
    now: datetime,
    territories: ReleaseZones,
    zone: ZoneInfo | None = None,
) -> Phase:
    """The phase a visitor from ``country`` (or with a chosen ``zone``) sees at ``now``.

    A release without a date has nothing to count down to: it is served as a smart link.
    """
    try:
        release_instant = release_instant_for(timing, country, territories, zone)
    except UndatedReleaseError:
        return Phase.LIVE
    if now >= release_instant:
        return Phase.LIVE
    if timing.presave_opens_at is not None and now < timing.presave_opens_at:
        return Phase.ANNOUNCE
    return Phase.PRESAVE


def live_everywhere(timing: ReleaseTiming, now: datetime) -> bool:
    """True when every visitor, whatever their territory, is past the release.

    Lets the hot path skip the country lookup for the (common) catalogue case.
    """
    if timing.mode == "global":
        return timing.instant is None or now >= timing.instant
    if timing.local_date is None:
        return True
    naive_midnight = datetime.combine(timing.local_date, time(0, 0), tzinfo=UTC)
    return now >= naive_midnight + _LATEST_OFFSET


def before_release_everywhere(timing: ReleaseTiming, now: datetime) -> bool:
    """True when no visitor anywhere has reached the release yet."""
    if timing.mode == "global":
        return timing.instant is not None and now < timing.instant
    if timing.local_date is None:
        return False
    naive_midnight = datetime.combine(timing.local_date, time(0, 0), tzinfo=UTC)
    return now < naive_midnight - _EARLIEST_OFFSET


def visitor_zone_name(
    timing: ReleaseTiming,
    country: str | None,
    territories: ReleaseZones,
    zone: ZoneInfo | None = None,
) -> str:
    """The time zone in which to show the release moment to this visitor."""
    if zone is not None:
        return zone.key
    return territories.zone_for(country, default_zone=timing.default_time_zone).key


CountdownUnit = Literal["days", "hours", "soon"]


@dataclass(frozen=True, slots=True)
class Countdown:
    """How long is left, coarse enough that a cached page stays right for a while."""

    unit: CountdownUnit
    amount: int

    @classmethod
    def between(cls, now: datetime, release_instant: datetime) -> Countdown:
        remaining = release_instant - now
        if remaining >= timedelta(days=1):
            return cls("days", math.ceil(remaining / timedelta(days=1)))
        if remaining >= timedelta(hours=1):
            return cls("hours", math.ceil(remaining / timedelta(hours=1)))
        return cls("soon", 0)
