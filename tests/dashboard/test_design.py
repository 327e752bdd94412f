"""The Design section: theme, artwork, buttons and texts change the fan page; previews of
every phase; roles, CSRF and field errors."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from launchlink.app import Application
from launchlink.db import Base, Database
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import Browser, Inbox, invite_and_join
from tests.links.test_public_support import PREVIEW_BOTS

# Both are dependencies (pyproject.toml); an environment installed before they were added
# skips these tests instead of failing to collect them, until `make install` runs again.
Image = pytest.importorskip("PIL.Image")
pytest.importorskip("python_multipart")

SLUG = "midnight"


@pytest.fixture
def clock() -> FrozenClock:
    # After the demo album is out: the simulated services show it from its release day.
    return FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
async def campaign(artist: tuple[Browser, str]) -> tuple[Browser, str]:
    """An artist's workspace with one campaign made from a paste; the design page's URL."""
    browser, base = artist
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": SLUG}
    )
    assert created.status_code == 303, created.text
    return browser, created.headers["location"].split("?")[0] + "/design"


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def _upload(
    browser: Browser, design: str, data: bytes, *, csrf: str | None = None
) -> httpx.Response:
    await browser.get(design)
    return await browser.client.post(
        f"{design}/artwork",
        data={"csrf": browser.csrf if csrf is None else csrf},
        files={"artwork": ("cover.png", data, "image/png")},
        headers={"accept": "text/html"},
    )


async def test_a_theme_saved_on_the_design_page_is_what_the_fan_page_wears(
    campaign: tuple[Browser, str],
) -> None:
    browser, design = campaign
    page = await browser.get(design)
    assert page.status_code == 200, page.text
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    saved = await browser.post(
        f"{design}/theme",
        {"mode": "dark", "accent_source": "custom", "accent": "#ff5500", "headline": "Stream it"},
    )
    assert saved.status_code == 303, saved.text
    fan = await browser.client.get(f"/{SLUG}")
    assert "color-scheme:dark" in fan.text
    assert "--accent:#FF5500" in fan.text
    assert '<h2 id="services-title">Stream it</h2>' in fan.text


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"accent_source": "custom", "accent": "red"}, "accent", "#RRGGBB"),
        ({"accent_source": "custom", "accent": ""}, "accent", "#RRGGBB"),
        ({"mode": "neon"}, "mode", "auto"),
        ({"headline": "x" * 81}, "headline", "80"),
    ],
)
async def test_bad_theme_input_is_a_field_error_and_changes_nothing(
    campaign: tuple[Browser, str], values: dict[str, str], field: str, message: str
) -> None:
    browser, design = campaign
    await browser.get(design)
    refused = await browser.post(f"{design}/theme", values)
    assert refused.status_code == 422
    error = re.search(rf'id="e-{field}">([^<]+)<', refused.text)
    assert error is not None, refused.text
    assert message in error.group(1)
    fan = await browser.client.get(f"/{SLUG}")
    assert "--accent:#6D28D9" in fan.text  # still the default


async def test_uploaded_artwork_is_stored_square_and_served_with_the_page_and_cache_headers(
    campaign: tuple[Browser, str],
) -> None:
    browser, design = campaign
    uploaded = await _upload(browser, design, _png(1600, 1000, (200, 30, 40)))
    assert uploaded.status_code == 303, uploaded.text
    fan = await browser.client.get(f"/{SLUG}")
    found = re.search(r'<img class="art" src="([^"]+/_media/artwork/[0-9a-f]{32}\.jpg)"', fan.text)
    assert found is not None, fan.text
    assert f'<meta property="og:image" content="{found.group(1)}">' in fan.text
    # The accent comes from the artwork when the operator picked none.
    assert "--accent:#C81E28" in fan.text
    served = await browser.client.get(found.group(1).removeprefix("https://links.example.test"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(served.content))
    assert (image.format, image.size) == ("JPEG", (1000, 1000))
    again = await browser.client.get(
        found.group(1).removeprefix("https://links.example.test"),
        headers={"if-none-match": served.headers["etag"]},
    )
    assert again.status_code == 304


@pytest.mark.parametrize("bot", sorted(PREVIEW_BOTS))
async def test_messaging_apps_are_told_the_stored_artworks_size_on_the_link_and_presave_page(
    campaign: tuple[Browser, str], bot: str
) -> None:
    """og:image:width/height/type of the artwork as stored (squared to its shorter side,
    JPEG), so a preview is laid out before the image arrives; on the smart link and on the
    pre-save page alike."""
    browser, design = campaign
    uploaded = await _upload(browser, design, _png(1600, 1000, (200, 30, 40)))
    assert uploaded.status_code == 303, uploaded.text
    crawler = {"user-agent": PREVIEW_BOTS[bot]}
    card = [
        '<meta property="og:image:type" content="image/jpeg">',
        '<meta property="og:image:width" content="1000">',
        '<meta property="og:image:height" content="1000">',
    ]
    live = (await browser.client.get(f"/{SLUG}", headers=crawler)).text
    assert re.search(r'<meta property="og:image" content="[^"]+/_media/artwork/', live), bot
    for line in card:
        assert line in live, (bot, line)
    campaign_url = design.removesuffix("/design")
    moved = await browser.post(
        f"{campaign_url}/release",
        {"release_mode": "global", "release_date": "2026-04-01", "time_zone": "UTC"},
    )
    assert moved.status_code == 303, moved.text
    switched = await browser.post(f"{campaign_url}/release/presave", {"enabled": "1"})
    assert switched.status_code == 303, switched.text
    presave = (await browser.client.get(f"/{SLUG}", headers=crawler)).text
    assert "Pre-save" in presave, bot
    for line in card:
        assert line in presave, (bot, line)
    # The width and height come before the image's alt text, beside the image they size.
    assert presave.index(card[1]) < presave.index('<meta property="og:image:alt"')


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not an image", "not an image we can read"),
        (b"", "choose an image file"),
        (_png(120, 120, (0, 0, 0)), "too small"),
    ],
)
async def test_an_upload_that_is_no_usable_image_is_a_field_error(
    campaign: tuple[Browser, str], data: bytes, message: str
) -> None:
    browser, design = campaign
    refused = await _upload(browser, design, data)
    assert refused.status_code == 422
    assert 'id="e-artwork"' in refused.text
    assert message in refused.text


async def test_an_upload_without_this_browsers_csrf_token_is_refused(
    campaign: tuple[Browser, str],
) -> None:
    browser, design = campaign
    refused = await _upload(browser, design, _png(400, 400, (1, 2, 3)), csrf="forged")
    assert refused.status_code == 403
    fan = await browser.client.get(f"/{SLUG}")
    assert "/_media/artwork/" not in fan.text


async def test_buttons_follow_the_numbers_and_unticked_services_are_hidden(
    campaign: tuple[Browser, str],
) -> None:
    browser, design = campaign
    page = await browser.get(design)
    services = re.findall(r'name="position\.([a-z_]+)"', page.text)
    assert len(services) >= 3
    reversed_order = {
        f"position.{service}": str(len(services) - index) for index, service in enumerate(services)
    }
    shown = {f"visible.{service}": "1" for service in services[1:]}
    saved = await browser.post(f"{design}/buttons", {**reversed_order, **shown})
    assert saved.status_code == 303, saved.text
    fan = await browser.client.get(f"/{SLUG}")
    links = re.findall(rf'href="/{SLUG}/([a-z_]+)"', fan.text)
    assert links == list(reversed(services[1:]))


async def test_a_position_that_is_no_number_is_a_field_error(
    campaign: tuple[Browser, str],
) -> None:
    browser, design = campaign
    page = await browser.get(design)
    service = re.findall(r'name="position\.([a-z_]+)"', page.text)[0]
    refused = await browser.post(f"{design}/buttons", {f"position.{service}": "first"})
    assert refused.status_code == 422
    assert f'id="e-position-{service}"' in refused.text


async def test_the_preview_shows_the_saved_page_in_every_phase_and_may_be_framed_by_us(
    campaign: tuple[Browser, str],
) -> None:
    browser, design = campaign
    page = await browser.get(design)
    phases = re.findall(r'src="[^"]+/preview\?phase=([a-z]+)"', page.text)
    assert "live" in phases
    assert "announce" in phases
    for phase in phases:
        preview = await browser.get(f"{design}/preview?phase={phase}")
        assert preview.status_code == 200, (phase, preview.text)
        assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
        assert DEMO_ALBUM.title in preview.text
    live = await browser.get(f"{design}/preview?phase=live")
    assert 'class="services"' in live.text
    announce = await browser.get(f"{design}/preview?phase=announce")
    assert "Coming soon" in announce.text


async def test_a_viewer_sees_the_design_but_every_change_is_refused(
    campaign: tuple[Browser, str],
    sim_app: Application,
    inbox: Inbox,
) -> None:
    owner, design = campaign
    workspace_id = design.split("/w/")[1].split("/")[0]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim_app), base_url="https://links.example.test"
    ) as client:
        viewer = Browser(client)
        await invite_and_join(owner, viewer, inbox, UUID(workspace_id), "v@example.com", "viewer")
        page = await viewer.get(design)
        assert page.status_code == 200
        assert 'id="save-theme"' not in page.text
        refused = await viewer.post(f"{design}/theme", {"mode": "dark"})
        assert refused.status_code == 403
        upload = await _upload(viewer, design, _png(400, 400, (9, 9, 9)))
        assert upload.status_code == 403
    fan = await owner.client.get(f"/{SLUG}")
    assert "color-scheme:dark;" not in fan.text


async def test_a_member_of_another_workspace_finds_no_design_page(
    campaign: tuple[Browser, str],
    sim_app: Application,
    inbox: Inbox,
) -> None:
    owner, design = campaign
    await owner.get("/dashboard/workspaces/new")
    made = await owner.post("/dashboard/workspaces/new", {"name": "Side Label", "kind": "label"})
    assert made.status_code == 303, made.text
    other = UUID(made.headers["location"].split("/w/")[1].split("/")[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim_app), base_url="https://links.example.test"
    ) as client:
        stranger = Browser(client)
        await invite_and_join(owner, stranger, inbox, other, "side@example.com", "admin")
        link_part = design.split("/campaigns/")[1]
        for path in (design, f"/dashboard/w/{other}/campaigns/{link_part}"):
            response = await stranger.get(path)
            assert response.status_code == 404, path
        refused = await stranger.post(
            f"/dashboard/w/{other}/campaigns/{link_part}/design/theme", {}
        )
        assert refused.status_code == 404


def _design_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        change
        for change in compare_metadata(context, Base.metadata)
        if "link_design" in repr(change)
    ]


async def test_the_link_design_table_matches_its_migration(db: Database) -> None:
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_design_diff) == []
