"""The analytics page: real visits to a campaign made by one paste, flushed into the
rollups, drawn as SVG; bad filters are field errors; exports need the session."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import httpx
import pytest

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import PUBLIC_URL, Browser
from tests.links.test_public_support import IPHONE


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


async def _campaign(browser: Browser, base: str, slug: str = "midnight") -> str:
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": slug}
    )
    assert created.status_code == 303, created.text
    found = re.search(r"/campaigns/([0-9a-f-]{36})", created.headers["location"])
    assert found
    return found.group(1)


async def _visit(app: Application, slug: str, query: str = "") -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(
        transport=transport, base_url=PUBLIC_URL, headers={"user-agent": IPHONE}
    ) as fan:
        page = await fan.get(f"/{slug}{query}", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert (await fan.get(f"/{slug}/spotify{query}")).status_code == 302
    assert app.analytics is not None
    await app.analytics.flush()


async def test_a_fans_view_and_click_show_in_the_charts_and_the_export(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    await _visit(sim_app, "midnight", "?utm_source=instagram")

    workspace = await browser.get(f"{base}/analytics")
    assert workspace.status_code == 200, workspace.text
    assert "<svg" in workspace.text
    assert "Views, clicks and pre-saves: Views 1, Clicks 1, Pre-saves 0" in workspace.text
    assert "Clicks by service: spotify 1" in workspace.text
    assert "Views by device: mobile 1" in workspace.text

    one = await browser.get(f"{base}/analytics?campaign={link_id}&from=2026-03-01&to=2026-03-10")
    assert one.status_code == 200, one.text
    assert "Launch window" in one.text
    export = await browser.client.get(
        f"{base}/analytics/campaigns/{link_id}/events.csv?from=2026-03-01&to=2026-03-10"
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(row["kind"] for row in rows) == ["page_view", "service_click"]
    assert {row["utm_source"] for row in rows} == {"instagram"}


async def test_bad_filters_are_shown_next_to_their_field(artist: tuple[Browser, str]) -> None:
    browser, base = artist
    backwards = await browser.get(f"{base}/analytics?from=2026-03-09&to=2026-03-01")
    assert backwards.status_code == 422
    assert 'id="e-from"' in backwards.text
    garbled = await browser.get(f"{base}/analytics?from=yesterday&campaign=nope&interval=week")
    assert garbled.status_code == 422
    for field in ("from", "campaign", "interval"):
        assert f'id="e-{field}"' in garbled.text, field
    too_fine = await browser.get(f"{base}/analytics?from=2025-01-01&interval=hour")
    assert too_fine.status_code == 422
    assert 'id="e-interval"' in too_fine.text


async def test_another_workspaces_campaign_is_not_found_in_analytics(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    await browser.get("/dashboard/workspaces/new")
    created = await browser.post("/dashboard/workspaces/new", {"name": "Side", "kind": "label"})
    other = created.headers["location"].split("?")[0].removesuffix("/campaigns")
    page = await browser.get(f"{other}/analytics?campaign={link_id}")
    assert page.status_code == 422
    assert "choose one of your campaigns" in page.text
    export = await browser.get(f"{other}/analytics/campaigns/{link_id}/events.csv")
    assert export.status_code == 404
    transport = httpx.ASGITransport(app=sim_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as anonymous:
        signed_out = await anonymous.get(f"{base}/analytics/campaigns/{link_id}/events.csv")
    assert signed_out.status_code == 303
