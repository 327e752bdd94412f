from datetime import UTC, date, datetime, timedelta

from tests.links.test_public_support import (
    client,
    destination_url,
    make_harness,
    make_snapshot,
    release_day,
)

RELEASE_DAY = date(2026, 12, 4)
# 00:30 in London on release day; 16:30 the day before in Los Angeles.
LONDON_HALF_PAST_MIDNIGHT = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)


async def test_local_release_london_is_live_while_los_angeles_sees_the_teaser() -> None:
    harness = make_harness(
        make_snapshot(timing=release_day(RELEASE_DAY)), now=LONDON_HALF_PAST_MIDNIGHT
    )
    async with (
        client(harness, country="GB") as london,
        client(harness, country="US") as los_angeles,
    ):
        in_london = await london.get("/night-drive")
        in_los_angeles = await los_angeles.get("/night-drive")
    assert 'href="/night-drive/spotify"' in in_london.text
    assert "Coming soon" not in in_london.text
    assert "Coming soon" in in_los_angeles.text
    assert 'href="/night-drive/spotify"' not in in_los_angeles.text
    assert "<time datetime=" in in_los_angeles.text


async def test_the_teaser_gives_the_date_in_the_visitors_time_without_javascript() -> None:
    harness = make_harness(
        make_snapshot(timing=release_day(RELEASE_DAY, mode="global")),
        now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )
    async with client(harness, country="GB") as london, client(harness, country="DE") as berlin:
        in_london = await london.get("/night-drive")
        in_berlin = await berlin.get("/night-drive", headers={"accept-language": "de"})
    assert (
        '<time datetime="2026-12-04T00:00:00+00:00">Friday, 4 December 2026, midnight</time>'
        in in_london.text
    )
    assert "3 days to go" in in_london.text
    assert "Time zone: London" in in_london.text
    assert (
        '<time datetime="2026-12-04T01:00:00+01:00">Freitag, 4. Dezember 2026, 01:00</time>'
        in in_berlin.text
    )
    assert "Noch 3 Tage" in in_berlin.text
    assert "<script>" not in in_london.text


async def test_global_release_switches_every_visitor_at_the_same_instant() -> None:
    timing = release_day(RELEASE_DAY, mode="global")
    harness = make_harness(
        make_snapshot(timing=timing), now=datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC)
    )
    countries = ("GB", "US", "JP")
    before = []
    after = []
    for country in countries:
        async with client(harness, country=country) as fan:
            before.append((await fan.get("/night-drive")).text)
    harness.clock.advance(timedelta(seconds=1))
    for country in countries:
        async with client(harness, country=country) as fan:
            after.append((await fan.get("/night-drive")).text)
    assert all("Coming soon" in page for page in before)
    assert all('href="/night-drive/spotify"' in page for page in after)


async def test_always_use_waits_until_the_release_is_live_for_the_visitor() -> None:
    harness = make_harness(
        make_snapshot(timing=release_day(RELEASE_DAY)), now=LONDON_HALF_PAST_MIDNIGHT
    )
    async with client(harness, country="US", cookie="ll_always=spotify") as fan:
        teaser = await fan.get("/night-drive")
        harness.clock.set(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
        live = await fan.get("/night-drive")
    assert teaser.status_code == 200
    assert live.status_code == 302
    assert live.headers["location"] == destination_url("spotify")


async def test_the_teaser_countdown_moves_on_as_time_passes() -> None:
    harness = make_harness(
        make_snapshot(timing=release_day(RELEASE_DAY, mode="global")),
        now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )
    async with client(harness, country="GB") as fan:
        three_days = await fan.get("/night-drive")
        harness.clock.set(datetime(2026, 12, 3, 20, 0, tzinfo=UTC))
        hours = await fan.get("/night-drive")
    assert "3 days to go" in three_days.text
    assert "4 hours to go" in hours.text


async def test_a_chosen_time_zone_beats_the_country_in_local_mode() -> None:
    # 15:30 UTC on the 3rd: 00:30 on release day in Tokyo, 10:30 the day before in New York.
    harness = make_harness(
        make_snapshot(timing=release_day(RELEASE_DAY)),
        now=datetime(2026, 12, 3, 15, 30, tzinfo=UTC),
    )
    async with client(harness, country="US") as visitor:
        chosen_tokyo = await visitor.get("/night-drive", headers={"cookie": "ll_tz=Asia/Tokyo"})
        by_country = await visitor.get("/night-drive")
        forged = await visitor.get("/night-drive", headers={"cookie": "ll_tz=Mars/Olympus"})
    assert 'href="/night-drive/spotify"' in chosen_tokyo.text
    assert "Coming soon" not in chosen_tokyo.text
    assert "Coming soon" in by_country.text
    assert forged.text == by_country.text


async def test_the_countdown_runs_to_midnight_in_the_chosen_zone() -> None:
    harness = make_harness(
        make_snapshot(timing=release_day(RELEASE_DAY)),
        now=datetime(2026, 12, 2, 15, 30, tzinfo=UTC),
    )
    async with client(harness, country="US") as visitor:
        by_country = await visitor.get("/night-drive")
        chosen_tokyo = await visitor.get("/night-drive", headers={"cookie": "ll_tz=Asia/Tokyo"})
    assert "Time zone: Tokyo" in chosen_tokyo.text
    assert '<time datetime="2026-12-04T00:00:00+09:00">' in chosen_tokyo.text
    assert "Time zone: New York" in by_country.text  # the cached page did not leak across zones
