"""Reminder-only consent through the planner, the delivery worker and the Twilio simulator,
on both databases: a number given for one release's texts only gets the opt-in text, and
after YES that release's text, never an announcement; its YES is not marketing consent;
STOP withdraws the reminder-only consents with the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.models import ConsentRecord, Fan, Message, Presave
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.models.presave import ConsentKind
from tests.messaging.conftest import make_delivery, make_sms_rig
from tests.messaging.world import make_world

RELEASE_DAY = date(2026, 6, 5)
BEFORE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 08:00 in New York
OPENS = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)  # release day, 08:00 in New York
NY_PHONE = "+12125550147"


async def _messages(db: Database) -> list[Message]:
    async with db.sessionmaker() as session:
        return list((await session.execute(select(Message).order_by(Message.send_at))).scalars())


async def test_a_reminder_only_number_gets_its_release_text_but_no_announcement(
    db: Database,
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan(
        "ny", country="US", zone="America/New_York", email=False, phone=NY_PHONE,
        consent_at=BEFORE, reminder_only=True,
    )  # fmt: skip
    clock = FrozenClock(BEFORE)
    rig = make_sms_rig(db, clock)
    delivery = make_delivery(db, clock, {MessageChannel.sms: rig.channel}, sms_per_second=100)
    async with db.transaction() as session:
        assert await planner.plan_release(session, world.release_id, now=clock.now()) == 1
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    await rig.deliver()
    rig.sim.inbound(from_=NY_PHONE, to="+15005550006", body="YES")
    await rig.deliver()

    async with db.sessionmaker() as session:
        fan = await session.get(Fan, fan_id)
        assert fan is not None
        confirmed = [r for r in (await session.execute(select(ConsentRecord))).scalars()]
    assert fan.sms_confirmed_at == BEFORE
    assert fan.sms_consent_at is None  # the YES confirmed the number, it is not marketing
    assert [(r.kind, r.granted) for r in confirmed] == [(ConsentKind.sms_reminder, True)]
    async with db.transaction() as session:
        _id, queued = await planner.announce(
            session, workspace_id=world.workspace_id, link_id=world.link_id,
            body="Tour dates are up.", channels=[MessageChannel.sms], now=clock.now(),
        )  # fmt: skip
    assert queued == 0
    assert sorted(m.kind for m in await _messages(db)) == sorted(
        [MessageKind.sms_opt_in, MessageKind.release_day, MessageKind.countdown]
    )

    clock.set(OPENS)
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    assert len([s for s in rig.sim.messages.values() if "is out now" in s.body]) == 1
    await rig.webhooks.aclose()


async def test_stop_withdraws_the_reminder_only_consent_and_cancels_its_texts(
    db: Database,
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan(
        "ny", country="US", zone="America/New_York", phone=NY_PHONE, sms_confirmed=True,
        consent_at=BEFORE, reminder_only=True,
    )  # fmt: skip
    clock = FrozenClock(BEFORE)
    rig = make_sms_rig(db, clock)
    async with db.transaction() as session:
        await planner.plan_release(session, world.release_id, now=clock.now())
    assert {(m.channel, m.kind) for m in await _messages(db)} == {
        (c, k)
        for c in (MessageChannel.email, MessageChannel.sms)
        for k in (MessageKind.release_day, MessageKind.countdown)
    }
    rig.sim.inbound(from_=NY_PHONE, to="+15005550006", body="STOP")
    await rig.deliver()

    assert {m.state for m in await _messages(db)} == {MessageState.cancelled}
    async with db.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        withdrawn = {
            r.kind
            for r in (await session.execute(select(ConsentRecord))).scalars()
            if not r.granted and r.fan_id == fan_id
        }
    assert (presave.email_reminder_at, presave.sms_reminder_at) == (None, None)
    assert withdrawn == {ConsentKind.email_reminder, ConsentKind.sms_reminder}
    await rig.webhooks.aclose()
