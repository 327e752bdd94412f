"""Every fan page in headless Chromium, in every phase, on a phone and a laptop, light and
dark: axe-core finds no violation, the primary action is on screen without scrolling,
every control shows a focus ring when reached by keyboard, the page stays under its
weight budget, and the smart link and pre-save page carry the SEO basics.

Lighthouse itself runs in tests/presave/test_lighthouse.py when it is installed; these are
the parts of its audits that matter for these pages (and every one that has failed there),
checked directly so a run without Lighthouse still guards them. Screenshots go to
tests/artifacts/fan-pages/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.design import service as design_service
from launchlink.kit.clock import SystemClock
from tests.api.conftest import Api
from tests.builders import create_workspace_with_key
from tests.presave.conftest import DESKTOP_UA, make_presave_link
from tests.presave.test_browser import CHROMIUM_ARGS, _free_port, _Served

AXE = Path(__file__).parents[1] / "dashboard" / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "fan-pages"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
BUDGET_BYTES = 50_000
"""Everything but the artwork: the HTML with its inlined CSS, icons and script."""

_FOCUS_WALK = """
async () => {
  const seen = [];
  const controls = [...document.querySelectorAll('a[href], button, input, select, textarea')]
    .filter(el => !el.disabled && el.type !== 'hidden' && el.getClientRects().length);
  document.activeElement && document.activeElement.blur();
  return controls.length;
}
"""
_FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const page = getComputedStyle(document.body).backgroundColor;
  return {tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 40),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          colour: style.outlineColor, page: page};
}
"""
_PRIMARY_BOX = """
(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, height: innerHeight, width: innerWidth, right: r.right};
}
"""


@pytest.fixture
def served(tmp_path: Path, sqlite_backend: Any) -> Iterator[_Served]:
    port = _free_port()
    database = tmp_path / "launchlink.sqlite3"
    database.write_bytes(sqlite_backend.template.read_bytes())
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database.as_posix()}",
        var_dir=tmp_path / "var",
        public_url=f"http://127.0.0.1:{port}",
        environment="test",
        simulator_embedded=True,
        geoip="off",
    )
    with _Served(create_app(settings, clock=SystemClock()), port) as served_app:
        yield served_app


async def _audit(page: Any, name: str) -> None:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})); }"
    )
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"


async def _focus_rings(page: Any, name: str) -> None:
    """Tab through the page: every control reached shows a solid outline of 2px or more,
    in a colour other than the page's (so it shows on dark pills and light cards alike)."""
    count = await page.evaluate(_FOCUS_WALK)
    reached = 0
    for _ in range(count):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(_FOCUSED)
        if focused is None:
            continue
        assert focused["style"] not in ("none", "hidden"), f"{name}: no ring on {focused}"
        assert focused["width"] >= 2, f"{name}: thin ring on {focused}"
        assert focused["colour"] != focused["page"], f"{name}: invisible ring on {focused}"
        reached += 1
    assert reached == count, f"{name}: Tab reached {reached} of {count} controls"


async def _check(
    browser: Any, url: str, name: str, primary: str | None, *, seo: bool = False
) -> None:
    for size_name, size in (("phone", PHONE), ("laptop", LAPTOP)):
        for scheme in ("light", "dark"):
            context = await browser.new_context(
                user_agent=DESKTOP_UA,
                viewport=size,
                color_scheme=scheme,
                # Only so the test can inject axe; the pages' own CSP is tested elsewhere.
                bypass_csp=True,
            )
            page = await context.new_page()
            weights: list[int] = []

            async def weigh(response: Any, weights: list[int] = weights) -> None:
                if response.request.resource_type != "image":
                    weights.append(len(await response.body()))

            page.on("response", weigh)
            response = await page.goto(url)
            assert response is not None, name
            assert response.status < 500, f"{name}: {response.status}"
            label = f"{name}-{size_name}-{scheme}"
            await page.wait_for_timeout(150)
            assert sum(weights) < BUDGET_BYTES, f"{label}: {sum(weights)} bytes before artwork"
            if primary is not None:
                box = await page.evaluate(_PRIMARY_BOX, primary)
                assert box is not None, f"{label}: no {primary}"
                assert box["top"] >= 0, f"{label}: {box}"
                assert box["bottom"] <= box["height"], f"{label}: {box}"
                assert box["right"] <= box["width"], f"{label}: {box}"
            await _audit(page, label)
            if size_name == "phone":
                await _focus_rings(page, label)
            if seo:
                facts = await page.evaluate(
                    "() => ({lang: document.documentElement.lang, title: document.title,"
                    " description: document.querySelector('meta[name=description]')?.content,"
                    " canonical: document.querySelector('link[rel=canonical]')?.href,"
                    " robots: document.querySelector('meta[name=robots]')?.content || ''})"
                )
                assert facts["lang"], facts
                assert facts["title"], facts
                assert facts["description"], facts
                assert facts["canonical"], facts
                assert "noindex" not in facts["robots"], facts
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / f"{label}.png"), full_page=True)
            await context.close()


@pytest.mark.browser
@pytest.mark.slow
async def test_every_fan_page_passes_axe_keeps_its_action_in_view_and_shows_focus(
    served: _Served, chromium_path: str
) -> None:
    from playwright.async_api import async_playwright

    app = served.app
    state = app.simulator_state
    assert state is not None
    state.set_consent_mode("spotify", "manual")
    label = await create_workspace_with_key(app.context.database, name="Demo Records")
    now = SystemClock().now().replace(microsecond=0)
    cover = f"{served.url}/static/demo/lantern-light.jpg"
    async with httpx.AsyncClient(base_url=served.url) as client:
        api = Api(client)
        soon = await make_presave_link(
            api,
            label,
            slug="soon",
            release={
                "release_instant": (now + timedelta(days=9)).isoformat(),
                "artwork_url": cover,
            },
        )
        await make_presave_link(
            api,
            label,
            slug="announced",
            release={
                "release_instant": (now + timedelta(days=20)).isoformat(),
                "artwork_url": cover,
            },
            campaign={"presave_opens_at": (now + timedelta(days=5)).isoformat()},
        )
        await make_presave_link(
            api,
            label,
            slug="out",
            release={
                "release_instant": (now - timedelta(days=2)).isoformat(),
                "artwork_url": cover,
            },
        )
    # One link wears a pale custom accent in dark mode: the derived colours must still read.
    async with app.context.database.transaction() as session:
        await design_service.save_theme(
            session,
            label.workspace_id,
            UUID(soon["link"]["id"]),
            design_service.ThemeChoice(
                mode="auto", accent="#FFE600", headline=None, presave_headline=None
            ),
        )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            await _check(browser, f"{served.url}/out", "smart-link-live", "a.service", seo=True)
            await _check(browser, f"{served.url}/soon", "presave", "#services .service", seo=True)
            await _check(
                browser, f"{served.url}/announced", "presave-announce", "#countdown", seo=True
            )
            await _check(browser, f"{served.url}/presave/soon/timezone", "timezone", "#zone")
            await _check(browser, f"{served.url}/no-such-link", "not-found", None)
            # The confirmation, reached the way a fan does.
            context = await browser.new_context(user_agent=DESKTOP_UA, viewport=PHONE)
            page = await context.new_page()
            await page.goto(f"{served.url}/soon")
            await page.click("#presave-spotify")
            await page.wait_for_selector("#approve")
            await page.fill("#username", "axe-fan")
            await page.click("#approve")
            await page.wait_for_selector("#confirmed")
            confirmation = page.url
            cookies = await context.cookies()
            await context.close()
            for size, scheme in ((PHONE, "light"), (LAPTOP, "dark")):
                context = await browser.new_context(
                    user_agent=DESKTOP_UA, viewport=size, color_scheme=scheme, bypass_csp=True
                )
                await context.add_cookies(cookies)
                page = await context.new_page()
                weights: list[int] = []

                async def weigh(response: Any, weights: list[int] = weights) -> None:
                    if response.request.resource_type != "image":
                        weights.append(len(await response.body()))

                page.on("response", weigh)
                await page.goto(confirmation)
                await page.wait_for_selector("#confirmed")
                await page.wait_for_timeout(150)
                assert 0 < sum(weights) < BUDGET_BYTES, f"confirmation: {sum(weights)} bytes"
                box = await page.evaluate(_PRIMARY_BOX, "#add-to-calendar")
                assert box is not None
                assert box["bottom"] <= box["height"], box
                await _audit(page, f"confirmation-{scheme}")
                await _focus_rings(page, f"confirmation-{scheme}")
                await page.screenshot(
                    path=str(ARTIFACTS / f"confirmation-{scheme}.png"), full_page=True
                )
                await context.close()
        finally:
            await browser.close()


@pytest.mark.browser
async def test_fan_pages_under_their_own_csp_log_no_error_and_let_auditors_read_robots_txt(
    served: _Served, chromium_path: str
) -> None:
    """What Lighthouse's robots-txt (SEO) and errors-in-console (best practices) audits saw.
    Lighthouse fetches /robots.txt from inside the page, under the page's own CSP: with
    ``default-src 'none'`` and no connect-src that fetch was refused and SEO scored 92.
    Here the page keeps its real CSP (no bypass), and the same fetch must succeed."""
    from playwright.async_api import async_playwright

    label = await create_workspace_with_key(served.app.context.database, name="Demo Records")
    now = SystemClock().now().replace(microsecond=0)
    cover = f"{served.url}/static/demo/lantern-light.jpg"
    async with httpx.AsyncClient(base_url=served.url) as client:
        api = Api(client)
        for slug, instant in (("soon", now + timedelta(days=9)), ("out", now - timedelta(days=2))):
            await make_presave_link(
                api,
                label,
                slug=slug,
                release={"release_instant": instant.isoformat(), "artwork_url": cover},
            )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            for path in ("/out", "/soon"):
                context = await browser.new_context(user_agent=DESKTOP_UA, viewport=PHONE)
                page = await context.new_page()
                errors: list[str] = []
                page.on(
                    "console",
                    lambda message, errors=errors: (
                        errors.append(message.text) if message.type == "error" else None
                    ),
                )
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                statuses: dict[str, int] = {}
                page.on(
                    "response",
                    lambda response, statuses=statuses: statuses.__setitem__(
                        response.url, response.status
                    ),
                )
                response = await page.goto(served.url + path)
                assert response is not None, path
                assert response.status == 200, path
                assert "connect-src 'self'" in response.headers["content-security-policy"]
                robots = await page.evaluate(
                    "async () => { const r = await fetch('/robots.txt');"
                    " return {status: r.status, text: await r.text()}; }"
                )
                assert robots["status"] == 200, (path, robots)
                assert robots["text"].startswith("User-agent: *"), robots
                await page.wait_for_timeout(300)  # the favicon request comes after load
                failed = {url: status for url, status in statuses.items() if status >= 400}
                assert failed == {}, (path, failed)
                assert errors == [], (path, errors)
                await context.close()
        finally:
            await browser.close()
