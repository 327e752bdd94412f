"""The Release section of a campaign: moving the release (through the API's own service, so
waiting pre-saves move with it and ``release.moved`` is emitted), "release now", field
errors, roles."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import AuditEntry, Link, Presave, Release
from launchlink.models.outbox import OutboxEvent
from launchlink.models.presave import PresaveState
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import (
    Browser,
    BrowserFactory,
    Inbox,
    invite_and_join,
    seed_fan,
)
from tests.links.test_public_support import IPHONE

# After the demo album is out: the simulated Spotify shows no album before its release day.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def campaign(artist: tuple[Browser, str]) -> tuple[Browser, str, UUID]:
    """A campaign made from a paste, its release moved to April and taking pre-saves."""
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "midnight"}
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    moved = await browser.post(
        f"{url}/release",
        {"release_mode": "global", "release_date": "2026-04-01", "time_zone": "UTC"},
    )
    assert moved.status_code == 303, moved.text
    switched = await browser.post(f"{url}/release/presave", {"enabled": "1"})
    assert switched.status_code == 303, switched.text
    return browser, url, UUID(url.rsplit("/", 1)[1])


async def _release(app: Application, link_id: UUID) -> Release:
    async with app.context.database.sessionmaker() as session:
        link = (await session.execute(select(Link).where(Link.id == link_id))).scalar_one()
        return (
            await session.execute(select(Release).where(Release.id == link.release_id))
        ).scalar_one()


async def _outbox_types(app: Application) -> list[str]:
    async with app.context.database.sessionmaker() as session:
        return list((await session.execute(select(OutboxEvent.type))).scalars())


async def test_moving_the_release_moves_its_waiting_presaves_and_is_audited(
    campaign: tuple[Browser, str, UUID], sim_app: Application
) -> None:
    browser, url, link_id = campaign
    page = await browser.get(f"{url}/release")
    assert page.status_code == 200
    assert "Not out yet" in page.text
    await seed_fan(
        sim_app, link_id, email="fan@example.com", email_consent=False, state=PresaveState.waiting
    )
    moved = await browser.post(
        f"{url}/release",
        {
            "release_mode": "global",
            "release_date": "2026-05-01",
            "release_time": "09:30",
            "time_zone": "Europe/Paris",
        },
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"].endswith("/release?done=saved")
    release = await _release(sim_app, link_id)
    assert release.release_instant == datetime(2026, 5, 1, 7, 30, tzinfo=UTC)
    async with sim_app.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        entries = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "release.moved"))
        ).scalars()
        afters = [entry.after or {} for entry in entries]
    assert presave.due_at == datetime(2026, 5, 1, 7, 30, tzinfo=UTC)
    moved_here = [a for a in afters if a["release_instant"] == "2026-05-01T07:30:00+00:00"]
    assert len(moved_here) == 1
    assert moved_here[0]["replanned"] == 1
    assert "release.moved" in await _outbox_types(sim_app)
    shown = await browser.get(f"{url}/release?done=saved")
    assert 'value="09:30"' in shown.text
    assert 'value="Europe/Paris"' in shown.text


async def test_release_now_makes_it_out_at_once_and_the_button_goes(
    campaign: tuple[Browser, str, UUID], sim_app: Application
) -> None:
    browser, url, link_id = campaign
    assert 'id="release-now"' in (await browser.get(f"{url}/release")).text
    response = await browser.post(f"{url}/release/now", {})
    assert response.status_code == 303, response.text
    release = await _release(sim_app, link_id)
    assert release.release_instant == NOW
    page = await browser.get(response.headers["location"])
    assert "Out now" in page.text
    assert "Released: it is out now" in page.text
    assert 'id="release-now"' not in page.text
    async with sim_app.context.database.sessionmaker() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "release.released_now" in actions


async def test_release_now_of_a_local_release_says_it_turns_global_and_audits_the_old_plan(
    campaign: tuple[Browser, str, UUID], sim_app: Application
) -> None:
    browser, url, link_id = campaign
    local = {"release_mode": "local", "release_date": "2026-04-01", "time_zone": "Europe/London"}
    assert (await browser.post(f"{url}/release", local)).status_code == 303
    page = await browser.get(f"{url}/release")
    effect = page.text.split('id="release-now-effect">', 1)[1].split("</p>", 1)[0]
    assert "makes this a global release" in effect
    assert "instead of at local midnight of 2026-04-01 in each territory" in effect
    assert "Release now everywhere, instead of at local midnight" in page.text
    unconfirmed = await browser.post(f"{url}/release/now", {})
    assert unconfirmed.status_code == 422, unconfirmed.text
    assert 'id="e-confirm"' in unconfirmed.text
    assert (await _release(sim_app, link_id)).release_instant is None
    confirmed = await browser.post(f"{url}/release/now", {"confirm": "1"})
    assert confirmed.status_code == 303, confirmed.text
    release = await _release(sim_app, link_id)
    assert release.release_instant == NOW
    async with sim_app.context.database.sessionmaker() as session:
        entry = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "release.released_now")
            )
        ).scalar_one()
    assert entry.before is not None
    assert entry.before["release_mode"] == "local"
    assert entry.before["release_date"] == "2026-04-01"
    plan = entry.before["plan"]
    assert plan.startswith("local midnight of 2026-04-01 in each territory")
    assert "(NZ)" in plan  # the first midnight of the markets shown
    assert entry.after is not None
    assert entry.after["release_mode"] == "global"


async def test_release_now_of_a_global_release_names_the_moment_it_replaces(
    campaign: tuple[Browser, str, UUID],
) -> None:
    browser, url, _ = campaign
    page = await browser.get(f"{url}/release")
    assert "Release now, everywhere, instead of 2026-04-01 00:00 UTC" in page.text
    assert 'id="f-confirm"' not in page.text


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"release_mode": "global", "release_date": "", "time_zone": "UTC"}, ["release_date"]),
        (
            {"release_mode": "sideways", "release_date": "soon", "time_zone": "Mars/Olympus"},
            ["release_mode", "release_date", "time_zone"],
        ),
        (
            {"release_mode": "global", "release_date": "2026-05-01", "release_time": "25:99"},
            ["release_time", "time_zone"],
        ),
        (
            {"release_mode": "local", "release_date": "1066-10-14", "time_zone": "UTC"},
            ["release_date"],
        ),
    ],
)
async def test_bad_input_is_a_field_error_and_moves_nothing(
    campaign: tuple[Browser, str, UUID],
    sim_app: Application,
    data: dict[str, str],
    fields: list[str],
) -> None:
    browser, url, link_id = campaign
    before = await _release(sim_app, link_id)
    response = await browser.post(f"{url}/release", data)
    assert response.status_code == 422, response.text
    for name in fields:
        assert f'id="e-{name}"' in response.text, name
    after = await _release(sim_app, link_id)
    assert (after.release_instant, after.release_date) == (
        before.release_instant,
        before.release_date,
    )


async def test_a_viewer_sees_the_release_but_cannot_move_it(
    campaign: tuple[Browser, str, UUID],
    sim_app: Application,
    browsers_on_sim: BrowserFactory,
    inbox: Inbox,
) -> None:
    owner, url, link_id = campaign
    workspace_id = UUID(url.split("/")[3])
    viewer = await browsers_on_sim()
    await invite_and_join(owner, viewer, inbox, workspace_id, "viewer@example.com", "viewer")
    page = await viewer.get(f"{url}/release")
    assert page.status_code == 200
    assert 'id="release-now"' not in page.text
    assert "can look at the release but not change it" in page.text
    before = await _release(sim_app, link_id)
    refused = [
        (await viewer.post(f"{url}/release/now", {})).status_code,
        (
            await viewer.post(
                f"{url}/release",
                {"release_mode": "global", "release_date": "2026-04-01", "time_zone": "UTC"},
            )
        ).status_code,
    ]
    assert refused == [403, 403]
    after = await _release(sim_app, link_id)
    assert after.release_instant == before.release_instant


async def test_the_release_page_switches_pre_saves_on_for_a_link_without_them(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "midnight"}
    )
    url = created.headers["location"].split("?")[0]
    page = await browser.get(f"{url}/release")
    assert "takes no pre-saves" in page.text
    moved = await browser.post(
        f"{url}/release",
        {"release_mode": "global", "release_date": "2026-04-01", "time_zone": "UTC"},
    )
    assert moved.status_code == 303, moved.text
    switched = await browser.post(f"{url}/release/presave", {"enabled": "1"})
    assert switched.status_code == 303, switched.text
    page = await browser.get(f"{url}/release")
    assert "takes pre-saves until the release" in page.text
    fan_page = await browser.client.get("/midnight", headers={"user-agent": IPHONE})
    assert 'id="presave-spotify"' in fan_page.text
    off = await browser.post(f"{url}/release/presave", {})
    assert off.status_code == 303
    assert "takes no pre-saves" in (await browser.get(f"{url}/release")).text
    async with sim_app.context.database.sessionmaker() as session:
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert {"presave.enabled", "presave.disabled", "release.moved"} <= set(actions)
