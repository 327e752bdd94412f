"""A workspace's own wording and hours reach the wire: its template in the fan's language
(its translation over the built-in one), its English where neither has the fan's
language, the built-in wording otherwise; its narrower quiet hours hold a text (both
databases, a real SMTP server, the SMS simulator)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import manage, planner
from launchlink.messaging.schemas import QuietHoursRuleWrite, TemplateCreate
from launchlink.models.messaging import MessageChannel, MessageKind
from tests.messaging.conftest import email_channel, make_delivery, make_sms_rig
from tests.messaging.sink import Sink
from tests.messaging.world import make_world

BEFORE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RELEASE = date(2026, 6, 5)


async def test_the_workspaces_translation_wins_and_its_english_covers_the_rest(
    db: Database, sink: Sink
) -> None:
    world = await make_world(db, release_date=RELEASE)
    for name, language in (("de", "de"), ("ja", "ja-JP"), ("fr", "fr")):
        await world.add_fan(name, country="DE", language=language, consent_at=BEFORE)
    async with db.transaction() as session:
        for language, subject in (("en", "OUT: {{ title }}"), ("de", "DA: {{ title }}")):
            await manage.create_template(
                session,
                world.workspace_id,
                TemplateCreate(
                    kind=MessageKind.release_day, channel=MessageChannel.email,
                    language=language, subject=subject, text="{{ title }} {{ listen_url }}",
                ),
            )  # fmt: skip
        await planner.plan_release(session, world.release_id, now=BEFORE)
    clock = FrozenClock(datetime(2026, 6, 4, 22, 0, tzinfo=UTC))  # midnight in Berlin
    delivery = make_delivery(db, clock, {MessageChannel.email: email_channel(sink, None, clock)})

    assert (await delivery.run_round(MessageChannel.email)).sent == 3

    subjects = {m["To"].split("@")[0]: m["Subject"] for m in sink.messages()}
    assert subjects == {
        "de": "DA: Tidewater",  # the workspace's German
        "ja": "OUT: Tidewater",  # no Japanese anywhere: the workspace's English
        "fr": "Tidewater est sorti",  # the built-in French beats the workspace's English
    }


async def test_a_workspaces_narrower_hours_hold_a_text(db: Database) -> None:
    world = await make_world(db, release_date=RELEASE)
    await world.add_fan(
        "london", country="GB", email=False, phone="+447700900123", sms_confirmed=True,
        consent_at=BEFORE,
    )  # fmt: skip
    async with db.transaction() as session:
        await manage.set_quiet_hours(
            session, world.workspace_id, channel=MessageChannel.sms, scope="GB",
            body=QuietHoursRuleWrite(allowed_from=10 * 60, allowed_until=20 * 60),
        )  # fmt: skip
        await planner.plan_release(session, world.release_id, now=BEFORE)
    nine = datetime(2026, 6, 5, 8, 0, tzinfo=UTC)  # 09:00 in London (summer time)
    clock = FrozenClock(nine)
    rig = make_sms_rig(db, clock)
    delivery = make_delivery(db, clock, {MessageChannel.sms: rig.channel}, sms_per_second=100)

    held = await delivery.run_round(MessageChannel.sms)
    assert (held.deferred, held.sent) == (1, 0)  # the instance allows 08:00; the workspace 10:00
    clock.set(datetime(2026, 6, 5, 9, 0, tzinfo=UTC))
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    await rig.webhooks.aclose()
