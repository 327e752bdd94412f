"""A campaign from one paste, over HTTP against the embedded simulator, and its QR codes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import PUBLIC_URL, Browser, Inbox, invite_and_join


@pytest.fixture
def clock() -> FrozenClock:
    # After the demo album is out: the simulated services show it from its release day.
    return FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


async def test_one_paste_becomes_a_live_campaign(artist: tuple[Browser, str]) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    found = await browser.post(
        f"{base}/campaigns/new", {"paste": DEMO_ALBUM.service_urls["spotify"]}
    )
    assert found.status_code == 200, found.text
    assert DEMO_ALBUM.title in found.text
    assert 'value="midnight-cartography"' in found.text
    created = await browser.post(
        f"{base}/campaigns",
        {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "midnight"},
    )
    assert created.status_code == 303, created.text
    page = await browser.get(created.headers["location"])
    assert page.status_code == 200
    assert f"{PUBLIC_URL}/midnight" in page.text
    assert "utm_source=instagram" in page.text
    listing = await browser.get(f"{base}/campaigns")
    assert DEMO_ALBUM.title in listing.text
    fan_page = await browser.client.get("/midnight")
    assert fan_page.status_code == 200


async def test_a_second_paste_of_the_same_release_offers_the_existing_campaign(
    artist: tuple[Browser, str],
) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    first = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "mc"}
    )
    assert first.status_code == 303
    again = await browser.post(f"{base}/campaigns/new", {"paste": DEMO_ALBUM.upc})
    assert again.status_code == 200
    assert "already has a campaign here" in again.text
    assert first.headers["location"].split("?")[0] in again.text


@pytest.mark.parametrize(
    ("paste", "message"),
    [
        ("", "paste a release link"),
        ("123456789012", "check digit"),
        ("not a thing", "ISRC"),
        ("https://example.com/album/1", "https"),
    ],
)
async def test_a_paste_that_is_no_release_is_a_field_error(
    artist: tuple[Browser, str], paste: str, message: str
) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    response = await browser.post(f"{base}/campaigns/new", {"paste": paste})
    assert response.status_code == 422
    assert 'id="e-paste"' in response.text


async def test_a_taken_slug_is_a_field_error(artist: tuple[Browser, str]) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    url = DEMO_ALBUM.service_urls["spotify"]
    assert (
        await browser.post(f"{base}/campaigns", {"paste": url, "slug": "taken"})
    ).status_code == 303
    again = await browser.post(f"{base}/campaigns", {"paste": url, "slug": "taken"})
    assert again.status_code == 422
    assert 'id="e-slug"' in again.text


async def test_the_campaign_has_qr_codes_in_svg_and_png(artist: tuple[Browser, str]) -> None:
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "qr"}
    )
    campaign = created.headers["location"].split("?")[0]
    svg = await browser.client.get(f"{campaign}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg")
    assert f"{PUBLIC_URL}/qr" in svg.text  # its title names what it encodes
    png = await browser.client.get(f"{campaign}/qr.png?channel=instagram&download=1")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    assert 'filename="qr-instagram-qr.png"' in png.headers["content-disposition"]
    bad = await browser.client.get(f"{campaign}/qr.png?channel=<x>")
    assert bad.status_code == 422


async def test_a_viewer_cannot_create_campaigns(
    sim_app: Application, artist: tuple[Browser, str], inbox: Inbox
) -> None:
    owner, base = artist
    transport = httpx.ASGITransport(app=sim_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        viewer = Browser(client)
        from uuid import UUID

        await invite_and_join(
            owner, viewer, inbox, UUID(base.rsplit("/", 1)[1]), "v@example.com", "viewer"
        )
        await viewer.get(f"{base}/campaigns")
        assert (await viewer.get(f"{base}/campaigns/new")).status_code == 403
        refused = await viewer.post(
            f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"]}
        )
        assert refused.status_code == 403
