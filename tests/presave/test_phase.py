"""The same URL is the pre-save page before a fan's release instant and the smart link after."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import browser_for, csrf_of, make_presave_link

LOCAL_RELEASE = {"release_mode": "local", "release_instant": None, "release_date": "2026-03-06"}


def _is_presave_page(html: str) -> bool:
    return 'id="presave-form"' in html


def _is_smart_link(html: str) -> bool:
    return 'id="services-title"' in html


async def _page(app: Application, **headers: str) -> str:
    async with browser_for(app, **headers) as browser:
        response = await browser.get("/soon")
    assert response.status_code == 200
    return response.text


async def test_local_mode_keeps_los_angeles_on_the_presave_page_while_london_is_live(
    papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label, release=LOCAL_RELEASE)
    # 2026-03-06 02:00 UTC: 02:00 in London, 18:00 the day before in Los Angeles.
    clock.set(datetime(2026, 3, 6, 2, 0, tzinfo=UTC))
    london = await _page(papp, **{"CF-IPCountry": "GB"})
    los_angeles = await _page(papp, **{"CF-IPCountry": "US", "Cookie": "ll_tz=America/Los_Angeles"})
    new_york = await _page(papp, **{"CF-IPCountry": "US"})
    assert _is_smart_link(london)
    assert not _is_presave_page(london)
    assert _is_presave_page(los_angeles)
    assert "Los Angeles" in los_angeles
    assert _is_presave_page(new_york)  # US reference zone: midnight Eastern, not yet


async def test_global_mode_switches_everyone_at_the_same_instant(
    papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label)
    clock.set(datetime(2026, 3, 5, 23, 59, tzinfo=UTC))
    assert _is_presave_page(await _page(papp, **{"CF-IPCountry": "GB"}))
    assert _is_presave_page(await _page(papp, **{"CF-IPCountry": "JP"}))
    clock.set(datetime(2026, 3, 6, 0, 0, tzinfo=UTC))
    assert _is_smart_link(await _page(papp, **{"CF-IPCountry": "GB"}))
    assert _is_smart_link(await _page(papp, **{"CF-IPCountry": "US"}))


async def test_before_presaves_open_the_link_is_an_announce_teaser(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    await make_presave_link(admin, label, campaign={"presave_opens_at": "2026-03-03T00:00:00Z"})
    html = await _page(papp)
    assert "Coming soon" in html
    assert not _is_presave_page(html)


async def test_pre_saves_are_refused_once_the_fan_is_past_the_release(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label)
    page = await fan.get("/soon")
    csrf = csrf_of(page.text)
    clock.set(datetime(2026, 3, 7, tzinfo=UTC))
    late = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
    assert late.status_code == 303
    assert late.headers["location"] == "/soon"


async def test_the_calendar_event_is_at_the_fans_release_instant(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, release=LOCAL_RELEASE)
    response = await fan.get("/presave/soon/calendar.ics?zone=America/Los_Angeles")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "DTSTART:20260306T080000Z" in response.text
    assert "BEGIN:VEVENT" in response.text


async def test_a_fans_chosen_zone_past_midnight_sees_the_smart_link_before_their_country(
    papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label, release=LOCAL_RELEASE)
    # 2026-03-05 16:00 UTC: 01:00 on the 6th in Tokyo, 11:00 on the 5th in New York.
    clock.set(datetime(2026, 3, 5, 16, 0, tzinfo=UTC))
    in_tokyo = await _page(papp, **{"CF-IPCountry": "US", "Cookie": "ll_tz=Asia/Tokyo"})
    by_country = await _page(papp, **{"CF-IPCountry": "US"})
    assert _is_smart_link(in_tokyo)
    assert not _is_presave_page(in_tokyo)
    assert _is_presave_page(by_country)


async def test_the_teaser_counts_down_to_midnight_in_the_chosen_zone(
    papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    await make_presave_link(
        admin, label, release=LOCAL_RELEASE, campaign={"presave_opens_at": "2026-03-05T00:00:00Z"}
    )
    # 2026-03-04 12:00 UTC: the pre-save opens later, the public front serves the announce
    # teaser with a countdown; 12 h to Tokyo's midnight of the 6th minus a day is 1 day 3 h.
    clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    tokyo = await _page(papp, **{"CF-IPCountry": "US", "Cookie": "ll_tz=Asia/Tokyo"})
    new_york = await _page(papp, **{"CF-IPCountry": "US"})
    assert "Tokyo" in tokyo
    assert "Tokyo" not in new_york
    assert tokyo != new_york


async def test_a_chosen_zone_does_not_move_a_global_release(
    papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label)
    clock.set(datetime(2026, 3, 5, 16, 0, tzinfo=UTC))
    assert _is_presave_page(
        await _page(papp, **{"CF-IPCountry": "US", "Cookie": "ll_tz=Asia/Tokyo"})
    )
