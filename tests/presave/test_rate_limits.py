"""Fan forms that send email or create rows are rate-limited per address and per client IP,
in the database (so the limits hold across processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import FrozenClock
from launchlink.models import MagicLink, OAuthAttempt, Reminder
from launchlink.presave.ratelimit import client_address
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import Inbox, browser_for, csrf_of, make_presave_link, open_page


async def _count(app: Application, model: type) -> int:
    async with app.context.database.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _ask_for_magic_link(browser: httpx.AsyncClient, email: str) -> httpx.Response:
    html = await open_page(browser)
    return await browser.post("/presave/soon/later", data={"csrf": csrf_of(html), "email": email})


@pytest.fixture
async def second_process(
    presave_settings: Settings, clock: FrozenClock
) -> AsyncIterator[Application]:
    """Another app on the same database: a second web process."""
    application = create_app(presave_settings, clock=clock)
    yield application
    await application.context.database.dispose()


async def test_a_fourth_magic_link_within_the_hour_is_refused_across_processes(
    papp: Application,
    second_process: Application,
    admin: Api,
    label: WorkspaceKey,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp) as one, browser_for(second_process) as other:
        assert (await _ask_for_magic_link(one, "fan@example.com")).status_code == 200
        assert (await _ask_for_magic_link(other, "fan@example.com")).status_code == 200
        assert (await _ask_for_magic_link(one, "Fan@Example.com")).status_code == 200
        refused = await _ask_for_magic_link(other, "fan@example.com")
        assert refused.status_code == 429
        assert "Too many requests" in refused.text
        assert int(refused.headers["retry-after"]) == 3600
        assert len(inbox.to("fan@example.com")) == 3
        assert await _count(papp, MagicLink) == 3
        # Another address is not affected; an hour later this one works again.
        assert (await _ask_for_magic_link(one, "other@example.com")).status_code == 200
        clock.advance(timedelta(hours=1, seconds=1))
        assert (await _ask_for_magic_link(one, "fan@example.com")).status_code == 200
    assert len(inbox.to("fan@example.com")) == 4


async def test_more_than_twenty_form_posts_from_one_ip_in_ten_minutes_are_refused(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label)
    csrf = csrf_of(await open_page(fan))
    for _ in range(20):
        started = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
        assert started.status_code == 303
    refused = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
    assert refused.status_code == 429
    assert await _count(papp, OAuthAttempt) == 20
    clock.advance(timedelta(minutes=10, seconds=1))
    again = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
    assert again.status_code == 303


async def test_reminder_signups_for_one_address_are_limited_and_the_page_is_translated(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    async with browser_for(papp, **{"Accept-Language": "es"}) as browser:
        csrf = csrf_of(await open_page(browser))
        answers = [
            await browser.post(
                "/presave/soon/remind",
                data={
                    "csrf": csrf,
                    "service": service,
                    "email": "again@example.com",
                    "email_consent": "1",
                },
            )
            for service in ("deezer", "", "deezer", "")
        ]
    assert [a.status_code for a in answers] == [303, 303, 303, 429]
    assert "Demasiadas solicitudes" in answers[-1].text
    assert await _count(papp, Reminder) == 2
    assert len(inbox.to("again@example.com")) == 2  # one confirmation per new sign-up


def test_the_client_ip_comes_from_forwarded_for_only_behind_a_trusted_proxy() -> None:
    forwarded = "198.51.100.9, 203.0.113.7, 10.0.0.2"
    assert client_address("10.0.0.1", forwarded, ["10.0.0.0/8"]) == "203.0.113.7"
    assert client_address("192.0.2.50", forwarded, ["10.0.0.0/8"]) == "192.0.2.50"
    assert client_address("10.0.0.1", forwarded, []) == "10.0.0.1"
    assert client_address("10.0.0.1", None, ["10.0.0.0/8"]) == "10.0.0.1"
