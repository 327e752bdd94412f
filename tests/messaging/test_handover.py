"""The write-ahead hand-over, step by step, on both databases: a worker that dies after
the provider took a message but before settling it (and one that dies after marking a
message but before sending it) leaves marks the next worker acts on — SMS by asking
Twilio's Messages list, email by re-sending with the same Message-ID. Also the
simulator's Messages list itself (filters, newest first, paging) and our lookup over it.

The process-level proof, a real worker SIGKILLed, is ``test_sigkill.py``."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.messaging.channels import Accepted, Channel, Envelope, SenderIdentity
from launchlink.messaging.channels.settings import TwilioSettings
from launchlink.messaging.delivery import _Committer, _Part, _Plan
from launchlink.messaging.repository import MessagingRepository
from launchlink.messaging.sms import twilio
from launchlink.messaging.sms.twilio import TwilioChannel
from launchlink.models import Message, MessageStatus
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.simulator.services.twilio import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, TwilioSim
from tests.messaging.conftest import DKIM_DOMAIN, email_channel, make_delivery, make_sms_rig
from tests.messaging.sink import Sink
from tests.messaging.world import World, make_world

RELEASE_DAY = date(2026, 6, 5)
BEFORE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOON_IN_BERLIN = datetime(2026, 6, 5, 10, 0, tzinfo=UTC)
SENDER = "+15005550006"


class Killed(Exception):
    """Stands for the SIGKILL: the round stops where it is, nothing more is committed."""


class DiesMidBatch:
    """A real channel whose worker dies at its ``call``-th hand-over: right after the
    provider took the message (``after_send``: its settlement is never committed), or
    just before sending it (marked handed over, never sent)."""

    def __init__(self, inner: Channel, *, call: int, after_send: bool) -> None:
        self.inner = inner
        self.name, self.provider = inner.name, inner.provider
        self.call, self.after_send = call, after_send
        self.calls = 0

    async def send(self, envelope: Envelope) -> Accepted:
        self.calls += 1
        if self.calls == self.call and not self.after_send:
            raise Killed
        accepted = await self.inner.send(envelope)
        if self.calls == self.call:
            raise Killed
        return accepted

    async def close(self) -> None:
        await self.inner.close()


class DiesMidBatchAsking(DiesMidBatch):
    """The same, over a provider it can ask (Twilio's Messages list)."""

    def __init__(self, inner: TwilioChannel, *, call: int, after_send: bool) -> None:
        super().__init__(inner, call=call, after_send=after_send)
        self.twilio = inner

    async def accepted_since(self, envelope: Envelope, since: datetime) -> list[Accepted]:
        return await self.twilio.accepted_since(envelope, since)


async def _world(db: Database, *, sms: bool) -> World:
    world = await make_world(db, release_date=RELEASE_DAY)
    for n in range(3):
        await world.add_fan(
            f"fan{n}", country="DE", consent_at=BEFORE, email=not sms,
            phone=f"+49151000000{n}" if sms else None, sms_confirmed=sms,
        )  # fmt: skip
    async with db.transaction() as session:
        await planner.plan_release(session, world.release_id, now=BEFORE)
    return world


async def _ledger(db: Database) -> Counter[str]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(MessageStatus.status))
    return Counter(rows.scalars())


async def _messages(db: Database) -> list[Message]:
    """The release-day messages (the countdowns' moment had passed: cancelled)."""
    async with db.sessionmaker() as session:
        rows = await session.execute(select(Message).where(Message.kind == MessageKind.release_day))
    return list(rows.scalars())


async def test_an_sms_cut_short_is_looked_up_at_twilio_and_never_sent_twice(
    db: Database,
) -> None:
    await _world(db, sms=True)
    clock = FrozenClock(NOON_IN_BERLIN)
    rig = make_sms_rig(db, clock)

    async def dies(**how: int | bool) -> None:
        dying = make_delivery(
            db, clock, {MessageChannel.sms: DiesMidBatchAsking(rig.channel, **how)},  # type: ignore[arg-type]
            sms_per_second=100, smtp_connections=1, reconciled_in_doubt=1,
        )  # fmt: skip
        with pytest.raises(ExceptionGroup) as died:
            await dying.run_round(MessageChannel.sms)
        assert died.group_contains(Killed)
        clock.advance(timedelta(minutes=2))  # the dead worker's lease runs out

    await dies(call=2, after_send=True)  # Twilio took the second text; never settled
    assert len(rig.sim.messages) == 2
    marked = [m for m in await _messages(db) if m.handover_token is not None]
    assert len(marked) == 1
    assert marked[0].state is MessageState.queued
    await dies(call=1, after_send=False)  # the next worker dies before its first send
    assert len(rig.sim.messages) == 2
    assert any(m.handover_token is not None for m in await _messages(db))

    survivor = make_delivery(db, clock, {MessageChannel.sms: rig.channel}, sms_per_second=100)
    await survivor.run_round(MessageChannel.sms)

    texts = list(rig.sim.messages.values())
    assert len(texts) == 3
    assert sorted(Counter(t.to for t in texts).values()) == [1, 1, 1]
    messages = await _messages(db)
    assert {m.state for m in messages} == {MessageState.sent}
    assert {m.handover_token for m in messages} == {None}
    assert {m.provider_message_id for m in messages} == {t.sid for t in texts}
    ledger = await _ledger(db)
    assert (ledger["sent"], ledger["reconciled"], ledger["sent-after-check"]) == (1, 1, 1)


async def test_an_email_cut_short_is_sent_again_with_its_message_id(
    db: Database, sink: Sink
) -> None:
    """The residual SMTP leaves: the message the server took before the kill reaches it
    twice (same Message-ID); the one marked but never sent reaches it once."""
    await _world(db, sms=False)
    clock = FrozenClock(NOON_IN_BERLIN)
    channel = email_channel(sink, None, clock)

    async def dies(**how: int | bool) -> None:
        dying = make_delivery(
            db, clock, {MessageChannel.email: DiesMidBatch(channel, **how)},  # type: ignore[arg-type]
            smtp_connections=1,
        )  # fmt: skip
        with pytest.raises(ExceptionGroup):
            await dying.run_round(MessageChannel.email)
        clock.advance(timedelta(minutes=2))

    await dies(call=2, after_send=True)  # the server said 250; our commit never came
    first, cut_short = sink.message_ids()
    await dies(call=1, after_send=False)  # marked, then dead before sending
    assert len(sink.raw) == 2
    survivor = make_delivery(db, clock, {MessageChannel.email: channel})
    await survivor.run_round(MessageChannel.email)
    await channel.close()

    received = Counter(sink.message_ids())
    assert len(received) == 3
    assert received[first] == 1
    assert received[cut_short] == 2
    assert sorted(received.values()) == [1, 1, 2]
    assert all(mid.endswith(f"@{DKIM_DOMAIN}>") for mid in received)
    assert {m.state for m in await _messages(db)} == {MessageState.sent}
    ledger = await _ledger(db)
    # "sent-again" is "maybe again": SMTP cannot say whether the first copy arrived.
    assert ledger["sent"] + ledger["sent-again"] == 3
    assert ledger["sent-again"] >= 1


def _client(sim: TwilioSim) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app()),
        base_url="http://twilio.sim",
        auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN),
    )


async def test_the_simulators_messages_list_filters_is_newest_first_and_pages() -> None:
    clock = FrozenClock(datetime(2026, 6, 5, 10, 0, tzinfo=UTC))
    sim = TwilioSim(clock=clock)
    for n in range(3):
        sim.create(DEMO_ACCOUNT_SID, {"To": "+491510000001", "From": SENDER, "Body": f"b{n}"})
        clock.advance(timedelta(seconds=1))
    sim.create(DEMO_ACCOUNT_SID, {"To": "+491510000002", "From": SENDER, "Body": "other"})
    clock.set(datetime(2026, 6, 6, 10, 0, tzinfo=UTC))
    sim.create(DEMO_ACCOUNT_SID, {"To": "+491510000001", "From": SENDER, "Body": "next day"})
    path = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json"
    async with _client(sim) as client:
        first = (
            await client.get(
                path, params={"To": "+491510000001", "DateSent": "2026-06-05", "PageSize": 2}
            )
        ).json()
        assert [m["body"] for m in first["messages"]] == ["b2", "b1"]
        assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)
        assert first["previous_page_uri"] is None
        second = (await client.get(first["next_page_uri"])).json()
        assert [m["body"] for m in second["messages"]] == ["b0"]
        assert second["next_page_uri"] is None
        after = (await client.get(path, params={"DateSent>": "2026-06-06"})).json()
        assert [m["body"] for m in after["messages"]] == ["next day"]
        before = (await client.get(path, params={"DateSent<": "2026-06-05"})).json()
        assert len(before["messages"]) == 4
        assert all(m["date_sent"] for m in before["messages"])
        refused = await client.get(path, params={"PageSize": 1001})
        assert refused.status_code == 400
        stranger = await client.get(path, auth=(DEMO_ACCOUNT_SID, "wrong"))
        assert stranger.status_code == 401


async def test_our_lookup_matches_recipient_sender_and_body_across_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(twilio, "LOOKUP_PAGE_SIZE", 2)
    clock = FrozenClock(datetime(2026, 6, 5, 10, 0, tzinfo=UTC))
    sim = TwilioSim(clock=clock)
    channel = TwilioChannel(
        TwilioSettings(
            account_sid=DEMO_ACCOUNT_SID, auth_token=SecretStr(DEMO_AUTH_TOKEN),
            from_number=SENDER, api_url="http://twilio.sim",
        ),
        transport=httpx.ASGITransport(app=sim.app()),
    )  # fmt: skip
    fan = "+491510000001"
    identity = SenderIdentity(email_address="news@mail.example.test")
    envelope = Envelope(message_id=uuid4(), to=fan, text="Tidewater is out", sender=identity)
    sent = await channel.send(envelope)
    for n in range(4):  # later texts to the fan push ours onto a later page
        clock.advance(timedelta(seconds=1))
        sim.create(DEMO_ACCOUNT_SID, {"To": fan, "From": SENDER, "Body": f"later {n}"})
    since = datetime(2026, 6, 5, 9, 59, tzinfo=UTC)
    assert await channel.accepted_since(envelope, since) == [sent]
    other_body = Envelope(message_id=envelope.message_id, to=fan, text="x", sender=identity)
    assert await channel.accepted_since(other_body, since) == []
    assert await channel.accepted_since(envelope, since + timedelta(minutes=5)) == []
    await channel.close()


async def test_a_commit_carrying_one_message_for_two_rounds_marks_it_for_its_holder_only(
    db: Database,
) -> None:
    """A round whose lease ran out and the round that claimed the message since can both
    ask one group commit to mark it (their connections queued at the same moment): only
    the holder's mark applies and only the holder is told to send it. Before, the fence
    kept one holder per message (whichever part came last) and every part read the
    commit's marks as its own, so both rounds could send it: a copy without any kill."""
    await _world(db, sms=False)
    clock = FrozenClock(NOON_IN_BERLIN)
    delivery = make_delivery(db, clock, {}, lease_seconds=60)
    async with db.transaction(write_lock=True) as session:
        repository = MessagingRepository(session)
        [stale] = await repository.claim(
            channel=MessageChannel.email, owner="stale-round", now=NOON_IN_BERLIN,
            lease_until=NOON_IN_BERLIN + timedelta(seconds=60), limit=1,
        )  # fmt: skip
    clock.advance(timedelta(minutes=2))  # its lease runs out; another round claims it
    async with db.transaction(write_lock=True) as session:
        claimed = await MessagingRepository(session).claim(
            channel=MessageChannel.email, owner="holder-round", now=clock.now(),
            lease_until=clock.now() + timedelta(seconds=60), limit=50,
        )  # fmt: skip
    [current] = [m for m in claimed if m.id == stale.id]
    committer = _Committer(delivery, MessageChannel.email)
    loop = asyncio.get_running_loop()
    async with committer.in_use():
        for order in (("holder-round", "stale-round"), ("stale-round", "holder-round")):
            plans = {"holder-round": _Plan(current), "stale-round": _Plan(stale)}
            parts = [_Part(h, [plans[h]], [], loop.create_future()) for h in order]
            committer._pending.extend(parts)  # queued together: one commit carries both
            await committer._commit_pending()
            mine = {part.holder: part.done.result() for part in parts}
            assert mine == {"holder-round": {stale.id}, "stale-round": set()}
    async with db.sessionmaker() as session:
        row = await session.get(Message, stale.id)
    assert row is not None
    assert (row.lease_owner, row.state) == ("holder-round", MessageState.queued)
