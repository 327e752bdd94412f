"""Reminder-only consent through the planner, the delivery worker and the Twilio simulator,
on both databases: a number given for one release's texts only gets the opt-in text, and
after YES that release's text, never an announcement; its YES is not marketing consent;
STOP withdraws the reminder-only consents with the rest; the reminder covers its own
release's receipt and never another release's messages."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.models import ConsentRecord, Fan, Link, Message, Presave, Release
from launchlink.models.catalog import ReleaseMode, ReleaseType
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.models.presave import ConsentKind, PresaveState, ServiceMode
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
    [opt_in] = rig.sim.messages.values()
    assert "reply YES to get texts about Tidewater." in opt_in.body
    assert "future releases" not in opt_in.body
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


async def test_a_reminder_covers_its_own_release_and_receipt_never_another_release(
    db: Database,
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan(
        "uk", country="GB", zone="Europe/London", consent_at=BEFORE, reminder_only=True
    )
    async with db.transaction() as session:
        other = Release(
            workspace_id=world.workspace_id, title="Next One", type=ReleaseType.single,
            release_mode=ReleaseMode.global_, release_instant=datetime(2026, 9, 1, tzinfo=UTC),
        )  # fmt: skip
        session.add(other)
        await session.flush()
        link = Link(workspace_id=world.workspace_id, release_id=other.id, slug="next-one")
        session.add(link)
        await session.flush()
        # Queued from a standing authorisation: no box was ticked for this release.
        later = Presave(
            workspace_id=world.workspace_id, link_id=link.id, release_id=other.id,
            fan_id=fan_id, service="spotify", mode=ServiceMode.direct_save,
            state=PresaveState.waiting, time_zone="Europe/London",
            due_at=datetime(2026, 9, 1, tzinfo=UTC), standing=True,
        )  # fmt: skip
        session.add(later)
        await session.flush()
        later_id = later.id
    clock = FrozenClock(BEFORE)

    async with db.transaction() as session:
        assert await planner.plan_release(session, other.id, now=clock.now()) == 0
        assert await planner.plan_receipt(session, later_id, saved=True, now=clock.now()) == 0
        assert await planner.plan_release(session, world.release_id, now=clock.now()) == 2
        own = world.presaves["uk"]
        assert await planner.plan_receipt(session, own, saved=True, now=clock.now()) == 1
    assert {(m.kind, m.release_id) for m in await _messages(db)} == {
        (MessageKind.countdown, world.release_id),
        (MessageKind.release_day, world.release_id),
        (MessageKind.receipt, world.release_id),
    }
