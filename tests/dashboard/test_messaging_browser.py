"""The Messaging section in headless Chromium: sign up → a campaign → edit the
announcement template and watch its live preview (HTMX) → save → compose an
announcement, preview it, send it to the campaign's consenting fans → the delivery sends
through a real SMTP server (aiosmtpd) → the announcement page's counts follow by
themselves (HTMX polling) to "sent". axe-core finds no violation on any new page (light
and dark). Screenshots: tests/artifacts/messaging/ (ignored by git)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from launchlink.db import Database
from launchlink.kit.clock import SystemClock
from launchlink.models.messaging import MessageChannel
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.chromium import CHROMIUM_ARGS, LAPTOP, audit, launch_campaign, sign_up
from tests.dashboard.conftest import seed_fan
from tests.messaging.conftest import email_channel, make_delivery
from tests.messaging.sink import smtp_sink
from tests.presave.test_browser import _Served

FOLDER = "messaging"


def _database_of(served: _Served) -> Database:
    # The served app's engine belongs to the server thread's event loop: the test reads
    # and writes the same database through its own.
    return Database(served.app.context.settings.resolved_database_url)


@pytest.mark.browser
@pytest.mark.slow
async def test_an_artist_edits_a_template_previews_it_and_sends_an_announcement(
    served_on_each_database: _Served, chromium_path: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    served = served_on_each_database
    base = served.url
    database = _database_of(served)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS
            )
            try:
                context = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
                page = await context.new_page()
                page.set_default_timeout(15_000)
                workspace = await sign_up(page, base)
                campaign = await launch_campaign(page, DEMO_ALBUM.service_urls["spotify"], "tide")
                link_id = UUID(campaign.rsplit("/", 1)[1])
                await _walk(page, workspace, campaign, link_id, database)
            finally:
                await browser.close()
    finally:
        await database.dispose()


async def _walk(
    page: Any, workspace: str, campaign: str, link_id: UUID, database: Database
) -> None:
    await page.click("nav[aria-label=Dashboard] >> text=Messaging")
    await page.wait_for_selector("#channels")
    await audit(page, "01-channels-and-rules", folder=FOLDER)

    await page.click("nav[aria-label=Messaging] >> text=Templates")
    await page.wait_for_selector("#wordings")
    await audit(page, "02-templates", folder=FOLDER)
    await page.goto(
        f"{workspace}/messaging/templates/edit?kind=announcement&channel=email&language=en"
    )
    await page.fill("#f-subject", "{{ workspace }} has news")
    await page.fill("#f-text", "Big news: {{ body }}\n\nListen: {{ listen_url }}\n")
    # The live preview (HTMX, on input) renders the wording with sample values.
    await page.wait_for_function(
        "document.querySelector('#preview-text')?.textContent.includes('Big news: New tour')"
    )
    assert "has news" in await page.inner_text("#preview-subject")
    await audit(page, "03-template-editor", folder=FOLDER)
    await page.fill("#f-text", "Big news: {{ fan_name }}")
    await page.wait_for_selector("#template-preview .notice.error")
    assert "unknown variables: fan_name" in await page.inner_text("#template-preview")
    await page.click("#save-template")
    await page.wait_for_selector("#e-text")
    assert "fan_name" in await page.inner_text("#e-text")
    await audit(page, "04-template-error", folder=FOLDER)
    await page.fill("#f-text", "Big news: {{ body }}\n\nListen: {{ listen_url }}\n")
    await page.click("#save-template")
    await page.wait_for_url(re.compile(r".*done=template$"))
    assert "This workspace" in await page.inner_text("#wording-source")

    shim: Any = SimpleNamespace(context=SimpleNamespace(database=database))
    for n in range(2):
        await seed_fan(shim, link_id, email=f"fan{n}@example.com", email_consent=True)
    await seed_fan(shim, link_id, email="no-news@example.com", email_consent=False)

    await page.goto(f"{workspace}/messaging/announcements")
    await page.fill("#f-body", "New tour dates are up.")
    await page.click("#preview-announcement")
    await page.wait_for_selector("#announcement-preview-email")
    assert "Big news: New tour dates are up." in await page.inner_text(
        "#announcement-preview-email"
    )
    await audit(page, "05-announcement-preview", folder=FOLDER)
    await page.click("#send-announcement")
    await page.wait_for_url(re.compile(r".*/announcements/[0-9a-f-]+\?done=sent$"))
    queued = "#message-counts tr[data-channel=email] td[data-count=queued]"
    assert await page.inner_text(queued) == "2"
    await audit(page, "06-announcement-queued", folder=FOLDER)

    clock = SystemClock()
    with smtp_sink() as sink:
        delivery = make_delivery(
            database, clock, {MessageChannel.email: email_channel(sink, None, clock)}
        )
        assert (await delivery.run_round(MessageChannel.email)).sent == 2
        received = sorted(str(m["To"]) for m in sink.messages())
        subjects = {str(m["Subject"]) for m in sink.messages()}
    assert received == ["fan0@example.com", "fan1@example.com"]
    assert subjects == {"Tide Records has news"}  # the test delivery's sender name
    # No reload: the counts poll themselves until nothing is left to go.
    sent = "#message-counts tr[data-channel=email] td[data-count=sent]"
    await page.wait_for_function(
        f"document.querySelector('{sent}')?.textContent.trim() === '2'", timeout=20_000
    )
    assert await page.inner_text(queued) == "0"
    await audit(page, "07-announcement-sent", folder=FOLDER)

    await page.goto(f"{campaign}/messages")
    await page.wait_for_selector("#plan")
    await audit(page, "08-campaign-messages", folder=FOLDER)
    await page.goto(f"{workspace}/general")
    await page.select_option("#f-base_language", "de")
    await page.click("#save-general")
    await page.wait_for_url(re.compile(r".*/general\?done=saved$"))
    assert "Deutsch" in await page.inner_text("#base-language")
    await audit(page, "09-general-settings", folder=FOLDER)
