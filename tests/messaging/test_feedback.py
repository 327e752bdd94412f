"""Bounces and complaints fed in after the hand-over: matched by the original's
Message-ID, classified from status codes (never words), a complaint withdraws email
consent at once, and past the thresholds the workspace pauses — its messages wait,
deferred, until an admin resumes it (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import manage, planner
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.email_web import FEEDBACK_PATH, EmailFeedback
from launchlink.models import ConsentRecord, Fan, Message, MessageStatus, WorkspaceMessaging
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from tests.messaging.conftest import DKIM_DOMAIN, email_channel, make_delivery
from tests.messaging.sink import Sink
from tests.messaging.world import PUBLIC_URL, World, make_world

RELEASE = date(2026, 6, 5)
BEFORE = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
TOKEN = "feedback-token-for-tests"


def dsn(original_message_id: str, recipient: str, status: str, *, text: str = "") -> bytes:
    """A delivery status notification as a receiving MTA writes one (RFC 3464). ``text``
    is the human part: words that must not decide anything."""
    report = EmailMessage()
    report["From"] = "MAILER-DAEMON@mx.fans.example.test"
    report["To"] = f"bounces@{DKIM_DOMAIN}"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    human = EmailMessage()
    human.set_content(text or "Your message could not be delivered.")
    report.attach(human)
    status_part = EmailMessage()
    status_part.set_type("message/delivery-status")
    per_message = EmailMessage()
    per_message["Reporting-MTA"] = "dns; mx.fans.example.test"
    per_recipient = EmailMessage()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = status
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    original = EmailMessage()
    original.set_type("text/rfc822-headers")
    original.set_payload(f"Message-ID: {original_message_id}\r\nTo: {recipient}\r\n")
    report.attach(original)
    return report.as_bytes()


def complaint(original_message_id: str) -> bytes:
    """A feedback report (RFC 5965): the fan pressed "this is spam"."""
    report = EmailMessage()
    report["From"] = "fbl@mailbox.example.test"
    report["Subject"] = "Complaint"
    report.set_type("multipart/report")
    report.set_param("report-type", "feedback-report")
    human = EmailMessage()
    human.set_content("This is an email abuse report.")
    report.attach(human)
    machine = EmailMessage()
    machine.set_type("message/feedback-report")
    fields = EmailMessage()
    fields["Feedback-Type"] = "abuse"
    fields["User-Agent"] = "SomeMailbox/1.0"
    fields["Version"] = "1"
    machine.set_payload([fields])
    report.attach(machine)
    original = EmailMessage()
    original.set_type("text/rfc822-headers")
    original.set_payload(f"Message-ID: {original_message_id}\r\n")
    report.attach(original)
    return report.as_bytes()


async def _sent_world(db: Database, sink: Sink, fans: int, clock: FrozenClock) -> World:
    world = await make_world(db, release_date=RELEASE)
    for n in range(fans):
        await world.add_fan(f"fan{n}", country="GB", consent_at=BEFORE)
    async with db.transaction() as session:
        await planner.plan_release(session, world.release_id, now=clock.now())
    clock.set(datetime(2026, 6, 4, 23, 0, tzinfo=UTC))  # midnight in London
    delivery = make_delivery(db, clock, {MessageChannel.email: email_channel(sink, None, clock)})
    assert (await delivery.run_round(MessageChannel.email)).sent == fans
    return world


async def _messages(db: Database) -> dict[str, Message]:
    """Each fan's release-day message, by address."""
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Message, Fan.email).join(Fan).where(Message.kind == MessageKind.release_day)
            )
        ).all()
    return {str(email): m for m, email in rows}


def _client(db: Database, clock: FrozenClock, settings: MessagingSettings) -> httpx.AsyncClient:
    hooks = EmailFeedback(database=db, clock=clock, settings=settings, token=TOKEN)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=Starlette(routes=hooks.routes())), base_url=PUBLIC_URL
    )


async def test_a_dsn_bounce_is_classified_by_its_code_and_a_forged_one_is_refused(
    db: Database, sink: Sink
) -> None:
    clock = FrozenClock(BEFORE)
    await _sent_world(db, sink, 2, clock)
    messages = await _messages(db)
    dead = messages["fan0@fans.example.test"]
    full = messages["fan1@fans.example.test"]
    async with _client(db, clock, MessagingSettings()) as client:
        forged = await client.post(FEEDBACK_PATH, content=dsn(f"<{dead.id}@x>", "fan0", "5.1.1"))
        assert forged.status_code == 403
        headers = {"Authorization": f"Bearer {TOKEN}"}
        # The words say "mailbox full"; the code says the address does not exist.
        hard = await client.post(
            FEEDBACK_PATH, headers=headers,
            content=dsn(str(dead.provider_message_id), "fan0@fans.example.test", "5.1.1",
                        text="mailbox full, quota exceeded, try later"),
        )  # fmt: skip
        soft = await client.post(
            FEEDBACK_PATH, headers=headers,
            content=dsn(str(full.provider_message_id), "fan1@fans.example.test", "5.2.2",
                        text="user unknown"),
        )  # fmt: skip
        junk = await client.post(FEEDBACK_PATH, headers=headers, content=b"hello")
    assert (hard.status_code, hard.json()["matched"]) == (200, 1)
    assert soft.json()["kind"] == "dsn"
    assert junk.status_code == 422
    after = await _messages(db)
    assert (after["fan0@fans.example.test"].state, after["fan0@fans.example.test"].bounce) == (
        MessageState.failed, "hard",
    )  # fmt: skip
    assert after["fan0@fans.example.test"].last_error == "bounced: 5.1.1"
    assert after["fan1@fans.example.test"].bounce == "soft"
    async with db.sessionmaker() as session:
        ledger = (
            await session.execute(
                select(MessageStatus.status, MessageStatus.source).where(
                    MessageStatus.message_id == dead.id
                )
            )
        ).all()
    assert ("bounced", "dsn") in {(r[0], r[1]) for r in ledger}


async def test_a_complaint_withdraws_email_consent_at_once(db: Database, sink: Sink) -> None:
    clock = FrozenClock(BEFORE)
    world = await make_world(db, release_date=RELEASE)
    fan_id = await world.add_fan("fan0", country="GB", consent_at=BEFORE)
    async with db.transaction() as session:
        await planner.plan_release(session, world.release_id, now=clock.now())
    clock.set(datetime(2026, 6, 3, 23, 0, tzinfo=UTC))  # the countdown goes out
    delivery = make_delivery(db, clock, {MessageChannel.email: email_channel(sink, None, clock)})
    assert (await delivery.run_round(MessageChannel.email)).sent == 1
    async with db.sessionmaker() as session:
        countdown = (
            await session.execute(select(Message).where(Message.kind == MessageKind.countdown))
        ).scalar_one()

    async with _client(db, clock, MessagingSettings()) as client:
        answer = await client.post(
            FEEDBACK_PATH,
            headers={"Authorization": f"Bearer {TOKEN}"},
            content=complaint(str(countdown.provider_message_id)),
        )
    assert answer.json() == {"kind": "complaint", "matched": 1, "unmatched": [],
                             "paused_workspaces": []}  # fmt: skip
    async with db.sessionmaker() as session:
        fan = await session.get(Fan, fan_id)
        consents = (await session.execute(select(ConsentRecord))).scalars().all()
        states = {
            m.kind.value: (m.state, m.bounce)
            for m in (await session.execute(select(Message))).scalars()
        }
    assert fan is not None
    assert fan.email_consent_at is None
    assert [(c.granted, c.kind.value) for c in consents] == [(False, "email")]
    assert states == {
        "countdown": (MessageState.sent, "complaint"),
        "release_day": (MessageState.cancelled, None),
    }
    clock.set(datetime(2026, 6, 4, 23, 0, tzinfo=UTC))
    assert (await delivery.run_round(MessageChannel.email)).claimed == 0


async def test_past_the_bounce_rate_the_workspace_pauses_until_resumed(
    db: Database, sink: Sink
) -> None:
    clock = FrozenClock(BEFORE)
    settings = MessagingSettings(pause_min_sample=4, pause_bounce_rate=0.3)
    world = await _sent_world(db, sink, 4, clock)
    messages = await _messages(db)
    async with _client(db, clock, settings) as client:
        for name in ("fan0", "fan1"):
            m = messages[f"{name}@fans.example.test"]
            answer = await client.post(
                FEEDBACK_PATH,
                headers={"Authorization": f"Bearer {TOKEN}"},
                content=dsn(str(m.provider_message_id), f"{name}@fans.example.test", "5.1.1"),
            )
    assert answer.json()["paused_workspaces"] == [str(world.workspace_id)]
    async with db.sessionmaker() as session:
        state = await session.get(WorkspaceMessaging, world.workspace_id)
    assert state is not None
    assert state.paused
    assert state.paused_reason is not None
    assert state.paused_reason.startswith("2 of 4 messages bounced")

    # A new message of the paused workspace waits (deferred, not dropped).
    await world.add_fan("late", country="GB", consent_at=BEFORE)
    async with db.transaction() as session:
        await planner.plan_release(session, world.release_id, now=clock.now())
    delivery = make_delivery(
        db, clock, {MessageChannel.email: email_channel(sink, None, clock)}, **settings.model_dump()
    )
    held = await delivery.run_round(MessageChannel.email)
    assert (held.deferred, held.sent) == (1, 0)
    async with db.transaction() as session:
        await manage.resume_sending(session, world.workspace_id, now=clock.now())
    clock.advance(timedelta(minutes=15))
    # Counting starts afresh after the resume: the old bounces do not pause it again.
    assert (await delivery.run_round(MessageChannel.email)).sent == 1
