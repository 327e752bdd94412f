"""The Design page in headless Chromium: paste → launch → Design; upload a cover, pick a
colour, and see the phone-framed previews wear it; axe-core finds no violation on the page,
light and dark, laptop and phone. Screenshots go to tests/artifacts/design/."""

from __future__ import annotations

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
from tests.presave.test_browser import CHROMIUM_ARGS, _free_port, _Served

Image = pytest.importorskip("PIL.Image")  # a dependency; an old environment skips

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "design"
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
    with _Served(create_app(settings, clock=SystemClock()), port) as served_app:
        yield served_app


async def _audit(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        await page.evaluate(f"document.documentElement.setAttribute('data-theme', '{theme}')")
        await page.wait_for_timeout(300)
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE))
        violations = await page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})); }"
        )
        assert violations == [], f"{name} ({theme}): {json.dumps(violations, indent=1)}"
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{theme}.png"), full_page=True)


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
            await page.goto(f"{served.url}/dashboard")
            await page.fill("#f-name", "Nova Reyes")
            await page.fill("#f-email", "nova@example.com")
            await page.fill("#f-password", PASSWORD)
            await page.fill("#f-workspace_name", "Nova Reyes")
            await page.click("button[type=submit]")
            await page.wait_for_url(re.compile(r".*/campaigns$"))
            await page.click("main >> text=New campaign")
            await page.fill("#f-paste", DEMO_ALBUM.service_urls["spotify"])
            await page.click("text=Find the release")
            await page.wait_for_selector("#found-heading")
            await page.fill("#f-slug", "midnight")
            await page.click("text=Launch campaign")
            await page.wait_for_url(re.compile(r".*/campaigns/[0-9a-f-]+\?done=launched$"))

            await page.click("#design-link")
            await page.wait_for_url(re.compile(r".*/design$"))
            await _audit(page, "01-design")
            await page.set_input_files("#f-artwork", str(cover))
            await page.click("#upload-artwork")
            await page.wait_for_url(re.compile(r".*/design\?done=saved$"))
            assert await page.is_visible("img.cover-thumb")
            await page.check("input[name=accent_source][value=custom]")
            await page.fill("#f-accent", "not a colour")
            await page.click("#save-theme")
            await page.wait_for_selector("#e-accent")
            await _audit(page, "02-design-field-error")
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
            await _audit(page, "03-design-saved")
            await page.set_viewport_size(PHONE)
            await _audit(page, "04-design-phone")
            await context.close()
        finally:
            await browser.close()
