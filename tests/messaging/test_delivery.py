"""The message outbox end to end on both databases: planned per fan, sent through a real
SMTP server at each fan's own instant, consent and pauses honoured, the ledger and the
events kept."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import dkim
import pytest
from sqlalchemy import func, select

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.messaging.dkim import DkimSigner
from launchlink.messaging.repository import MessagingRepository
from launchlink.models import Fan, Message, MessageStatus, OutboxEvent
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.web.security import BadSignature, Signer
from tests.messaging.conftest import SECRET, email_channel, make_delivery
from tests.messaging.sink import Sink
from tests.messaging.world import World, make_world

RELEASE_DAY = date(2026, 6, 5)
BEFORE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_URL = re.compile(r"https?://[^\s<>\"']+")


async def _world(db: Database) -> World:
    world = await make_world(db, release_date=RELEASE_DAY)
    await world.add_fan("ny", country="US", zone="America/New_York", consent_at=BEFORE)
    await world.add_fan("berlin", country="DE", consent_at=BEFORE, language="de")
    await world.add_fan("tokyo", country="JP", consent_at=BEFORE)
    return world


async def _plan(db: Database, world: World, clock: FrozenClock) -> int:
    async with db.transaction() as session:
        return await planner.plan_release(session, world.release_id, now=clock.now())


def _dns(records: dict[str, str]) -> Any:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        found = records.get(name.decode())
        return found.encode() if found else None

    return lookup


async def test_each_fan_gets_the_release_day_email_at_their_own_local_release_instant(
    db: Database, sink: Sink, signer: DkimSigner, dkim_dns: dict[str, str]
) -> None:
    world = await _world(db)
    clock = FrozenClock(BEFORE)
    assert await _plan(db, world, clock) == 6  # release day + countdown for three fans
    assert await _plan(db, world, clock) == 0  # planning twice adds nothing
    delivery = make_delivery(db, clock, {MessageChannel.email: email_channel(sink, signer, clock)})

    local_midnights = {
        "tokyo": datetime(2026, 6, 4, 15, 0, tzinfo=UTC),
        "berlin": datetime(2026, 6, 4, 22, 0, tzinfo=UTC),
        "ny": datetime(2026, 6, 5, 4, 0, tzinfo=UTC),
    }
    # The countdowns, 24 hours before each instant.
    clock.set(local_midnights["tokyo"] - timedelta(hours=24))
    assert (await delivery.run_round(MessageChannel.email)).sent == 1
    clock.set(local_midnights["ny"] - timedelta(hours=24))
    assert (await delivery.run_round(MessageChannel.email)).sent == 2
    countdowns = sink.messages()
    assert {m["To"] for m in countdowns} == {f"{n}@fans.example.test" for n in local_midnights}
    sink.raw.clear()

    for name, instant in local_midnights.items():
        clock.set(instant - timedelta(seconds=1))
        assert (await delivery.run_round(MessageChannel.email)).claimed == 0
        clock.set(instant)
        assert (await delivery.run_round(MessageChannel.email)).sent == 1
        [message] = sink.messages()[-1:]
        assert message["To"] == f"{name}@fans.example.test"
    assert len(sink.raw) == 3

    verifier = Signer(SECRET)
    for raw, message in zip(sink.raw, sink.messages(), strict=True):
        assert dkim.verify(raw, dnsfunc=_dns(dkim_dns))
        assert b"=?utf-8?" not in raw.split(b"\r\n\r\n")[0]  # headers are not encoded words
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        plain = message.get_body(preferencelist=("plain",))
        assert plain is not None
        text = str(plain.get_content())
        listen = [u for u in _URL.findall(text) if "/presave/unsubscribe/" not in u]
        assert listen == ["https://links.example.test/tidewater/spotify?c=email-release"]
        # The one token in any URL is the unsubscribe one: signed, and good for nothing else.
        urls = set(_URL.findall(text)) | {message["List-Unsubscribe"].strip("<>")}
        tokens = [u.rsplit("/", 1)[1] for u in urls if "/presave/unsubscribe/" in u]
        assert len(tokens) == 1
        assert all(not urlsplit(u).query or u.endswith("c=email-release") for u in urls)
        verifier.unsign("unsubscribe", tokens[0], now=BEFORE)
        with pytest.raises(BadSignature):
            verifier.unsign("revoke", tokens[0], now=BEFORE)
    german = next(m for m in sink.messages() if m["To"].startswith("berlin"))
    assert german["Subject"] == "Tidewater ist jetzt erschienen"

    async with db.sessionmaker() as session:
        counts = await MessagingRepository(session).counts(world.workspace_id)
        sent_events = await session.scalar(
            select(func.count()).where(OutboxEvent.type == "message.sent")
        )
        queued_events = await session.scalar(
            select(func.count()).where(OutboxEvent.type == "message.queued")
        )
    assert counts == {("email", "sent"): 6}
    assert (sent_events, queued_events) == (6, 6)


async def test_a_fan_without_confirmed_consent_gets_nothing(db: Database, sink: Sink) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    fan_id = await world.add_fan("ann", country="DE", consent_at=BEFORE)
    clock = FrozenClock(BEFORE)
    await _plan(db, world, clock)
    async with db.transaction() as session:
        fan = await session.get(Fan, fan_id)
        assert fan is not None
        fan.email_consent_at = None  # the fan unsubscribed meanwhile
    delivery = make_delivery(db, clock, {MessageChannel.email: email_channel(sink, None, clock)})
    clock.set(datetime(2026, 6, 5, tzinfo=UTC))
    done = await delivery.run_round(MessageChannel.email)
    assert (done.cancelled, done.sent) == (2, 0)
    assert sink.raw == []


async def test_refusals_retry_with_backoff_or_fail_for_good_by_their_codes(
    db: Database, sink: Sink
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    await world.add_fan("busy", country="DE", consent_at=BEFORE)
    await world.add_fan("gone", country="DE", consent_at=BEFORE)
    sink.refuse = {
        "busy@fans.example.test": "451 4.3.0 try again later",
        "gone@fans.example.test": "550 5.1.1 no such user",
    }
    clock = FrozenClock(datetime(2026, 6, 4, 22, 0, tzinfo=UTC))
    await _plan(db, world, clock)
    delivery = make_delivery(
        db, clock, {MessageChannel.email: email_channel(sink, None, clock)}, retry_base_seconds=60
    )
    done = await delivery.run_round(MessageChannel.email)
    assert (done.retrying, done.failed) == (1, 1)
    async with db.sessionmaker() as session:
        rows = {
            m.fan_id: m
            for m in (await session.execute(select(Message))).scalars()
            if m.kind is MessageKind.release_day
        }
    busy, gone = rows[world.fans["busy"]], rows[world.fans["gone"]]
    assert gone.state is MessageState.failed
    assert (gone.bounce, gone.attempts) == ("hard", 1)
    assert busy.state is MessageState.queued
    assert busy.attempts == 1
    assert 30 <= (busy.next_attempt_at - clock.now()).total_seconds() <= 60
    # Once the server takes it, the retry goes out.
    sink.refuse.clear()
    clock.advance(61)
    assert (await delivery.run_round(MessageChannel.email)).sent == 1
    async with db.sessionmaker() as session:
        ledger = [
            r.status
            for r in (
                await session.execute(
                    select(MessageStatus)
                    .where(MessageStatus.message_id == busy.id)
                    .order_by(MessageStatus.at, MessageStatus.id)
                )
            ).scalars()
        ]
    assert ledger == ["queued", "retrying", "sent"]


async def test_a_workspace_whose_mail_bounces_is_paused_and_its_messages_wait(
    db: Database, sink: Sink
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    for n in range(6):
        await world.add_fan(f"dead{n}", country="DE", consent_at=BEFORE)
        sink.refuse[f"dead{n}@fans.example.test"] = "550 5.1.1 no such user"
    await world.add_fan("alive", country="DE", consent_at=BEFORE)
    clock = FrozenClock(datetime(2026, 6, 4, 22, 0, tzinfo=UTC))
    await _plan(db, world, clock)
    delivery = make_delivery(
        db,
        clock,
        {MessageChannel.email: email_channel(sink, None, clock)},
        batch=6,
        pause_min_sample=5,
        pause_bounce_rate=0.5,
    )
    first = await delivery.run_round(MessageChannel.email)
    assert first.failed >= 5
    async with db.sessionmaker() as session:
        identity = await MessagingRepository(session).identity(world.workspace_id)
    assert identity is not None
    assert identity.paused
    assert "bounced" in (identity.paused_reason or "")
    second = await delivery.run_round(MessageChannel.email)
    assert second.deferred == second.claimed > 0
    assert second.sent == 0
