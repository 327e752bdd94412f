"""What the pre-save page promises without a browser: services before the opt-ins, the
countdown as text with its script allowed by hash only, SEO and share previews, and the
time-zone choice grouped by country."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.robotparser import RobotFileParser

import httpx
import pytest

from launchlink.app import ROBOTS_TXT, Application
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.links.test_public_support import PREVIEW_BOTS
from tests.presave.conftest import make_presave_link


async def test_services_come_first_and_the_opt_ins_after(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    page = (await fan.get("/soon")).text
    assert page.index('id="presave-spotify"') < page.index('id="email"')
    assert page.index('id="email"') < page.index('id="remind-any"')
    # The same permission summary shape for every connecting service.
    summary = re.search(
        r'<div class="allow" id="allow-spotify">What you allow:<ul>(.*?)</ul>', page
    )
    assert summary is not None
    assert summary.group(1).count("<li>") >= 2


async def test_the_countdown_is_text_without_javascript_and_its_script_is_allowed_by_hash(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    response = await fan.get("/soon")
    countdown = re.search(
        r'<p id="countdown" role="timer" data-at="([^"]+)">(\d+ days to go)</p>', response.text
    )
    assert countdown is not None, response.text
    assert countdown.group(1) == "2026-03-06T00:00:00+00:00"
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = response.headers["content-security-policy"]
    assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1]
    assert re.search(r"<[^>]+\son[a-z]+\s*=", response.text) is None  # no inline handlers


async def test_the_presave_page_has_the_seo_basics_and_share_previews(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, release={"artwork_url": "https://i.scdn.co/image/ab67"})
    page = (await fan.get("/soon")).text
    assert '<html lang="en">' in page
    assert "<title>Midnight Cartography – Nova Reyes</title>" in page
    assert '<meta name="description" content="Pre-save Midnight Cartography' in page
    assert '<link rel="canonical" href="https://links.example.test/soon">' in page
    assert '<meta property="og:image" content="https://i.scdn.co/image/ab67">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert '<script type="application/ld+json">' in page
    assert "noindex" not in page


async def test_the_presave_page_lets_auditors_read_robots_txt_and_crawlers_in(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    """Lighthouse fetches /robots.txt from inside the page under its CSP: the pre-save page
    scored 92 in SEO while its ``default-src 'none'`` refused that fetch."""
    await make_presave_link(admin, label)
    response = await fan.get("/soon")
    assert 'id="presave-form"' in response.text
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    rules = RobotFileParser()
    rules.parse(ROBOTS_TXT.splitlines())
    assert rules.can_fetch("Googlebot", "https://links.example.test/soon")


async def test_the_time_zone_choice_is_grouped_by_country_and_keeps_the_current_zone(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    await fan.get("/soon")
    page = (await fan.get("/presave/soon/timezone", headers={"accept-language": "de"})).text
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert len(groups) > 200
    assert groups == sorted(groups, key=str.casefold)
    germany = re.search(r'<optgroup label="Deutschland">(.*?)</optgroup>', page)
    assert germany is not None
    assert '<option value="Europe/Berlin"' in germany.group(1)
    assert re.search(r'<option value="[^"]+" selected>', page)
    assert '<div id="zone-search" hidden>' in page  # the filter appears with JavaScript only


@pytest.mark.parametrize("bot", sorted(PREVIEW_BOTS))
async def test_messaging_apps_get_the_preview_of_the_presave_page_in_each_phase(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, bot: str
) -> None:
    """What WhatsApp, iMessage, Slack, Discord, Telegram, Facebook… are sent: the card with
    an absolute image, a title and a text that fits the phase, never the form or a cookie."""
    await make_presave_link(admin, label, release={"artwork_url": "https://i.scdn.co/image/ab67"})
    await make_presave_link(
        admin,
        label,
        slug="announced",
        release={"artwork_url": "https://i.scdn.co/image/ab67"},
        campaign={"presave_opens_at": "2026-03-03T00:00:00+00:00"},
    )
    headers = {"user-agent": PREVIEW_BOTS[bot]}
    for slug, text in (
        ("soon", "Pre-save Midnight Cartography by Nova Reyes now. Out "),
        ("announced", "Midnight Cartography by Nova Reyes is out "),
    ):
        response = await fan.get(f"/{slug}", headers=headers)
        assert response.status_code == 200, (bot, slug)
        assert "set-cookie" not in response.headers, (bot, slug)
        page = response.text
        assert "<form" not in page, (bot, slug)
        assert '<meta property="og:image" content="https://i.scdn.co/image/ab67">' in page
        assert '<meta name="twitter:image" content="https://i.scdn.co/image/ab67">' in page
        # A service's artwork is of a size we do not know: no made-up width or height.
        assert "og:image:width" not in page, (bot, slug)
        assert '<meta name="twitter:card" content="summary_large_image">' in page
        title = '<meta property="og:title" content="Midnight Cartography – Nova Reyes">'
        assert title in page, (bot, slug)
        assert f'<meta property="og:description" content="{text}' in page, (bot, slug)
        assert f'<meta property="og:url" content="https://links.example.test/{slug}">' in page
