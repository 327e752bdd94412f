from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from launchlink.analytics.enrich import (
    CLASSIFIER_VERSION,
    RULES_FINGERPRINT,
    Dropped,
    Enriched,
    Enricher,
    EventDraft,
    InvalidRawEvent,
    Step,
    default_steps,
    reclassify,
    rules_fingerprint,
)
from launchlink.analytics.visitors import InMemorySaltStore
from launchlink.kit.clock import FrozenClock
from launchlink.kit.geo import BundledGeoResolver

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
LINK = UUID("0190a0b0-0000-7000-8000-000000000001")
WORKSPACE = UUID("0190a0b0-0000-7000-8000-0000000000aa")
OTHER_WORKSPACE = UUID("0190a0b0-0000-7000-8000-0000000000bb")
FAN_IP = "81.2.69.142"  # GB in the bundled geo-IP data
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
INSTAGRAM_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 Instagram 337.0.3.23.54 (iPhone15,3; iOS 17_5; en_US; en; "
    "scale=3.00; 1290x2796; 614123456)"
)
TIKTOK_ANDROID = (
    "Mozilla/5.0 (Linux; Android 12; SM-A325F Build/SP1A.210812.016; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 trill_330204 "
    "JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill BytedanceWebview/d8a21c6"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68"
)
GPTBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)"
)


def draft(**changes: object) -> EventDraft:
    base = EventDraft(
        ts=NOW,
        link_id=LINK,
        workspace_id=WORKSPACE,
        kind="view",
        user_agent=IPHONE_SAFARI,
        accept=BROWSER_ACCEPT,
        client_ip=FAN_IP,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def geo() -> BundledGeoResolver:
    resolver = BundledGeoResolver()
    resolver.load()
    return resolver


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def enricher(geo: BundledGeoResolver, clock: FrozenClock) -> Enricher:
    return Enricher(
        default_steps(geo=geo, salts=InMemorySaltStore(clock), own_hosts=["links.example.com"])
    )


def enriched(enricher: Enricher, event: EventDraft) -> Enriched:
    result = enricher.enrich(event)
    assert isinstance(result, Enriched), result
    return result


def test_an_instagram_fan_is_a_human_on_an_iphone_from_instagram_in_the_uk(
    enricher: Enricher,
) -> None:
    event = enriched(enricher, draft(user_agent=INSTAGRAM_IOS, query="c=ig-story"))
    assert (event.bot_class, event.device_class, event.os, event.in_app) == (
        "human",
        "mobile",
        "iOS",
        "instagram",
    )
    # Instagram's in-app browser sends no referrer: the app itself says where the fan was.
    assert (event.source, event.channel, event.country) == ("instagram", "ig-story", "GB")
    assert event.visitor_hash is not None
    assert event.classifier_version == CLASSIFIER_VERSION
    assert ("source", "in-app browser: instagram") in event.labels


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sec_purpose": "prefetch"}, "sec-purpose"),
        ({"sec_purpose": "prefetch;prerender"}, "sec-purpose"),
        ({"purpose": "prefetch"}, "purpose"),
        ({"method": "HEAD"}, "head"),
        ({"accept": None}, "no accept"),
    ],
)
def test_prefetches_are_labelled_never_deleted(
    enricher: Enricher, changes: dict[str, object], reason: str
) -> None:
    event = enriched(enricher, draft(**changes))
    assert (event.bot_class, event.bot_reason) == ("prefetch", reason)
    assert ("bot", f"prefetch: {reason}") in event.labels
    assert not event.is_human


@pytest.mark.parametrize(
    ("user_agent", "bot_class"),
    [
        (GPTBOT, "ai_agent"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "preview"),
        ("kube-probe/1.29", "monitor"),
        ("python-requests/2.32.3", "bot"),
        (None, "bot"),
    ],
)
def test_bots_are_kept_with_their_class_and_reason(
    enricher: Enricher, user_agent: str | None, bot_class: str
) -> None:
    event = enriched(enricher, draft(user_agent=user_agent))
    assert event.bot_class == bot_class
    assert event.bot_reason
    assert event.labels[0][0] == "bot"


def test_a_bot_stays_a_bot_even_when_its_request_looks_like_a_prefetch(
    enricher: Enricher,
) -> None:
    assert enriched(enricher, draft(user_agent=GPTBOT, method="HEAD")).bot_class == "ai_agent"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"ts": datetime(2027, 3, 1, 12, 0)}, "naive timestamp"),  # noqa: DTZ001 - the bad input
        ({"kind": ""}, "invalid event kind"),
        ({"kind": "View; DROP TABLE"}, "invalid event kind"),
    ],
)
def test_events_that_cannot_be_counted_are_dropped_by_a_named_step_with_a_reason(
    enricher: Enricher, changes: dict[str, object], reason: str
) -> None:
    result = enricher.enrich(draft(**changes))
    assert isinstance(result, Dropped)
    assert (result.step, result.reason) == ("validate", reason)
    assert result.raw.client_ip is None


def test_a_custom_step_can_drop_and_later_steps_do_not_run(enricher: Enricher) -> None:
    def internal_traffic(event: EventDraft, out: object) -> str | None:
        return "the label's own office" if event.client_ip == FAN_IP else None

    custom = Enricher([*enricher.steps[:2], Step("internal", internal_traffic)])
    result = custom.enrich(draft())
    assert isinstance(result, Dropped)
    assert (result.step, result.reason) == ("internal", "the label's own office")
    with pytest.raises(ValueError, match="unique"):
        Enricher([Step("a", internal_traffic), Step("a", internal_traffic)])


def test_device_class_os_and_browser(enricher: Enricher) -> None:
    tablet = enriched(enricher, draft(user_agent=ANDROID_TABLET))
    desktop = enriched(enricher, draft(user_agent=WINDOWS_EDGE))
    tiktok = enriched(enricher, draft(user_agent=TIKTOK_ANDROID))
    assert (tablet.device_class, tablet.os, tablet.browser) == ("tablet", "Android", "Chrome")
    assert (desktop.device_class, desktop.os, desktop.browser) == ("desktop", "Windows", "Edge")
    assert (tiktok.device_class, tiktok.os, tiktok.in_app, tiktok.source) == (
        "mobile",
        "Android",
        "tiktok",
        "tiktok",
    )


@pytest.mark.parametrize(
    ("referrer", "query", "source"),
    [
        ("https://l.instagram.com/?u=https%3A%2F%2Flinks.example.com", None, "instagram"),
        ("https://www.tiktok.com/", None, "tiktok"),
        ("https://t.co/AbC123", None, "x"),
        ("https://x.com/someartist/status/1", None, "x"),
        ("https://lm.facebook.com/l.php?u=x", None, "facebook"),
        ("https://m.facebook.com/", None, "facebook"),
        ("https://m.youtube.com/watch?v=abc", None, "youtube"),
        ("https://www.google.co.uk/", None, "google"),
        ("https://www.google.com.br/search?q=x", None, "google"),
        ("https://mail.google.com/mail/u/0/", None, "email"),
        ("https://outlook.live.com/", None, "email"),
        ("https://webmail.example-isp.net/", None, "email"),
        ("android-app://com.google.android.gm", None, "email"),
        ("https://blog.example.org/post", None, "other"),
        ("https://www.googleusercontent.com/", None, "other"),
        (None, None, "direct"),
        # the link's own tags beat the referrer for e-mail and SMS
        (None, "utm_source=newsletter&utm_medium=email", "email"),
        ("https://blog.example.org/", "c=email-launch", "email"),
        (None, "c=sms-reminder", "sms"),
        (None, "utm_medium=SMS", "sms"),
        # a channel code or utm_source names the source when there is no referrer
        (None, "c=tt-bio", "tiktok"),
        (None, "utm_source=instagram", "instagram"),
        ("https://t.co/x", "c=ig-story", "x"),
        # the smart link's own page is no source
        ("https://links.example.com/night-drive", None, "direct"),
        ("not a url", None, "other"),
        ("javascript:alert(1)", None, "other"),
    ],
)
def test_referrer_to_source(
    enricher: Enricher, referrer: str | None, query: str | None, source: str
) -> None:
    event = enriched(enricher, draft(referrer=referrer, query=query))
    assert event.source == source


def test_a_stored_event_keeps_the_referrers_host_and_the_campaign_tags_only(
    enricher: Enricher,
) -> None:
    event = enriched(
        enricher,
        draft(
            referrer="https://www.Google.com/search?q=fan%40example.com",
            query="fbclid=IwAR0secret&utm_source=IG&c=ig-story&gclid=Cj0secret",
        ),
    )
    assert event.referrer_host == "google.com"
    stored = event.stored_raw()
    assert (stored.referrer, stored.query) == ("https://google.com/", "utm_source=ig&c=ig-story")
    text = json.dumps(event.to_json())
    for secret in ("fan", "example.com", "IwAR0secret", "Cj0secret", "fbclid", "gclid"):
        assert secret not in text
    replayed = reclassify(stored)
    assert isinstance(replayed, Enriched)
    assert (replayed.source, replayed.utm_source, replayed.channel) == ("google", "ig", "ig-story")


def test_utm_parameters_and_the_channel_code(enricher: Enricher) -> None:
    event = enriched(
        enricher,
        draft(
            query="utm_source=Instagram&utm_medium=Social&utm_campaign=Night%20Drive"
            "&utm_term=synth&utm_content=story-2&c=IG-Story&utm_source=ignored"
        ),
    )
    assert (
        event.utm_source,
        event.utm_medium,
        event.utm_campaign,
        event.utm_term,
        event.utm_content,
        event.channel,
    ) == ("instagram", "social", "Night Drive", "synth", "story-2", "ig-story")


@pytest.mark.parametrize("query", ["c=%00%01", "c=" + "x" * 65, "c=<script>", "c=ig story"])
def test_a_malformed_channel_code_is_left_out_not_an_error(enricher: Enricher, query: str) -> None:
    assert enriched(enricher, draft(query=query)).channel is None


def test_the_trusted_country_header_beats_the_ip_and_bad_codes_fall_back(
    enricher: Enricher,
) -> None:
    assert enriched(enricher, draft(country_header="fr")).country == "FR"
    assert enriched(enricher, draft(country_header="XX")).country == "GB"
    assert enriched(enricher, draft(client_ip="10.0.0.1")).country is None


def test_one_visitor_is_one_hash_per_day_and_workspace(
    enricher: Enricher, clock: FrozenClock
) -> None:
    first = enriched(enricher, draft()).visitor_hash
    again = enriched(enricher, draft(ts=NOW + timedelta(hours=3))).visitor_hash
    elsewhere = enriched(enricher, draft(workspace_id=OTHER_WORKSPACE)).visitor_hash
    other_browser = enriched(enricher, draft(user_agent=WINDOWS_EDGE)).visitor_hash
    clock.advance(timedelta(days=1))
    tomorrow = enriched(enricher, draft(ts=NOW + timedelta(days=1))).visitor_hash
    assert first == again
    assert len({first, elsewhere, other_browser, tomorrow}) == 4


def test_after_48_hours_a_days_salt_is_gone_and_late_events_get_no_hash(
    enricher: Enricher, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=48))
    late = enriched(enricher, draft(ts=NOW))
    assert late.visitor_hash is None
    assert ("visitor", "the day's salt is gone; no visitor hash") in late.labels


def test_no_ip_address_is_kept_anywhere(enricher: Enricher) -> None:
    event = enriched(enricher, draft(user_agent=INSTAGRAM_IOS))
    stored = event.stored_raw()
    assert stored.client_ip is None
    assert (stored.country, stored.visitor_hash) == (event.country, event.visitor_hash)
    for text in (json.dumps(event.to_json()), json.dumps(stored.to_json()), repr(event)):
        assert FAN_IP not in text
    dropped = enricher.enrich(draft(kind=""))
    assert FAN_IP not in repr(dropped)


def test_replaying_a_stored_raw_event_gives_the_same_answer_without_ip_or_salt(
    enricher: Enricher,
) -> None:
    first = enriched(enricher, draft(user_agent=INSTAGRAM_IOS, query="c=ig-story"))
    stored = EventDraft.from_json(json.loads(json.dumps(first.stored_raw().to_json())))
    replayed = reclassify(stored)
    assert isinstance(replayed, Enriched)
    assert replayed.to_json() == first.to_json()


def test_the_classifier_version_is_bumped_whenever_a_rule_changes() -> None:
    assert rules_fingerprint() == RULES_FINGERPRINT, (
        "a classification rule changed: bump CLASSIFIER_VERSION and set RULES_FINGERPRINT to "
        f"{rules_fingerprint()!r} in launchlink/analytics/enrich.py"
    )
    assert CLASSIFIER_VERSION >= 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"link_id": str(LINK), "workspace_id": str(WORKSPACE)}, "ts"),
        ({"ts": "yesterday", "link_id": str(LINK), "workspace_id": str(WORKSPACE)}, "ts"),
        ({"ts": NOW.isoformat(), "link_id": "42", "workspace_id": str(WORKSPACE)}, "link_id"),
        (
            {
                "ts": NOW.isoformat(),
                "link_id": str(LINK),
                "workspace_id": str(WORKSPACE),
                "user_agent": 7,
            },
            "user_agent",
        ),
        (
            {
                "ts": NOW.isoformat(),
                "link_id": str(LINK),
                "workspace_id": str(WORKSPACE),
                "client_ip": FAN_IP,
            },
            "client_ip",
        ),
    ],
)
def test_a_bad_stored_event_names_its_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRawEvent) as raised:
        EventDraft.from_json(data)
    assert raised.value.field == field
