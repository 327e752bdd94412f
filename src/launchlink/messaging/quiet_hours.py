"""Quiet hours: when a message may reach a fan, in the fan's own time zone.

The built-in rules (:data:`DEFAULT_RULES`: 8:00-21:00 for SMS everywhere, stricter hours
for the US states whose laws say so) apply unless the ``quiet_hours_rule`` table has a
row for the same scope and channel, which replaces it (``0``-``1440`` lifts a rule). For a
fan the most specific rule of the channel wins: the fan's subdivision (``US-FL``), else
the country (``US``), else ``*``; a channel without any rule has no quiet hours (email,
by default).
A message planned inside quiet hours is deferred to the next allowed minute, never
dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from launchlink.kit.clock import ensure_aware

MINUTES_PER_DAY = 24 * 60

DEFAULT_RULES: dict[str, tuple[tuple[str, int, int, str], ...]] = {
    "sms": (
        ("*", 8 * 60, 21 * 60, "8:00-21:00 (the US TCPA's hours, applied everywhere)"),
        ("US-FL", 8 * 60, 20 * 60, "Florida Telephone Solicitation Act: 8:00-20:00"),
        ("US-OK", 8 * 60, 20 * 60, "Oklahoma Telephone Solicitation Act: 8:00-20:00"),
        ("US-MD", 8 * 60, 20 * 60, "Maryland Stop the Spam Calls Act: 8:00-20:00"),
        ("US-WA", 8 * 60, 20 * 60, "Washington RCW 80.36.390: 8:00-20:00"),
        ("US-TX", 9 * 60, 21 * 60, "Texas: 9:00-21:00 (its Sunday noon start is not modelled)"),
    ),
}


class InvalidQuietHours(ValueError):
    """A rule whose window is empty or outside the day."""


@dataclass(frozen=True, slots=True)
class Window:
    allowed_from: int
    """Minutes after local midnight, inclusive."""
    allowed_until: int
    """Minutes after local midnight, exclusive."""

    def __post_init__(self) -> None:
        if not 0 <= self.allowed_from < self.allowed_until <= MINUTES_PER_DAY:
            raise InvalidQuietHours(
                "allowed hours must start before they end, within one day (0-1440 minutes)"
            )


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The rules of one channel: scope (``*``, ``US``, ``US-FL``) → window."""

    windows: dict[str, Window]

    @classmethod
    def of(cls, rules: Iterable[tuple[str, int, int]]) -> QuietHours:
        return cls({scope.upper(): Window(start, end) for scope, start, end in rules})

    @classmethod
    def for_channel(cls, channel: str, overrides: Iterable[tuple[str, int, int]]) -> QuietHours:
        """The built-in rules of ``channel`` with the table's rows over them."""
        rules = {scope: (start, end) for scope, start, end, _ in DEFAULT_RULES.get(channel, ())}
        rules.update({scope.upper(): (start, end) for scope, start, end in overrides})
        return cls.of((scope, start, end) for scope, (start, end) in rules.items())

    def window_for(self, country: str | None, region: str | None) -> Window | None:
        for scope in (region, country, "*"):
            if scope and (found := self.windows.get(scope.upper())) is not None:
                return found
        return None

    def next_allowed(
        self, at: datetime, *, zone: str, country: str | None, region: str | None
    ) -> datetime:
        """``at`` when it is inside the allowed hours of the fan's place, else the next
        allowed instant (the start of the window, the same or the next local day)."""
        at = ensure_aware(at)
        window = self.window_for(country, region)
        if window is None:
            return at
        tz = _zone(zone)
        local = at.astimezone(tz)
        minute = local.hour * 60 + local.minute
        if window.allowed_from <= minute < window.allowed_until:
            return at
        day = local.date() if minute < window.allowed_from else local.date() + timedelta(days=1)
        start = datetime(
            day.year,
            day.month,
            day.day,
            window.allowed_from // 60,
            window.allowed_from % 60,
            tzinfo=tz,
        )
        return ensure_aware(start)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
