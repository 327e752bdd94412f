"""Built-in wording in the fan's language: every message kind in English, Spanish,
French, German and Portuguese (the release-day message in Italian and Dutch too), picked
from the language the pre-save recorded for the fan (``Fan.language``, from the page's
language / Accept-Language), its base language for a regional tag (``pt-BR`` → ``pt``),
else English; SMS end with the opt-out line in that language. On both databases, through
a real SMTP server and the Twilio simulator."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.messaging.templates import DEFAULTS, default_template, preview, sms_footer
from launchlink.models.messaging import MessageChannel, MessageKind
from tests.messaging.conftest import email_channel, make_delivery, make_sms_rig
from tests.messaging.sink import Sink
from tests.messaging.world import make_world

LANGUAGES = ("en", "es", "fr", "de", "pt")
RELEASE_DAY = date(2026, 6, 5)
BEFORE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOON_IN_BERLIN = datetime(2026, 6, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("key", sorted(DEFAULTS, key=lambda k: (k[0].value, k[1].value)))
def test_every_built_in_wording_exists_in_five_languages_and_renders(
    key: tuple[MessageKind, MessageChannel],
) -> None:
    kind, channel = key
    if (kind, channel) == (MessageKind.announcement, MessageChannel.sms):
        # The workspace's own words plus the link: nothing of ours to translate.
        assert set(DEFAULTS[key]) == {"en"}
        return
    assert set(LANGUAGES) <= set(DEFAULTS[key])
    english = preview(DEFAULTS[key]["en"])
    for language in LANGUAGES[1:]:
        rendered = preview(DEFAULTS[key][language])
        assert rendered.text.strip()
        if kind is not MessageKind.announcement:  # its text is the workspace's body
            assert rendered.text != english.text, (key, language)
        if channel is MessageChannel.email:
            assert rendered.subject != english.subject, (key, language)


def test_a_regional_tag_falls_back_to_its_language_then_english() -> None:
    release = (MessageKind.release_day, MessageChannel.sms)
    assert default_template(*release, "pt-BR") == DEFAULTS[release]["pt"]
    assert default_template(*release, "fr-CA") == DEFAULTS[release]["fr"]
    assert default_template(*release, "ja") == DEFAULTS[release]["en"]
    assert sms_footer("es-MX") == "Responde STOP para darte de baja."
    assert sms_footer("ja") == "Reply STOP to opt out."


async def test_fans_get_the_release_day_message_in_their_own_language(
    db: Database, sink: Sink
) -> None:
    world = await make_world(db, release_date=RELEASE_DAY)
    await world.add_fan("fr", country="DE", consent_at=BEFORE, language="fr")
    await world.add_fan("es", country="DE", consent_at=BEFORE, language="es-ES")
    await world.add_fan("ja", country="DE", consent_at=BEFORE, language="ja")
    await world.add_fan(
        "pt", country="DE", consent_at=BEFORE, email=False, phone="+4915100000001",
        sms_confirmed=True, language="pt-BR",
    )  # fmt: skip
    async with db.transaction() as session:
        await planner.plan_release(session, world.release_id, now=BEFORE)
    clock = FrozenClock(NOON_IN_BERLIN)
    rig = make_sms_rig(db, clock)
    channel = email_channel(sink, None, clock)
    delivery = make_delivery(
        db, clock, {MessageChannel.email: channel, MessageChannel.sms: rig.channel},
        sms_per_second=100,
    )  # fmt: skip
    assert (await delivery.run_round(MessageChannel.email)).sent == 3
    assert (await delivery.run_round(MessageChannel.sms)).sent == 1
    await channel.close()

    subjects = {str(m["To"]).split("@")[0]: str(m["Subject"]) for m in sink.messages()}
    assert subjects == {
        "fr": "Tidewater est sorti",
        "es": "Tidewater ya está disponible",
        "ja": "Tidewater is out now",
    }
    [text] = rig.sim.messages.values()
    assert text.body.startswith("Tidewater de Nova Reyes já saiu: https://")
    assert text.body.endswith("Responde STOP para cancelar.")
