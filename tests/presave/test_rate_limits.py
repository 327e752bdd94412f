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
from launchlink.models import MagicLink, OAuthAttempt
from launchlink.models.presave import PendingContact
from launchlink.presave.ratelimit import (
    ADDRESS_POSTS,
    BROWSER_POSTS,
    CONFIRMATION_EMAILS,
    FormRateLimiter,
    Hit,
    RateLimited,
    client_address,
)
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    Inbox,
    ask_for_reminder,
    browser_for,
    csrf_of,
    make_presave_link,
    open_page,
    reminder_messages,
)


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
    await application.shutdown()


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


async def test_one_browser_hammering_the_forms_is_limited(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await make_presave_link(admin, label)
    csrf = csrf_of(await open_page(fan))
    for _ in range(BROWSER_POSTS.limit):
        started = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
        assert started.status_code == 303
    refused = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
    assert refused.status_code == 429
    assert await _count(papp, OAuthAttempt) == BROWSER_POSTS.limit
    # Another browser on the same address is not affected.
    async with browser_for(papp) as neighbour:
        other = await neighbour.post(
            "/presave/soon/connect",
            data={"csrf": csrf_of(await open_page(neighbour)), "service": "spotify"},
        )
    assert other.status_code == 303
    clock.advance(timedelta(minutes=10, seconds=1))
    again = await fan.post("/presave/soon/connect", data={"csrf": csrf, "service": "spotify"})
    assert again.status_code == 303


async def test_thirty_browsers_behind_one_address_can_each_sign_up(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    for n in range(30):  # a venue's wifi: every fan has the same client IP
        async with browser_for(papp) as browser:
            started = await browser.post(
                "/presave/soon/connect",
                data={"csrf": csrf_of(await open_page(browser)), "service": "spotify"},
            )
            assert started.status_code == 303, n
            reminded = await ask_for_reminder(browser, email=f"fan{n}@example.com")
            assert reminded.status_code == 200, n
    assert await _count(papp, OAuthAttempt) == 30
    assert await _count(papp, PendingContact) == 30
    assert len(inbox.messages) == 30


async def test_one_address_hammered_from_many_browsers_is_limited(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    answers = []
    for _ in range(CONFIRMATION_EMAILS.limit + 1):
        async with browser_for(papp) as browser:
            answers.append(await ask_for_reminder(browser, email="victim@example.com"))
    assert [a.status_code for a in answers] == [200] * CONFIRMATION_EMAILS.limit + [429]
    assert len(inbox.to("victim@example.com")) == CONFIRMATION_EMAILS.limit
    assert await _count(papp, PendingContact) == CONFIRMATION_EMAILS.limit


async def test_the_per_address_limit_is_far_higher_and_still_holds(
    papp: Application, clock: FrozenClock
) -> None:
    """The backstop for browsers minting fresh cookies: the client IP's own limit."""
    assert ADDRESS_POSTS.limit >= 20 * BROWSER_POSTS.limit
    limiter = FormRateLimiter(papp.context.database, clock, "test-secret")
    for _ in range(ADDRESS_POSTS.limit):
        await limiter.check([Hit(ADDRESS_POSTS, "203.0.113.7")])
    with pytest.raises(RateLimited):
        await limiter.check([Hit(ADDRESS_POSTS, "203.0.113.7")])
    await limiter.check([Hit(ADDRESS_POSTS, "203.0.113.8")])


async def test_reminder_signups_for_one_address_are_limited_and_the_page_is_translated(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    async with browser_for(papp, **{"Accept-Language": "es"}) as browser:
        answers = [
            await ask_for_reminder(browser, service=service, email="again@example.com")
            for service in ("deezer", "", "deezer", "")
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Revisa tu bandeja de entrada" in answers[0].text
    assert "Demasiadas solicitudes" in answers[-1].text
    assert len(await reminder_messages(papp)) == 0  # nothing until the address is confirmed
    assert len(inbox.to("again@example.com")) == 3  # one opt-in email per accepted post


def test_the_client_ip_comes_from_forwarded_for_only_behind_a_trusted_proxy() -> None:
    forwarded = "198.51.100.9, 203.0.113.7, 10.0.0.2"
    assert client_address("10.0.0.1", forwarded, ["10.0.0.0/8"]) == "203.0.113.7"
    assert client_address("192.0.2.50", forwarded, ["10.0.0.0/8"]) == "192.0.2.50"
    assert client_address("10.0.0.1", forwarded, []) == "10.0.0.1"
    assert client_address("10.0.0.1", None, ["10.0.0.0/8"]) == "10.0.0.1"
