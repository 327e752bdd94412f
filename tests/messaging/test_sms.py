"""SMS through the Twilio simulator, on both databases: double opt-in, quiet hours, signed
delivery callbacks (forged ones refused), STOP across channels, carrier failures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.messaging.sms.keywords import Intent, intent_of
from launchlink.messaging.sms.signature import twilio_signature
from launchlink.models import ConsentRecord, Fan, Message, MessageStatus
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.simulator.services.twilio import DEMO_AUTH_TOKEN
from tests.messaging.conftest import make_delivery, make_sms_rig
from tests.messaging.world import PUBLIC_URL, World, make_world

RELEASE_DAY = date(2026, 6, 5)
BEFORE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NY_PHONE = "+12125550147"


async def _messages(db: Database) -> list[Message]:
    async with db.sessionmaker() as session:
        return list((await session.execute(select(Message).order_by(Message.send_at))).scalars())


async def _fan(db: Database, fan_id: object) -> Fan:
    async with db.sessionmaker() as session:
        fan = await session.get(Fan, fan_id)
        assert fan is not None
        return fan


async def _plan(db: Database, world: World, clock: FrozenClock) -> int:
    async with db.transaction() as session:
        return await planner.plan_release(session, world.release_id, now=clock.now())


async def test_double_opt_in_then_the_release_text_waits_for_the_end_of_quiet_hours(
    db: Database,
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan(
        "ny", country="US", zone="America/New_York", email=False, phone=NY_PHONE,
        consent_at=BEFORE,
    )  # fmt: skip
    clock = FrozenClock(BEFORE)  # 08:00 in New York
    rig = make_sms_rig(db, clock)
    delivery = make_delivery(db, clock, {MessageChannel.sms: rig.channel}, sms_per_second=100)

    # Only the opt-in text is planned before the fan confirms.
    assert await _plan(db, world, clock) == 1
    assert [m.kind for m in await _messages(db)] == [MessageKind.sms_opt_in]
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    [opt_in] = rig.sim.messages.values()
    assert "reply YES" in opt_in.body
    assert opt_in.to == NY_PHONE
    await rig.deliver()  # sent, delivered callbacks
    rig.sim.inbound(from_=NY_PHONE, to="+15005550006", body="Yes")
    [answer] = await rig.deliver()
    assert "Reply STOP" in answer.text
    assert (await _fan(db, fan_id)).sms_confirmed_at == BEFORE

    # Confirmed: the YES itself planned the release-day and countdown texts.
    assert sorted(m.kind for m in await _messages(db)) == sorted(
        [MessageKind.sms_opt_in, MessageKind.release_day, MessageKind.countdown]
    )
    assert await _plan(db, world, clock) == 0  # a sweep adds nothing
    release_at = datetime(2026, 6, 5, 4, 0, tzinfo=UTC)  # midnight in New York
    clock.set(release_at)
    held = await delivery.run_round(MessageChannel.sms)
    # The countdown was due a day ago (this clock jumped past it): late now, it is
    # cancelled; "24 hours to go" after the release is never sent.
    assert (held.deferred, held.cancelled, held.sent) == (1, 1, 0)
    opens = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)  # 08:00 in New York
    messages = {m.kind: m for m in await _messages(db)}
    assert messages[MessageKind.release_day].next_attempt_at == opens
    assert messages[MessageKind.release_day].deferred == "quiet hours in America/New_York"
    clock.set(opens - timedelta(minutes=1))
    assert (await delivery.run_round(MessageChannel.sms)).claimed == 0
    clock.set(opens)
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    release_text = [s for s in rig.sim.messages.values() if "is out now" in s.body]
    assert len(release_text) == 1
    assert "https://links.example.test/tidewater/spotify?c=sms-release" in release_text[0].body
    assert release_text[0].body.endswith("Reply STOP to opt out.")

    # The signed callbacks reconcile the ledger: delivered, not merely handed over.
    await rig.deliver()
    states = {m.kind: m.state for m in await _messages(db)}
    assert states[MessageKind.release_day] is MessageState.delivered
    await rig.webhooks.aclose()


async def test_a_forged_callback_or_stop_is_refused_and_changes_nothing(db: Database) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan(
        "ny", country="US", zone="America/New_York", phone=NY_PHONE, sms_confirmed=True,
        consent_at=BEFORE,
    )  # fmt: skip
    clock = FrozenClock(datetime(2026, 6, 5, 14, 0, tzinfo=UTC))
    rig = make_sms_rig(db, clock)
    delivery = make_delivery(db, clock, {MessageChannel.sms: rig.channel}, sms_per_second=100)
    await _plan(db, world, clock)
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    [sms] = rig.sim.messages.values()
    form = {"MessageSid": sms.sid, "MessageStatus": "delivered", "AccountSid": sms.account_sid}

    unsigned = await rig.webhooks.post("/messaging/sms/status", data=form)
    forged = await rig.webhooks.post(
        "/messaging/sms/status",
        data=form,
        headers={"X-Twilio-Signature": twilio_signature("wrong-token", PUBLIC_URL, form.items())},
    )
    # Signed for another URL (a replay of a genuine signature elsewhere).
    elsewhere = await rig.webhooks.post(
        "/messaging/sms/status",
        data=form,
        headers={
            "X-Twilio-Signature": twilio_signature(
                DEMO_AUTH_TOKEN, "https://evil.example/messaging/sms/status", form.items()
            )
        },
    )
    stop = {"From": NY_PHONE, "Body": "STOP", "To": "+15005550006"}
    forged_stop = await rig.webhooks.post("/messaging/sms/inbound", data=stop)
    assert [r.status_code for r in (unsigned, forged, elsewhere, forged_stop)] == [403] * 4
    [release_day] = [
        m
        for m in await _messages(db)
        if (m.kind, m.channel) == (MessageKind.release_day, MessageChannel.sms)
    ]
    assert release_day.state is MessageState.sent
    assert (await _fan(db, fan_id)).sms_confirmed_at is not None

    genuine = await rig.webhooks.post(
        "/messaging/sms/status",
        data=form,
        headers={
            "X-Twilio-Signature": twilio_signature(
                DEMO_AUTH_TOKEN, PUBLIC_URL + "/messaging/sms/status", form.items()
            )
        },
    )
    assert genuine.status_code == 204
    [release_day] = [
        m
        for m in await _messages(db)
        if (m.kind, m.channel) == (MessageKind.release_day, MessageChannel.sms)
    ]
    assert release_day.state is MessageState.delivered
    await rig.webhooks.aclose()


async def test_stop_by_text_ends_email_and_sms_at_once(db: Database) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan(
        "ny", country="US", zone="America/New_York", phone=NY_PHONE, sms_confirmed=True,
        consent_at=BEFORE,
    )  # fmt: skip
    clock = FrozenClock(BEFORE)
    rig = make_sms_rig(db, clock)
    await _plan(db, world, clock)
    queued = await _messages(db)
    assert {(m.channel, m.kind) for m in queued} == {
        (c, k)
        for c in (MessageChannel.email, MessageChannel.sms)
        for k in (MessageKind.release_day, MessageKind.countdown)
    }
    rig.sim.inbound(from_=NY_PHONE, to="+15005550006", body="  stop. ")
    [answer] = await rig.deliver()
    assert "no more texts or emails" in answer.text
    fan = await _fan(db, fan_id)
    assert (fan.sms_consent_at, fan.sms_confirmed_at, fan.email_consent_at) == (None, None, None)
    assert {m.state for m in await _messages(db)} == {MessageState.cancelled}
    async with db.sessionmaker() as session:
        withdrawn = {
            r.kind.value
            for r in (await session.execute(select(ConsentRecord))).scalars()
            if not r.granted
        }
    assert withdrawn == {"sms", "email"}
    # The provider blocks the pair too (as Twilio's opt-out handling does).
    status, body = rig.sim.create(
        "AC" + "5" * 32, {"To": NY_PHONE, "From": "+15005550006", "Body": "hi"}
    )
    assert (status, body["code"]) == (400, 21610)
    await rig.webhooks.aclose()


async def test_a_carrier_failure_is_recorded_against_the_fan_from_the_callback(
    db: Database,
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    await world.add_fan(
        "land", country="US", zone="America/New_York", email=False, phone="+12125550100",
        sms_confirmed=True, consent_at=BEFORE,
    )  # fmt: skip
    clock = FrozenClock(datetime(2026, 6, 5, 14, 0, tzinfo=UTC))
    rig = make_sms_rig(db, clock)
    rig.sim.carrier_failures["+12125550100"] = 30006
    delivery = make_delivery(db, clock, {MessageChannel.sms: rig.channel}, sms_per_second=100)
    await _plan(db, world, clock)
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    await rig.deliver()
    [message] = [m for m in await _messages(db) if m.kind is MessageKind.release_day]
    assert (message.state, message.bounce) == (MessageState.failed, "hard")
    async with db.sessionmaker() as session:
        ledger = [
            (r.status, r.source)
            for r in (
                await session.execute(
                    select(MessageStatus)
                    .where(MessageStatus.message_id == message.id)
                    .order_by(MessageStatus.at, MessageStatus.id)
                )
            ).scalars()
        ]
    assert ledger == [
        ("queued", "planner"),
        ("sent", "worker"),
        ("sent", "callback"),
        ("undelivered", "callback"),
    ]
    await rig.webhooks.aclose()


def test_opt_out_words_and_free_text() -> None:
    for word in ("STOP", "unsubscribe", "End", "quit!", "CANCEL", "revoke", "OptOut", "stopall"):
        assert intent_of(word) is Intent.opt_out, word
    for text in ("please stop texting me", "Remove me from this list", "don't text me again"):
        assert intent_of(text) is Intent.opt_out, text
    assert intent_of("START") is Intent.opt_in
    assert intent_of("yes") is Intent.opt_in
    assert intent_of("help") is Intent.help
    assert intent_of("can't wait for the album!") is Intent.other
    assert intent_of("when does it stop being a pre-save?") is Intent.other
