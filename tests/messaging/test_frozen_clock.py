"""A frozen clock walks one release through three time zones: every fan is messaged at
their own local release instant, a text is held until quiet hours end in the fan's zone,
and when the release moves every planned message follows it (both databases).

All through the wired path of a worker process: the context the bootstrap builds, the
pre-saves' ``presave.created`` events delivered by its outbox dispatcher to messaging's
planner, the move re-planning in its own transaction, and the process's delivery
(``messaging.tasks.delivery_for``) sending on a real SMTP server and the SMS simulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from launchlink.bootstrap import build_context
from launchlink.catalog import service as catalog
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.tasks import delivery_for
from launchlink.models import Message
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from tests.messaging.conftest import email_channel, make_sms_rig
from tests.messaging.sink import Sink
from tests.messaging.world import PUBLIC_URL, TERRITORIES, make_world

BEFORE = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
FIRST_DATE, MOVED_DATE = date(2026, 6, 5), date(2026, 6, 12)


def _midnights(day: date) -> dict[str, datetime]:
    """Local midnight of ``day`` in Tokyo, Berlin (summer time) and New York, in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return {
        "tokyo": start - timedelta(hours=9),
        "berlin": start - timedelta(hours=2),
        "ny": start + timedelta(hours=4),
    }


async def _planned(db: Database) -> dict[tuple[str, str, str], Message]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(Message))).scalars()
        return {(str(m.fan_id), m.kind.value, m.channel.value): m for m in rows}


async def test_three_zones_quiet_hours_and_a_moved_release(
    db: Database, database_url: str, sink: Sink, tmp_path: Path
) -> None:
    clock = FrozenClock(BEFORE)
    settings = Settings(
        database_url=database_url, var_dir=tmp_path / "var", public_url=PUBLIC_URL,
        environment="test",
        messaging=MessagingSettings(sms_per_second=100, email_per_second=10_000),
    )  # fmt: skip
    context = build_context(settings, role="worker", clock=clock, database=db)
    assert context.outbox is not None
    await context.outbox.run_once()  # the subscriptions exist before the first event
    world = await make_world(db, release_date=FIRST_DATE)
    await world.add_fan("tokyo", country="JP", consent_at=BEFORE, emit=True)
    await world.add_fan("berlin", country="DE", consent_at=BEFORE, emit=True)
    await world.add_fan(
        "ny", country="US", zone="America/New_York", phone="+12125550147", sms_confirmed=True,
        consent_at=BEFORE, emit=True,
    )  # fmt: skip
    rig = make_sms_rig(db, clock)
    delivery = delivery_for(
        context,
        channels={
            MessageChannel.email: email_channel(sink, None, clock),
            MessageChannel.sms: rig.channel,
        },
    )
    await context.outbox.drain()  # presave.created → messaging.plan
    assert len(await _planned(db)) == 8
    await context.outbox.drain()
    assert len(await _planned(db)) == 8  # an event plans once

    # The release moves a week later before anything was sent: every message follows.
    async with db.transaction() as session:
        change = await catalog.move_release(
            session, world.workspace_id, world.release_id, release_date=MOVED_DATE,
            territories=TERRITORIES, clock=clock,
        )  # fmt: skip
    assert change.replan is not None
    assert change.replan.messages == 8
    midnights = _midnights(MOVED_DATE)
    planned = await _planned(db)
    for name, instant in midnights.items():
        fan = str(world.fans[name])
        channels = ("email", "sms") if name == "ny" else ("email",)
        for channel in channels:
            assert planned[(fan, "release_day", channel)].send_at == instant
            assert planned[(fan, "countdown", channel)].send_at == instant - timedelta(hours=24)

    # Nothing goes out at the old instants.
    for instant in _midnights(FIRST_DATE).values():
        clock.set(instant)
        for channel in (MessageChannel.email, MessageChannel.sms):
            assert (await delivery.run_round(channel)).claimed == 0

    # Each fan's countdown (24 hours before) and release day, in the order of the instants.
    moments = sorted(
        (at, name)
        for name, instant in midnights.items()
        for at in (instant - timedelta(hours=24), instant)
    )
    texts_at: list[datetime] = []
    for at, name in moments:
        clock.set(at - timedelta(seconds=1))
        assert (await delivery.run_round(MessageChannel.email)).claimed == 0
        clock.set(at)
        assert (await delivery.run_round(MessageChannel.email)).sent == 1
        assert sink.messages()[-1]["To"] == f"{name}@fans.example.test"
        # The New York texts come due at midnight there: held until 8:00, sent at the
        # first round after it.
        texts_at += [at] * (await delivery.run_round(MessageChannel.sms)).sent
    countdown_opens = midnights["ny"] - timedelta(hours=24) + timedelta(hours=8)
    assert texts_at == [min(at for at, _ in moments if at >= countdown_opens)]
    [countdown_text] = rig.sim.messages.values()
    assert countdown_text.body.startswith("24 hours until Tidewater")
    planned = await _planned(db)
    ny = str(world.fans["ny"])
    held = planned[(ny, "release_day", "sms")]
    opens = midnights["ny"] + timedelta(hours=8)  # 08:00 in New York
    assert (held.state, held.next_attempt_at) == (MessageState.queued, opens)
    assert held.send_at == midnights["ny"]  # the plan is kept; only the attempt moved

    clock.set(opens - timedelta(seconds=1))
    assert (await delivery.run_round(MessageChannel.sms)).claimed == 0
    clock.set(opens)
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    assert len(rig.sim.messages) == 2
    assert list(rig.sim.messages.values())[-1].body.startswith("Tidewater by Nova Reyes is out")
    final = await _planned(db)
    assert {m.state for m in final.values()} == {MessageState.sent}
    assert {m.kind for m in final.values()} == {MessageKind.release_day, MessageKind.countdown}
    await rig.webhooks.aclose()
    assert context.registry is not None
    await context.registry.aclose()
