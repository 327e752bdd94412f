"""Issue 12's done-when walk, in one run of headless Chromium against ``launchlink serve``
itself (a subprocess: its embedded fulfilment worker, outbox dispatcher and analytics
flusher run as on a one-machine install; the simulator embedded; mail to the dev outbox):

sign up → a campaign from a pasted simulator Spotify URL → change the design → the Release
page: a date ahead and pre-saves on → a fan on a phone pre-saves with Spotify through the
simulator's OAuth consent page and confirms their email → "Release now" → the served
worker fulfils → the pre-save is "done" on the campaign's fulfilment page → the fan clicks
Spotify on the smart link → the click in the analytics charts → fans CSV export; the
release is in the fan's library in the simulator.

Why the release is first moved ahead: the simulated Spotify, like the real one, shows no
album before it is out, so a pasted URL is always of a released album; the artist gives
it a date ahead to take pre-saves, then releases it now.

axe-core runs on every launchlink page visited (dashboard and fan pages, light and dark);
the simulator's consent page and the dev outbox are not launchlink pages and are only
screenshotted. Screenshots: tests/artifacts/walk/ (ignored by git).
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.chromium import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    LAPTOP,
    PHONE,
    audit,
    launch_campaign,
    served_like_serve,
    sign_up,
)
from tests.links.test_public_support import IPHONE

FOLDER = "walk"
FAN = "walk-fan"
FAN_EMAIL = "walk-fan@example.com"


async def _shot(page: Any, name: str) -> None:
    """A screenshot of a page that is not ours (no axe: its markup is not launchlink's)."""
    (ARTIFACTS / FOLDER).mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / FOLDER / f"{name}.png"), full_page=True)


async def _until(page: Any, url: str, text: str, *, seconds: float) -> None:
    """Reload ``url`` until it shows ``text`` (work done by the served process's own
    background workers, on their own schedule)."""
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while True:
        await page.goto(url)
        if text in await page.content():
            return
        assert datetime.now(UTC) < deadline, f"{url} never showed {text!r}"
        await page.wait_for_timeout(1000)


@pytest.mark.browser
@pytest.mark.slow
async def test_the_done_when_walk_from_sign_up_to_a_fulfilled_presave_and_the_fans_csv(
    tmp_path: Path, sqlite_backend: Any, chromium_path: str
) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    with served_like_serve(tmp_path, sqlite_backend.template) as server:
        base = server.base_url
        control = f"{base}/_sim/_control"
        async with httpx.AsyncClient(timeout=10) as http:
            # The fan signs in on the simulated Spotify's consent page themselves.
            response = await http.post(
                f"{control}/consent", json={"service": "spotify", "mode": "manual"}
            )
            assert response.status_code == 200, response.text
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS
            )
            try:
                await _walk(browser, base, tmp_path, PlaywrightError)
            finally:
                await browser.close()

        async with httpx.AsyncClient(timeout=10) as http:
            library = (
                await http.get(f"{control}/library", params={"service": "spotify", "user": FAN})
            ).json()
            ledger = (
                await http.get(
                    f"{control}/ledger",
                    params={"service": "spotify", "user": FAN, "action": "save_album"},
                )
            ).json()
        album = f"spotify:album:{DEMO_ALBUM.service_ids['spotify']}"
        assert album in library.get("save_album", []), library
        assert [e["outcome"] for e in ledger["entries"]] == ["added"], ledger


async def _walk(browser: Any, base: str, tmp_path: Path, playwright_error: Any) -> None:
    # bypass_csp: only so axe can be injected; the pages' own CSP is tested elsewhere.
    artist = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
    page = await artist.new_page()
    page.set_default_timeout(30_000)

    # 1. Sign up: the first user of a fresh instance becomes the owner.
    await page.goto(f"{base}/dashboard")
    assert page.url.endswith("/dashboard/signup")
    await audit(page, "01-signup", folder=FOLDER)
    workspace = await sign_up(page, base)
    await audit(page, "02-campaigns", folder=FOLDER)

    # 2. A campaign from one paste of a simulator Spotify URL.
    campaign = await launch_campaign(page, DEMO_ALBUM.service_urls["spotify"], "midnight")
    await audit(page, "03-campaign", folder=FOLDER)

    # 3. The design: a colour of their own, dark.
    await page.click("#design-link")
    await page.wait_for_url(re.compile(r".*/design$"))
    await page.check("input[name=accent_source][value=custom]")
    await page.fill("#f-accent", "#0E7490")
    await page.check("input[name=mode][value=dark]")
    await page.click("#save-theme")
    await page.wait_for_url(re.compile(r".*/design\?done=saved$"))
    await audit(page, "04-design-saved", folder=FOLDER)

    # 4. The Release page: a date ahead, pre-saves on.
    await page.goto(campaign)
    await page.click("#release-link")
    await page.wait_for_url(re.compile(r".*/release$"))
    await audit(page, "05-release", folder=FOLDER)
    ahead = (datetime.now(UTC) + timedelta(days=14)).date()
    await page.check("input[name=release_mode][value=global]")
    await page.fill("#f-release_date", ahead.isoformat())
    await page.fill("#f-release_time", "12:00")
    await page.fill("#f-time_zone", "UTC")
    await page.click("#save-release")
    await page.wait_for_url(re.compile(r".*/release\?done=saved$"))
    await page.check("#f-enabled")
    await page.click("#save-presave")
    await page.wait_for_url(re.compile(r".*/release\?done=saved$"))
    assert "takes pre-saves until the release" in await page.inner_text("#presave-status")
    assert "Not out yet" in await page.inner_text("#release-status")
    await audit(page, "06-release-ahead", folder=FOLDER)

    # 5. A fan on a phone (a phone's user agent: headless Chromium's own is a robot's).
    fan_context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, user_agent=IPHONE, bypass_csp=True
    )
    fan = await fan_context.new_page()
    fan.set_default_timeout(30_000)
    await fan.goto(f"{base}/midnight?utm_source=instagram")
    await fan.wait_for_selector("#presave-spotify")
    await audit(fan, "07-fan-presave-page", folder=FOLDER)
    await fan.fill("#email", FAN_EMAIL)
    await fan.check("#email_consent")
    await fan.click("#presave-spotify")
    await fan.wait_for_selector("#approve")  # the simulated Spotify's consent page
    await _shot(fan, "08-simulator-spotify-consent")
    await fan.fill("#username", FAN)
    await fan.click("#approve")
    await fan.wait_for_selector("#confirmed")
    assert "/presave/midnight/done" in fan.url
    await audit(fan, "09-fan-confirmation", folder=FOLDER)
    # The opt-in email (double opt-in), read in the served instance's dev outbox.
    await _until(fan, f"{base}/_dev/mail", FAN_EMAIL, seconds=60)
    await fan.click(f"tr:has-text('{FAN_EMAIL}') >> a")
    await _shot(fan, "10-opt-in-email")
    confirm = await fan.get_attribute("pre a[href*='/presave/confirm/']", "href")
    assert confirm is not None
    await fan.goto(confirm)
    await audit(fan, "11-fan-confirm-email", folder=FOLDER)
    await fan.click("#confirm")
    await fan.wait_for_load_state()
    await audit(fan, "12-fan-email-confirmed", folder=FOLDER)

    # 6. Release now, in the dashboard.
    await page.goto(f"{campaign}/release")
    await page.click("#release-now")
    await page.wait_for_url(re.compile(r".*/release\?done=released$"))
    assert "Out now" in await page.inner_text("#release-status")
    await audit(page, "13-released-now", folder=FOLDER)

    # 7. The served process's embedded worker fulfils; the report shows it done.
    await _until(page, f"{campaign}/fulfilment", "<td>done", seconds=120)
    report = await page.inner_text("main")
    assert FAN_EMAIL in report
    await audit(page, "14-fulfilment-done", folder=FOLDER)

    # 8. The fan opens the smart link now and clicks Spotify; the click reaches the charts.
    await fan.goto(f"{base}/midnight?utm_source=instagram")
    await fan.wait_for_selector("a.service")
    await audit(fan, "15-fan-smart-link", folder=FOLDER)
    # The redirect leaves for the (offline) real service: only our redirect matters.
    with contextlib.suppress(playwright_error):
        await fan.goto(f"{base}/midnight/spotify", wait_until="commit")
    await fan_context.close()
    await _until(page, f"{workspace}/analytics", "Clicks by service: spotify 1", seconds=90)
    await audit(page, "16-analytics", folder=FOLDER)

    # 9. The fans page and the export of consenting fans.
    await page.goto(f"{workspace}/fans")
    assert FAN_EMAIL in await page.inner_text("main")
    await audit(page, "17-fans", folder=FOLDER)
    async with page.expect_download() as download:
        await page.click("text=Export consenting fans (CSV)")
    csv = (await (await download.value).path()).read_text()
    assert csv.startswith("email,")
    assert FAN_EMAIL in csv
    (tmp_path / "fans.csv").write_text(csv)
    await artist.close()
