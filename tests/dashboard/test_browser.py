"""The dashboard in headless Chromium: sign up → paste a simulator Spotify link into a
campaign → create a workspace → invite → the invitee
joins and logs in; axe-core finds no violation on any page, in light and dark themes, on a
laptop and a phone. Screenshots go to tests/artifacts/dashboard/ (ignored by git)."""

from __future__ import annotations

import contextlib
import re

import pytest

from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.chromium import (
    CHROMIUM_ARGS,
    LAPTOP,
    PHONE,
    audit,
    launch_campaign,
    sign_up,
)
from tests.dashboard.conftest import PASSWORD, Inbox
from tests.links.test_public_support import IPHONE
from tests.presave.test_browser import _Served


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
            await audit(page, "01-signup", folder="dashboard")
            await page.fill("#f-name", "Nova Reyes")
            await page.fill("#f-email", "nova@example.com")
            await page.fill("#f-password", "short")
            await page.fill("#f-workspace_name", "Nova Reyes")
            await page.click("button[type=submit]")
            await page.wait_for_selector("#e-password")
            await audit(page, "02-signup-errors", folder="dashboard")
            await page.fill("#f-password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(re.compile(r".*/campaigns$"))
            await audit(page, "03-campaigns", folder="dashboard")

            await page.click("main >> text=New campaign")
            await page.fill("#f-paste", DEMO_ALBUM.service_urls["spotify"])
            await page.click("text=Find the release")
            await page.wait_for_selector("#found-heading")
            await audit(page, "03a-paste-preview", folder="dashboard")
            await page.fill("#f-slug", "midnight")
            await page.click("text=Launch campaign")
            await page.wait_for_url(re.compile(r".*/campaigns/[0-9a-f-]+\?done=launched$"))
            assert "/midnight" in await page.inner_text("#campaign-url")
            await audit(page, "03b-campaign", folder="dashboard")

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
            await audit(page, "04-members", folder="dashboard")
            await page.click("text=API keys")
            await page.fill("#f-name", "distributor sync")
            await page.click("text=Create key")
            await page.wait_for_selector("#new-secret")
            await audit(page, "05-api-key", folder="dashboard")
            await page.click("text=Audit log")
            assert "invitation.sent" in await page.inner_text("main")
            await audit(page, "06-audit", folder="dashboard")
            await page.set_viewport_size(PHONE)
            await audit(page, "07-audit-phone", folder="dashboard")

            text = Inbox.text_of(inbox.to("manager@example.com")[-1])
            found = re.search(r"http://127\.0\.0\.1:\d+/dashboard/invite/\S+", text)
            assert found, text
            manager = await browser.new_context(viewport=PHONE, bypass_csp=True)
            invitee = await manager.new_page()
            invitee.set_default_timeout(15_000)
            await invitee.goto(found.group(0))
            await audit(invitee, "08-invitation", folder="dashboard")
            await invitee.fill("#f-name", "Sam Manager")
            await invitee.fill("#f-password", PASSWORD)
            await invitee.click("button[type=submit]")
            await invitee.wait_for_url(re.compile(r".*/campaigns\?done=joined$"))
            assert "Tidewater Records" in await invitee.inner_text("#workspace-switch")
            await invitee.click("text=Log out")
            await invitee.wait_for_url(re.compile(r".*/dashboard/login$"))
            await audit(invitee, "09-login", folder="dashboard")
            await invitee.fill("#f-email", "manager@example.com")
            await invitee.fill("#f-password", PASSWORD)
            await invitee.click("button[type=submit]")
            await invitee.wait_for_url(re.compile(r".*/campaigns$"))
            # Only the workspace they were invited to: the artist's own one stays invisible.
            options = await invitee.inner_text("#workspace-switch")
            assert "Tidewater Records" in options
            assert "Nova Reyes" not in options
            await invitee.click("text=Account")
            await audit(invitee, "10-account-phone", folder="dashboard")
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
            workspace = await sign_up(page, base)
            campaign = await launch_campaign(page, DEMO_ALBUM.service_urls["spotify"], "midnight")
            assert "Smart link" in await page.inner_text("ol.timeline")
            await audit(page, "20-campaign-timeline", folder="dashboard")

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
            await audit(page, "21-analytics", folder="dashboard")
            await page.goto(f"{campaign}/fulfilment")
            await audit(page, "22-fulfilment", folder="dashboard")
            await page.goto(f"{workspace}/fans")
            await audit(page, "23-fans", folder="dashboard")
            async with page.expect_download() as download:
                await page.click("text=Export consenting fans (CSV)")
            assert (await (await download.value).path()).read_text().startswith("email,")
            await page.goto(f"{workspace}/campaigns/bulk")
            await page.fill("#f-csv", f"{DEMO_ALBUM.service_urls['spotify']},,")
            await page.click("button:has-text('Dry run')")
            await page.wait_for_selector("text=already a campaign: /midnight")
            await audit(page, "24-bulk-dry-run", folder="dashboard")
            for name in ("webhooks", "service-apps", "domains"):
                await page.goto(f"{workspace}/{name}")
                await audit(page, f"25-{name}", folder="dashboard")
            await page.set_viewport_size(PHONE)
            await page.goto(campaign)
            await audit(page, "26-campaign-phone", folder="dashboard")
        finally:
            await browser.close()
