"""The campaign page: the lifecycle timeline with where it stands (per territory in local
mode), live counts polled by HTMX, per-channel links and share texts; the fulfilment page
with its progress, report and fans needing re-auth."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest

from launchlink.app import Application
from launchlink.dashboard.release_day import REPORT_SHOWN
from launchlink.kit.clock import FrozenClock
from launchlink.models.presave import PresaveState
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import (
    PUBLIC_URL,
    Browser,
    BrowserFactory,
    Inbox,
    invite_and_join,
    seed_fan,
)
from tests.links.test_public_support import IPHONE


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


async def _campaign(browser: Browser, base: str, **extra: str) -> tuple[str, UUID]:
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns",
        {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "midnight", **extra},
    )
    assert created.status_code == 303, created.text
    found = re.search(
        r"(/dashboard/w/[^/]+/campaigns/([0-9a-f-]{36}))", created.headers["location"]
    )
    assert found
    return found.group(1), UUID(found.group(2))


def _steps(html: str) -> dict[str, str]:
    return dict(
        (title, state)
        for state, title in re.findall(r'<li class="(\w+)"[^>]*>\s*<strong>([^<]+)</strong>', html)
    )


async def test_a_released_campaign_stands_at_its_smart_link_in_every_territory(
    artist: tuple[Browser, str],
) -> None:
    browser, base = artist
    path, _ = await _campaign(browser, base)
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    assert _steps(page.text) == {
        "Announce": "done",
        "Pre-save": "skipped",
        "Release": "done",
        "Smart link": "now",
    }
    # The demo album goes out at local midnight: Auckland first, Mexico City last.
    assert "<td>NZ</td><td>Pacific/Auckland</td><td>2026-03-05 11:00 UTC</td>" in page.text
    assert "<td>MX</td><td>America/Mexico_City</td><td>2026-03-06 06:00 UTC</td>" in page.text
    assert "Midnight Cartography by Nova Reyes is out now. Listen: " in page.text
    assert (
        "midnight?utm_source=instagram&amp;utm_medium=social&amp;utm_campaign=launch" in page.text
    )


async def test_a_campaign_before_its_release_date_is_announced_and_its_texts_say_when(
    artist: tuple[Browser, str],
) -> None:
    browser, base = artist
    path, _ = await _campaign(browser, base, release_date="2026-04-03")
    page = await browser.get(path)
    assert _steps(page.text) == {
        "Announce": "done",
        "Pre-save": "skipped",
        "Release": "next",
        "Smart link": "next",
    }
    assert (
        "<td>GB</td><td>Europe/London</td><td>2026-04-02 23:00 UTC</td><td>announcement</td>"
        in page.text
    )
    assert "is coming 02 April" in page.text or "is coming 03 April" in page.text


async def test_live_counts_refresh_with_a_fans_visit(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    path, _ = await _campaign(browser, base)
    page = await browser.get(path)
    assert f'hx-get="{path}/counts" hx-trigger="every 10s"' in page.text
    transport = httpx.ASGITransport(app=sim_app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(
        transport=transport, base_url=PUBLIC_URL, headers={"user-agent": IPHONE}
    ) as fan:
        await fan.get("/midnight", headers={"accept": "text/html"})
        await fan.get("/midnight/deezer")
    assert sim_app.analytics is not None
    await sim_app.analytics.flush()
    fragment = await browser.get(f"{path}/counts")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "<dt>Views</dt><dd>1</dd>" in fragment.text
    assert "<dt>Clicks</dt><dd>1</dd>" in fragment.text


async def test_the_fulfilment_page_shows_progress_the_report_and_who_must_sign_in_again(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    path, link_id = await _campaign(browser, base)
    await seed_fan(sim_app, link_id, email="done@example.com", email_consent=False)
    await seed_fan(
        sim_app,
        link_id,
        email="stale@example.com",
        email_consent=False,
        state=PresaveState.needs_reauth,
        reason="the fan revoked access",
    )
    page = await browser.get(f"{path}/fulfilment")
    assert page.status_code == 200, page.text
    assert "<strong>2</strong> of <strong>2</strong> pre-saves finished" in page.text
    assert "fulfilment is complete" in page.text
    reauth = page.text.split("Fans who need to sign in again")[1].split("<h2>Report")[0]
    assert "stale@example.com" in reauth
    assert "done@example.com" not in reauth
    assert "the fan revoked access" in reauth
    fragment = await browser.get(f"{path}/fulfilment/progress")
    assert fragment.status_code == 200
    assert "hx-trigger" not in fragment.text  # finished: the page stops polling
    report = await browser.client.get(f"{path}/fulfilment/report.csv")
    assert report.status_code == 200
    rows = {r["fan_email"]: r["state"] for r in csv.DictReader(io.StringIO(report.text))}
    assert rows == {"done@example.com": "done", "stale@example.com": "needs_reauth"}


async def test_the_fulfilment_page_counts_every_pre_save_and_finds_re_auth_past_the_shown_rows(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    path, link_id = await _campaign(browser, base)
    for n in range(REPORT_SHOWN + 1):
        await seed_fan(sim_app, link_id, email=f"fan{n}@example.com", email_consent=False)
    await seed_fan(
        sim_app,
        link_id,
        email="last@example.com",
        email_consent=False,
        state=PresaveState.needs_reauth,
        reason="the fan revoked access",
    )
    page = await browser.get(f"{path}/fulfilment")
    assert page.status_code == 200, page.text
    total = REPORT_SHOWN + 2
    assert f"(the first {REPORT_SHOWN} of {total}; the CSV has all)" in page.text
    reauth = page.text.split("Fans who need to sign in again")[1].split("<h2>Report")[0]
    assert "last@example.com" in reauth
    report = page.text.split("<h2>Report")[1]
    assert "fan0@example.com" in report
    assert "last@example.com" not in report


async def test_fulfilment_keeps_polling_while_pre_saves_wait(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    path, link_id = await _campaign(browser, base)
    await seed_fan(
        sim_app, link_id, email="soon@example.com", email_consent=False, state=PresaveState.waiting
    )
    page = await browser.get(f"{path}/fulfilment")
    assert f'hx-get="{path}/fulfilment/progress" hx-trigger="every 5s"' in page.text
    assert "<strong>0</strong> of <strong>1</strong> pre-save finished" in page.text


async def test_a_viewer_sees_the_campaign_but_not_the_fans_report(
    artist: tuple[Browser, str], browsers_on_sim: BrowserFactory, inbox: Inbox
) -> None:
    browser, base = artist
    path, _ = await _campaign(browser, base)
    viewer = await browsers_on_sim()
    await invite_and_join(
        browser, viewer, inbox, UUID(base.rsplit("/", 1)[1]), "viewer@example.com", "viewer"
    )
    for sub in ("", "/counts", "/fulfilment", "/fulfilment/progress"):
        assert (await viewer.get(path + sub)).status_code == 200, sub
    assert (await viewer.get(f"{path}/fulfilment/report.csv")).status_code == 403
    page = await viewer.get(f"{path}/fulfilment")
    assert "Download the report" not in page.text
