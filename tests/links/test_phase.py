from datetime import UTC, date, datetime, timedelta

import pytest

from launchlink.kit.territories import TerritoryTimeZones
from launchlink.links.phase import (
    Countdown,
    Phase,
    UndatedReleaseError,
    before_release_everywhere,
    live_everywhere,
    phase_for,
    release_instant_for,
    visitor_zone_name,
)
from launchlink.links.snapshot import ReleaseTiming

TERRITORIES = TerritoryTimeZones.load()
RELEASE_DAY = date(2026, 12, 4)
LOCAL = ReleaseTiming(
    mode="local", instant=None, local_date=RELEASE_DAY, default_time_zone="America/New_York"
)
GLOBAL = ReleaseTiming(
    mode="global",
    instant=datetime(2026, 12, 4, 0, 0, tzinfo=UTC),
    local_date=None,
    default_time_zone="Europe/London",
)
# Half past midnight in London on release day: evening of the day before in the Americas.
JUST_AFTER_LONDON_MIDNIGHT = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)


def test_local_mode_london_is_live_while_the_united_states_waits() -> None:
    now = JUST_AFTER_LONDON_MIDNIGHT
    assert phase_for(LOCAL, country="GB", now=now, territories=TERRITORIES) is Phase.LIVE
    assert phase_for(LOCAL, country="US", now=now, territories=TERRITORIES) is Phase.PRESAVE


def test_local_mode_goes_live_at_local_midnight_of_the_territory() -> None:
    london_midnight = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert release_instant_for(LOCAL, "GB", TERRITORIES) == london_midnight
    tokyo_midnight = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    assert release_instant_for(LOCAL, "JP", TERRITORIES) == tokyo_midnight
    one_second = timedelta(seconds=1)
    assert (
        phase_for(LOCAL, country="JP", now=tokyo_midnight - one_second, territories=TERRITORIES)
        is Phase.PRESAVE
    )
    assert phase_for(LOCAL, country="JP", now=tokyo_midnight, territories=TERRITORIES) is Phase.LIVE


def test_local_mode_uses_the_default_zone_for_an_unknown_territory() -> None:
    new_york_midnight = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
    assert release_instant_for(LOCAL, None, TERRITORIES) == new_york_midnight
    assert visitor_zone_name(LOCAL, None, TERRITORIES) == "America/New_York"


def test_global_mode_switches_everyone_at_one_instant() -> None:
    before = GLOBAL.instant - timedelta(seconds=1)  # type: ignore[operator]
    for country in ("GB", "US", "JP", None):
        assert (
            phase_for(GLOBAL, country=country, now=before, territories=TERRITORIES) is Phase.PRESAVE
        )
        assert (
            phase_for(GLOBAL, country=country, now=GLOBAL.instant, territories=TERRITORIES)
            is Phase.LIVE
        )  # type: ignore[arg-type]


def test_before_the_presave_opens_the_link_only_announces() -> None:
    timing = ReleaseTiming(
        mode="global",
        instant=datetime(2026, 12, 4, tzinfo=UTC),
        local_date=None,
        default_time_zone="UTC",
        presave_opens_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    early = datetime(2026, 11, 1, tzinfo=UTC)
    opened = datetime(2026, 11, 25, tzinfo=UTC)
    assert phase_for(timing, country="FR", now=early, territories=TERRITORIES) is Phase.ANNOUNCE
    assert phase_for(timing, country="FR", now=opened, territories=TERRITORIES) is Phase.PRESAVE


def test_an_undated_release_is_served_as_a_smart_link() -> None:
    undated = ReleaseTiming(mode="local", instant=None, local_date=None, default_time_zone="UTC")
    assert (
        phase_for(undated, country="GB", now=GLOBAL.instant, territories=TERRITORIES) is Phase.LIVE
    )  # type: ignore[arg-type]
    with pytest.raises(UndatedReleaseError):
        release_instant_for(undated, "GB", TERRITORIES)


@pytest.mark.parametrize("hours_from_midnight", range(-30, 31, 2))
def test_the_everywhere_shortcuts_agree_with_every_territory(hours_from_midnight: int) -> None:
    now = datetime(2026, 12, 4, tzinfo=UTC) + timedelta(hours=hours_from_midnight)
    countries = ["GB", "US", "JP", "NZ", "KI", "AU", "BR", "IN", "DE", None]
    phases = {phase_for(LOCAL, country=c, now=now, territories=TERRITORIES) for c in countries}
    if live_everywhere(LOCAL, now):
        assert phases == {Phase.LIVE}
    if before_release_everywhere(LOCAL, now):
        assert Phase.LIVE not in phases


def test_the_shortcuts_are_decisive_far_from_release_day() -> None:
    assert live_everywhere(LOCAL, datetime(2026, 12, 6, tzinfo=UTC))
    assert before_release_everywhere(LOCAL, datetime(2026, 12, 2, tzinfo=UTC))
    assert not live_everywhere(LOCAL, JUST_AFTER_LONDON_MIDNIGHT)


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (timedelta(days=3), Countdown("days", 3)),
        (timedelta(days=2, hours=1), Countdown("days", 3)),
        (timedelta(days=1), Countdown("days", 1)),
        (timedelta(hours=23, minutes=1), Countdown("hours", 24)),
        (timedelta(hours=1), Countdown("hours", 1)),
        (timedelta(minutes=59), Countdown("soon", 0)),
    ],
)
def test_countdown_is_coarse_and_rounds_up(remaining: timedelta, expected: Countdown) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert Countdown.between(now, now + remaining) == expected
