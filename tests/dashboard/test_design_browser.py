"""The Design page in headless Chromium: paste → launch → Design; upload a cover, pick a
colour, and see the phone-framed previews wear it; axe-core finds no violation on the page,
light and dark, laptop and phone. Screenshots go to tests/artifacts/design/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.chromium import ARTIFACTS as ARTIFACTS_ROOT
from tests.dashboard.chromium import (
    CHROMIUM_ARGS,
    LAPTOP,
    PHONE,
    audit,
    launch_campaign,
    sign_up,
)
from tests.presave.test_browser import _Served

Image = pytest.importorskip("PIL.Image")  # a dependency; an old environment skips

ARTIFACTS = ARTIFACTS_ROOT / "design"


@pytest.mark.browser
@pytest.mark.slow
async def test_an_artist_designs_the_fan_page_and_sees_it_in_the_previews(
    served: _Served, chromium_path: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    cover = tmp_path / "cover.png"
    Image.new("RGB", (900, 900), (14, 116, 144)).save(cover)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            # bypass_csp: only so the test can inject axe; the page's own CSP is tested elsewhere.
            context = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await sign_up(page, served.url)
            await launch_campaign(page, DEMO_ALBUM.service_urls["spotify"], "midnight")

            await page.click("#design-link")
            await page.wait_for_url(re.compile(r".*/design$"))
            await audit(page, "01-design", folder="design")
            await page.set_input_files("#f-artwork", str(cover))
            await page.click("#upload-artwork")
            await page.wait_for_url(re.compile(r".*/design\?done=saved$"))
            assert await page.is_visible("img.cover-thumb")
            await page.check("input[name=accent_source][value=custom]")
            await page.fill("#f-accent", "not a colour")
            await page.click("#save-theme")
            await page.wait_for_selector("#e-accent")
            await audit(page, "02-design-field-error", folder="design")
            await page.fill("#f-accent", "#0E7490")
            await page.check("input[name=mode][value=dark]")
            await page.click("#save-theme")
            await page.wait_for_url(re.compile(r".*/design\?done=saved$"))
            live = page.frame_locator("#preview-live")
            await live.locator("a.service").first.wait_for()
            accent = await live.locator("body").evaluate(
                "b => getComputedStyle(b).getPropertyValue('--accent').trim()"
            )
            assert accent == "#0E7490"
            art = await live.locator("img.art").get_attribute("src")
            assert art is not None
            assert "/_media/artwork/" in art
            await page.locator("#preview-live").scroll_into_view_if_needed()
            await page.locator("#preview-live").screenshot(
                path=str(ARTIFACTS / "03-preview-live.png")
            )
            await audit(page, "03-design-saved", folder="design")
            await page.set_viewport_size(PHONE)
            await audit(page, "04-design-phone", folder="design")
            await context.close()
        finally:
            await browser.close()
