"""Reminders, confirmation emails through the SMTP port, in-app browser rescue, magic links."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import ConsentRecord, Fan, MagicLink, Message, Presave
from launchlink.models.messaging import MessageChannel, MessageKind
from launchlink.models.presave import ConsentKind, ServiceMode
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    INSTAGRAM_UA,
    Inbox,
    ask_for_reminder,
    browser_for,
    confirm_address,
    csrf_of,
    make_presave_link,
    open_page,
    opt_in_path,
)


async def _count(app: Application, model: type) -> int:
    async with app.context.database.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_reminder_waits_until_its_address_is_confirmed_then_is_scheduled(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await make_presave_link(
        admin, label, campaign={"service_modes": {"deezer": "reminder"}, "sms_opt_in": True}
    )
    answer = await ask_for_reminder(
        fan, service="deezer", email="Listener@Example.com", phone="+44 7700 900123"
    )
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    for model in (Fan, Presave, Message, ConsentRecord):
        assert await _count(papp, model) == 0, model
    [opt_in] = inbox.to("listener@example.com")
    assert opt_in["Subject"] == "Confirm your reminder for Midnight Cartography"
    assert "List-Unsubscribe" not in opt_in
    link = opt_in_path(inbox, "listener@example.com")
    async with browser_for(papp) as scanner:  # a mail scanner opens every link
        prefetched = await scanner.get(link)
    assert prefetched.status_code == 200
    assert "Confirm your reminder" in prefetched.text
    assert "ending in 123" in prefetched.text
    assert await _count(papp, Message) == 0, "a GET must never confirm"

    clock.advance(timedelta(hours=3))
    confirmed = await confirm_address(fan, inbox, "listener@example.com")
    assert confirmed.status_code == 303
    done = await fan.get(confirmed.headers["location"])
    assert done.status_code == 200
    assert "Deezer: we will remind you when it is out." in done.text
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        fan_row = (await session.execute(select(Fan))).scalar_one()
        consents = list((await session.execute(select(ConsentRecord))).scalars())
    assert presave.mode is ServiceMode.reminder
    assert presave.service == "deezer"
    assert (fan_row.email, fan_row.phone) == ("listener@example.com", "+447700900123")
    assert fan_row.email_consent_at == clock.now()
    assert papp.context.outbox is not None
    await papp.context.outbox.run_once()
    async with papp.context.database.sessionmaker() as session:
        messages = list((await session.execute(select(Message))).scalars())
    # The email reminder (and its countdown) and, for texts, the double opt-in's "reply
    # YES" first: the release-day text waits for the answer.
    assert {(m.kind, m.channel) for m in messages} == {
        (MessageKind.release_day, MessageChannel.email),
        (MessageKind.countdown, MessageChannel.email),
        (MessageKind.sms_opt_in, MessageChannel.sms),
    }
    [release_day] = [m for m in messages if m.kind is MessageKind.release_day]
    assert release_day.send_at == presave.due_at
    assert release_day.variables["service"] == "deezer"
    assert {c.kind for c in consents} == {ConsentKind.email, ConsentKind.sms}
    assert all(c.at == clock.now() for c in consents), "consent is given by the click"
    assert all(c.consent_text_id is not None for c in consents)
    welcome = next(m for m in inbox.to("listener@example.com") if m is not opt_in)
    text = Inbox.text_of(welcome)
    assert "Midnight Cartography" in text
    assert re.search(r"https://links\.example\.test/revoke/\S+", text)
    assert welcome["List-Unsubscribe"].startswith(
        "<https://links.example.test/presave/unsubscribe/"
    )
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_an_expired_or_altered_confirmation_link_confirms_nothing(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await make_presave_link(admin, label)
    await ask_for_reminder(fan, email="late@example.com")
    link = opt_in_path(inbox, "late@example.com")
    altered = await fan.get(link[:-4] + "abcd")
    assert altered.status_code == 404
    page = await fan.get(link)
    clock.advance(timedelta(days=7, seconds=1))
    late = await fan.post(link, data={"csrf": csrf_of(page.text)})
    assert late.status_code == 410
    forged = await fan.post(link, data={})
    assert forged.status_code in (403, 410)
    assert await _count(papp, Message) == 0
    assert await _count(papp, Fan) == 0


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
