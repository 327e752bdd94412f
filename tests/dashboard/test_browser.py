"""The dashboard in headless Chromium: sign up → paste a simulator Spotify link into a
campaign → create a workspace → invite → the invitee
joins and logs in; axe-core finds no violation on any page, in light and dark themes, on a
laptop and a phone. Screenshots go to tests/artifacts/dashboard/ (ignored by git)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.kit.clock import SystemClock
from launchlink.mail import MailSettings
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import PASSWORD, Inbox
from tests.links.test_public_support import IPHONE
from tests.presave.test_browser import CHROMIUM_ARGS, _free_port, _Served

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "dashboard"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path: Path, sqlite_backend: Any, smtp: tuple[Inbox, int]) -> Iterator[_Served]:
    port = _free_port()
    database = tmp_path / "launchlink.sqlite3"
    database.write_bytes(sqlite_backend.template.read_bytes())
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database.as_posix()}",
        var_dir=tmp_path / "var",
        public_url=f"http://127.0.0.1:{port}",
        environment="test",
        geoip="off",
        mail=MailSettings(host="127.0.0.1", port=smtp[1], security="none"),
        simulator_embedded=True,
    )
    app = create_app(settings, clock=SystemClock())
    with _Served(app, port) as served_app:
        yield served_app


async def _audit(page: Any, name: str) -> None:
    """axe-core on the page as it is, in both themes; a screenshot of each."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        await page.evaluate(f"document.documentElement.setAttribute('data-theme', '{theme}')")
        await page.wait_for_timeout(400)  # colour transitions settle before contrast is read
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE))
        result = await page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})); }"
        )
        assert result == [], f"{name} ({theme}): {json.dumps(result, indent=1)}"
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{theme}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
async def test_an_artist_signs_up_creates_a_workspace_and_invites_a_manager(
    served: _Served, chromium_path: str, inbox: Inbox
) -> None:
    from playwright.async_api import async_playwright

    base = served.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            # bypass_csp: only so the test can inject axe; the pages' own CSP is tested elsewhere.
            artist = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
            page = await artist.new_page()
            page.set_default_timeout(15_000)
            await page.goto(f"{base}/dashboard")
            assert page.url.endswith("/dashboard/signup")
            await _audit(page, "01-signup")
            await page.fill("#f-name", "Nova Reyes")
            await page.fill("#f-email", "nova@example.com")
            await page.fill("#f-password", "short")
            await page.fill("#f-workspace_name", "Nova Reyes")
            await page.click("button[type=submit]")
            await page.wait_for_selector("#e-password")
            await _audit(page, "02-signup-errors")
            await page.fill("#f-password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(re.compile(r".*/campaigns$"))
            await _audit(page, "03-campaigns")

            await page.click("main >> text=New campaign")
            await page.fill("#f-paste", DEMO_ALBUM.service_urls["spotify"])
            await page.click("text=Find the release")
            await page.wait_for_selector("#found-heading")
            await _audit(page, "03a-paste-preview")
            await page.fill("#f-slug", "midnight")
            await page.click("text=Launch campaign")
            await page.wait_for_url(re.compile(r".*/campaigns/[0-9a-f-]+\?done=launched$"))
            assert "/midnight" in await page.inner_text("#campaign-url")
            await _audit(page, "03b-campaign")

            await page.click("text=New workspace")
            await page.fill("#f-name", "Tidewater Records")
            await page.select_option("#f-kind", "label")
            await page.click("main button[type=submit]")
            await page.wait_for_url(re.compile(r".*/campaigns\?done=created$"))
            assert "Tidewater Records" in await page.inner_text("#workspace-switch")

            await page.click("nav[aria-label=Dashboard] >> text=Settings")
            await page.fill("#f-email", "manager@example.com")
            await page.select_option("#f-role", "admin")
            await page.click("text=Send invitation")
            await page.wait_for_url(re.compile(r".*/members\?done=invited$"))
            await _audit(page, "04-members")
            await page.click("text=API keys")
            await page.fill("#f-name", "distributor sync")
            await page.click("text=Create key")
            await page.wait_for_selector("#new-secret")
            await _audit(page, "05-api-key")
            await page.click("text=Audit log")
            assert "invitation.sent" in await page.inner_text("main")
            await _audit(page, "06-audit")
            await page.set_viewport_size(PHONE)
            await _audit(page, "07-audit-phone")

            text = Inbox.text_of(inbox.to("manager@example.com")[-1])
            found = re.search(r"http://127\.0\.0\.1:\d+/dashboard/invite/\S+", text)
            assert found, text
            manager = await browser.new_context(viewport=PHONE, bypass_csp=True)
            invitee = await manager.new_page()
            invitee.set_default_timeout(15_000)
            await invitee.goto(found.group(0))
            await _audit(invitee, "08-invitation")
            await invitee.fill("#f-name", "Sam Manager")
            await invitee.fill("#f-password", PASSWORD)
            await invitee.click("button[type=submit]")
            await invitee.wait_for_url(re.compile(r".*/campaigns\?done=joined$"))
            assert "Tidewater Records" in await invitee.inner_text("#workspace-switch")
            await invitee.click("text=Log out")
            await invitee.wait_for_url(re.compile(r".*/dashboard/login$"))
            await _audit(invitee, "09-login")
            await invitee.fill("#f-email", "manager@example.com")
            await invitee.fill("#f-password", PASSWORD)
            await invitee.click("button[type=submit]")
            await invitee.wait_for_url(re.compile(r".*/campaigns$"))
            # Only the workspace they were invited to: the artist's own one stays invisible.
            options = await invitee.inner_text("#workspace-switch")
            assert "Tidewater Records" in options
            assert "Nova Reyes" not in options
            await invitee.click("text=Account")
            await _audit(invitee, "10-account-phone")
        finally:
            await browser.close()


@pytest.mark.browser
@pytest.mark.slow
async def test_every_new_page_passes_axe_and_a_fans_click_reaches_the_charts(
    served: _Served, chromium_path: str
) -> None:
    """Sign up → paste a simulator Spotify link → the campaign page → a fan on a phone
    opens the link and clicks Spotify → the click in the analytics charts → the fans,
    fulfilment, bulk and settings pages; axe-core on each, screenshots of each."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    base = served.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            artist = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
            page = await artist.new_page()
            page.set_default_timeout(20_000)
            await page.goto(f"{base}/dashboard/signup")
            await page.fill("#f-name", "Nova Reyes")
            await page.fill("#f-email", "nova@example.com")
            await page.fill("#f-password", PASSWORD)
            await page.fill("#f-workspace_name", "Nova Reyes")
            await page.click("button[type=submit]")
            await page.wait_for_url(re.compile(r".*/campaigns$"))
            workspace = page.url.rsplit("/", 1)[0]
            await page.click("main >> text=New campaign")
            await page.fill("#f-paste", DEMO_ALBUM.service_urls["spotify"])
            await page.click("text=Find the release")
            await page.wait_for_selector("#found-heading")
            await page.fill("#f-slug", "midnight")
            await page.click("text=Launch campaign")
            await page.wait_for_url(re.compile(r".*/campaigns/[0-9a-f-]+\?done=launched$"))
            campaign = page.url.split("?")[0]
            assert "Smart link" in await page.inner_text("ol.timeline")
            await _audit(page, "20-campaign-timeline")

            # A phone's own user agent: headless Chromium's is (rightly) counted as a robot.
            fan_context = await browser.new_context(
                viewport=PHONE, is_mobile=True, user_agent=IPHONE
            )
            fan = await fan_context.new_page()
            await fan.goto(f"{base}/midnight?utm_source=instagram")
            # The redirect leaves for the (offline) service: only our 302 matters here.
            with contextlib.suppress(PlaywrightError):
                await fan.goto(f"{base}/midnight/spotify", wait_until="commit")
            await fan_context.close()

            found = False
            for _ in range(40):  # the analytics flusher writes every few seconds
                await page.goto(f"{workspace}/analytics")
                if "Clicks by service: spotify 1" in await page.content():
                    found = True
                    break
                await page.wait_for_timeout(500)
            assert found, "the fan's click never reached the charts"
            await _audit(page, "21-analytics")
            await page.goto(f"{campaign}/fulfilment")
            await _audit(page, "22-fulfilment")
            await page.goto(f"{workspace}/fans")
            await _audit(page, "23-fans")
            async with page.expect_download() as download:
                await page.click("text=Export consenting fans (CSV)")
            assert (await (await download.value).path()).read_text().startswith("email,")
            await page.goto(f"{workspace}/campaigns/bulk")
            await page.fill("#f-csv", f"{DEMO_ALBUM.service_urls['spotify']},,")
            await page.click("button:has-text('Dry run')")
            await page.wait_for_selector("text=already a campaign: /midnight")
            await _audit(page, "24-bulk-dry-run")
            for name in ("webhooks", "service-apps", "domains"):
                await page.goto(f"{workspace}/{name}")
                await _audit(page, f"25-{name}")
            await page.set_viewport_size(PHONE)
            await page.goto(campaign)
            await _audit(page, "26-campaign-phone")
        finally:
            await browser.close()
