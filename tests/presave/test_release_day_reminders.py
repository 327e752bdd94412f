"""Release-day email reminders go out once, at the fan's release instant, to their service."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.mail.settings import MailSettings
from launchlink.mail.smtp import SmtpMailSender
from launchlink.messaging.service import retry_delay
from launchlink.models import Presave, Reminder
from launchlink.models.presave import ReminderChannel, ReminderState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    Inbox,
    _free_port,
    ask_for_reminder,
    confirm_address,
    make_presave_link,
)


async def sign_up_for_a_reminder(
    fan: httpx.AsyncClient, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    answer = await ask_for_reminder(fan, service="deezer", email="listener@example.com")
    assert answer.status_code == 200
    assert (await confirm_address(fan, inbox, "listener@example.com")).status_code == 303


async def test_a_due_reminder_is_emailed_once_with_a_link_to_the_fans_service(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await sign_up_for_a_reminder(fan, admin, label, inbox)
    inbox.messages.clear()  # the opt-in and the sign-up confirmation
    assert papp.reminders is not None
    sender = papp.reminders.sender

    assert await sender.send_due() == 0  # not yet: before the fan's release instant
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    clock.set(presave.due_at)

    assert await sender.send_due() == 1
    assert await sender.send_due() == 0  # never twice
    [email] = inbox.to("listener@example.com")
    text = Inbox.text_of(email)
    assert "is out now" in email["Subject"]
    assert "https://links.example.test/soon/deezer" in text
    assert "/revoke/" in text
    assert email["List-Unsubscribe"].startswith("<https://links.example.test/presave/unsubscribe/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    async with papp.context.database.sessionmaker() as session:
        reminders = list((await session.execute(select(Reminder))).scalars())
    email_reminder = next(r for r in reminders if r.channel is ReminderChannel.email)
    assert email_reminder.state is ReminderState.sent
    assert email_reminder.sent_at == presave.due_at


async def test_a_mail_server_outage_keeps_the_reminder_for_the_next_round(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await sign_up_for_a_reminder(fan, admin, label, inbox)
    assert papp.reminders is not None
    sender = papp.reminders.sender
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    clock.set(presave.due_at)

    working = sender.mail
    # A real SMTP client aimed at a port where no mail server listens.
    sender.mail = SmtpMailSender(
        MailSettings(host="127.0.0.1", port=_free_port(), security="none", timeout_seconds=2)
    )
    assert await sender.send_due() == 0
    async with papp.context.database.sessionmaker() as session:
        reminder = (
            await session.execute(select(Reminder).where(Reminder.channel == ReminderChannel.email))
        ).scalar_one()
    assert reminder.state is ReminderState.pending
    assert reminder.last_error  # the failure is recorded, the reminder kept

    sender.mail = working
    inbox.messages.clear()
    assert await sender.send_due() == 0  # backing off: not in the very next round
    clock.advance(retry_delay(1))
    assert await sender.send_due() == 1
    assert len(inbox.to("listener@example.com")) == 1
