"""Campaigns from a CSV: a dry run checks every row and creates nothing; the real run
creates each row on its own, skips a release that already has a campaign and reports a
result per row."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import Link
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import Browser, BrowserFactory, Inbox, invite_and_join

OTHER_UPC = "190298124004"  # other artists' debut albums in the demo simulator
SECOND_UPC = "190298124011"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


def _csv() -> str:
    return "\n".join(
        [
            "release,slug,release_date",
            f"{DEMO_ALBUM.service_urls['spotify']},midnight,",
            f"{OTHER_UPC},,2026-04-03",
            "not-an-identifier,,",
            f"{DEMO_ALBUM.upc},again,",
            f"{SECOND_UPC},debut-2,13/04/2026",
        ]
    )


async def _links(app: Application) -> int:
    async with app.context.database.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Link))).scalar_one())


def _outcomes(html: str) -> list[str]:
    import re

    return re.findall(r'<span class="badge(?: accent)?">(ok|skipped|error)</span>', html)


async def test_a_dry_run_checks_each_row_and_creates_nothing(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/bulk")
    checked = await browser.post(f"{base}/campaigns/bulk", {"csv": _csv(), "dry_run": "1"})
    assert checked.status_code == 200, checked.text
    assert "Dry run: nothing was created" in checked.text
    # The same release twice: a dry run cannot know the first row will exist.
    assert _outcomes(checked.text) == ["ok", "ok", "error", "ok", "error"]
    assert "would create Midnight Cartography at /midnight" in checked.text
    assert "is not YYYY-MM-DD" in checked.text
    assert await _links(sim_app) == 0


async def test_the_real_run_creates_each_good_row_and_skips_what_exists(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/bulk")
    ran = await browser.post(f"{base}/campaigns/bulk", {"csv": _csv(), "dry_run": "0"})
    assert ran.status_code == 200, ran.text
    assert _outcomes(ran.text) == ["ok", "ok", "error", "skipped", "error"]
    assert await _links(sim_app) == 2
    again = await browser.post(f"{base}/campaigns/bulk", {"csv": _csv(), "dry_run": "0"})
    assert _outcomes(again.text) == ["skipped", "skipped", "error", "skipped", "error"]
    assert "already a campaign: /midnight" in again.text
    assert await _links(sim_app) == 2


async def test_an_empty_or_malformed_csv_is_a_field_error(artist: tuple[Browser, str]) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/bulk")
    for text in ("", "title,when\nx,y", "\n".join(["x"] * 101)):
        response = await browser.post(f"{base}/campaigns/bulk", {"csv": text, "dry_run": "1"})
        assert response.status_code == 422, text[:20]
        assert 'id="e-csv"' in response.text


async def test_a_viewer_imports_nothing(
    artist: tuple[Browser, str],
    sim_app: Application,
    browsers_on_sim: BrowserFactory,
    inbox: Inbox,
) -> None:
    browser, base = artist
    viewer = await browsers_on_sim()
    await invite_and_join(
        browser, viewer, inbox, UUID(base.rsplit("/", 1)[1]), "viewer@example.com", "viewer"
    )
    assert (await viewer.get(f"{base}/campaigns/bulk")).status_code == 403
    await viewer.get("/dashboard/account")
    refused = await viewer.post(f"{base}/campaigns/bulk", {"csv": _csv(), "dry_run": "0"})
    assert refused.status_code == 403
    assert await _links(sim_app) == 0
