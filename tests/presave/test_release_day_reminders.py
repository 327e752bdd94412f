"""A "remind me" sign-up is a pre-save whose release-day message is the reminder: it goes
out once, at the fan's release instant, linked to their service, through the message
outbox (the countdown 24 hours before it), and survives a mail server outage."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.mail.settings import MailSettings
from launchlink.messaging.channels.email import SmtpChannel
from launchlink.models import Message, Presave
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    Inbox,
    _free_port,
    deliver_messages,
    make_presave_link,
    sign_up_for_reminder,
)


async def sign_up_for_a_reminder(
    fan: httpx.AsyncClient, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    await sign_up_for_reminder(fan, inbox, "listener@example.com")


async def _email_messages(papp: Application) -> dict[MessageKind, Message]:
    async with papp.context.database.sessionmaker() as session:
        rows = await session.execute(select(Message).where(Message.channel == MessageChannel.email))
        return {m.kind: m for m in rows.scalars()}


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

    assert (await deliver_messages(papp)).claimed == 0  # not yet: before the release
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    planned = await _email_messages(papp)
    assert planned[MessageKind.release_day].send_at == presave.due_at
    assert planned[MessageKind.countdown].send_at == presave.due_at - timedelta(hours=24)

    clock.set(presave.due_at - timedelta(hours=24))
    assert (await deliver_messages(papp)).sent == 1
    [countdown] = inbox.to("listener@example.com")
    assert "24 hours" in countdown["Subject"]
    inbox.messages.clear()

    clock.set(presave.due_at)
    assert (await deliver_messages(papp)).sent == 1
    assert (await deliver_messages(papp)).claimed == 0  # never twice
    [email] = inbox.to("listener@example.com")
    text = Inbox.text_of(email)
    assert "is out now" in email["Subject"]
    assert "https://links.example.test/soon/deezer?c=email-release" in text
    assert email["List-Unsubscribe"].startswith("<https://links.example.test/presave/unsubscribe/")
    assert email["List-Unsubscribe"].strip("<>") in text
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["DKIM-Signature"] is not None
    release_day = (await _email_messages(papp))[MessageKind.release_day]
    assert release_day.state is MessageState.sent
    assert release_day.sent_at == presave.due_at


async def test_a_mail_server_outage_keeps_the_reminder_for_the_next_round(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await sign_up_for_a_reminder(fan, admin, label, inbox)
    assert papp.messaging is not None
    delivery = papp.messaging.delivery
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    clock.set(presave.due_at)

    channels = dict(delivery.channels)
    working = channels[MessageChannel.email]
    # A real SMTP client aimed at a port where no mail server listens.
    channels[MessageChannel.email] = SmtpChannel(
        MailSettings(host="127.0.0.1", port=_free_port(), security="none", timeout_seconds=2),
        signer=None,
        clock=clock,
    )
    delivery.channels = channels
    outage = await deliver_messages(papp)
    # The countdown's moment passed with its release: it is cancelled, not sent late.
    assert (outage.sent, outage.retrying, outage.cancelled) == (0, 1, 1)
    release_day = (await _email_messages(papp))[MessageKind.release_day]
    assert release_day.state is MessageState.queued
    assert release_day.last_error  # the failure is recorded, the message kept
    assert release_day.attempts == 1

    channels[MessageChannel.email] = working
    inbox.messages.clear()
    assert (await deliver_messages(papp)).claimed == 0  # backing off: not at once
    clock.advance(timedelta(seconds=delivery.settings.retry_base_seconds))
    assert (await deliver_messages(papp)).sent == 1
    assert len(inbox.to("listener@example.com")) == 1
