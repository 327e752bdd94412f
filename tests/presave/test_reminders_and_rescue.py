"""Reminders, confirmation emails through the SMTP port, in-app browser rescue, magic links."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import ConsentRecord, MagicLink, Presave, Reminder
from launchlink.models.presave import ConsentKind, ReminderChannel, ServiceMode
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    INSTAGRAM_UA,
    Inbox,
    browser_for,
    csrf_of,
    make_presave_link,
    open_page,
)


async def test_a_reminder_is_recorded_and_confirmed_by_email(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    await make_presave_link(
        admin, label, campaign={"service_modes": {"deezer": "reminder"}, "sms_opt_in": True}
    )
    html = await open_page(fan)
    answer = await fan.post(
        "/presave/soon/remind",
        data={
            "csrf": csrf_of(html),
            "service": "deezer",
            "email": "listener@example.com",
            "email_consent": "1",
            "phone": "+44 7700 900123",
            "sms_consent": "1",
        },
    )
    assert answer.status_code == 303
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        reminders = list((await session.execute(select(Reminder))).scalars())
        consents = {c.kind for c in (await session.execute(select(ConsentRecord))).scalars()}
    assert presave.mode is ServiceMode.reminder
    assert presave.service == "deezer"
    assert {(r.channel, r.service) for r in reminders} == {
        (ReminderChannel.email, "deezer"),
        (ReminderChannel.sms, "deezer"),
    }
    assert all(r.send_at == presave.due_at for r in reminders)
    assert consents == {ConsentKind.email, ConsentKind.sms}
    [email] = inbox.to("listener@example.com")
    text = Inbox.text_of(email)
    assert "Midnight Cartography" in text
    assert re.search(r"https://links\.example\.test/revoke/\S+", text)
    assert email["List-Unsubscribe"].startswith("<https://links.example.test/revoke/")


async def test_a_reminder_without_a_ticked_box_is_refused(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    html = await open_page(fan)
    answer = await fan.post(
        "/presave/soon/remind",
        data={"csrf": csrf_of(html), "service": "", "email": "listener@example.com"},
    )
    assert answer.status_code == 400
    async with papp.context.database.sessionmaker() as session:
        count = (await session.execute(select(func.count()).select_from(Presave))).scalar_one()
    assert count == 0
    assert inbox.messages == []


async def test_an_in_app_browser_gets_the_rescue_path_and_a_magic_link(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp, **{"User-Agent": INSTAGRAM_UA}) as instagram:
        html = await open_page(instagram)
        assert 'id="in-app"' in html
        assert "Instagram" in html
        sent = await instagram.post(
            "/presave/soon/later", data={"csrf": csrf_of(html), "email": "Later@Example.com"}
        )
        assert sent.status_code == 200
    [email] = inbox.to("later@example.com")
    link = re.search(r"https://links\.example\.test(/presave/magic/\S+)", Inbox.text_of(email))
    assert link is not None
    async with browser_for(papp) as real_browser:
        opened = await real_browser.get(link.group(1))
        assert opened.status_code == 303
        assert opened.headers["location"] == "/soon"
        page = await open_page(real_browser)
        assert "Welcome back" in page
        assert 'id="in-app"' not in page
    async with papp.context.database.sessionmaker() as session:
        magic = (await session.execute(select(MagicLink))).scalar_one()
    assert magic.used_at is not None
    clock.advance(timedelta(hours=25))
    async with browser_for(papp) as late:
        expired = await late.get(link.group(1))
    assert expired.status_code == 410
    assert "expired" in expired.text


async def test_an_unknown_magic_link_is_a_clear_404(papp: Application) -> None:
    async with browser_for(papp) as browser:
        response = await browser.get("/presave/magic/made-up-token")
    assert response.status_code == 404
    assert "not valid" in response.text
