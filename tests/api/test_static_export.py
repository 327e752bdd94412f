"""``launchlink export-static``: links keep working from files, with no launchlink server."""

from __future__ import annotations

import functools
import http.server
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import pytest
from typer.testing import CliRunner

from launchlink.cli import app as cli
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.design import service as design_service
from launchlink.design.artwork import process_artwork
from launchlink.design.media import artwork_store
from launchlink.ops.static_export import export_site
from tests.api.conftest import Api, artist_body, release_body
from tests.builders import WorkspaceKey

SPOTIFY = "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"
APPLE = "https://music.apple.com/us/album/x/1620500261"
APPLE_DE = "https://music.apple.com/de/album/x/1620500261"


async def _link(api: Api, who: WorkspaceKey, slug: str, **release: object) -> None:
    artist = (await api.post(who, "/artists", artist_body())).json()
    made = await api.post(who, "/releases", release_body([artist["id"]], **release))
    assert made.status_code == 201, made.text
    response = await api.post(
        who,
        "/links",
        {
            "release_id": made.json()["id"],
            "slug": slug,
            "destinations": [
                {"service": "spotify", "url": SPOTIFY},
                {"service": "apple_music", "url": APPLE, "country_urls": {"DE": APPLE_DE}},
                {"service": "deezer", "url": "https://www.deezer.com/album/1", "hidden": True},
            ],
        },
    )
    assert response.status_code == 201, response.text


async def test_every_link_becomes_a_page_and_redirect_maps(
    api: Api, owner: WorkspaceKey, settings: Settings, tmp_path: Path
) -> None:
    await _link(
        api,
        owner,
        "midnight",
        artwork_url="https://links.example.test/static/demo/midnight-cartography.jpg",
    )
    await _link(api, owner, "second", upc="012345678905")
    out = tmp_path / "site"

    result = await export_site(settings, out)

    assert result.links == 2
    page = (out / "midnight" / "index.html").read_text()
    assert f'href="{SPOTIFY}"' in page
    assert f'href="{APPLE}"' in page
    assert "deezer.com" not in page  # hidden destinations stay hidden
    assert "<style>" in page
    assert '<link rel="stylesheet"' not in page
    assert 'src="artwork.jpg"' in page
    assert (out / "midnight" / "artwork.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert (out / "second" / "index.html").exists()
    netlify = (out / "_redirects").read_text().splitlines()
    # Country rules come before the default one: Netlify takes the first match.
    assert netlify.index(f"/midnight/apple_music  {APPLE_DE}  302  Country=de") < netlify.index(
        f"/midnight/apple_music  {APPLE}  302"
    )
    assert f'location = /midnight/spotify {{ return 302 "{SPOTIFY}"; }}' in (
        (out / "nginx-redirects.conf").read_text()
    )
    assert f'redir /second/spotify "{SPOTIFY}" 302' in (out / "Caddyfile.redirects").read_text()


async def test_artwork_uploaded_on_the_design_page_is_copied_beside_the_page(
    api: Api, owner: WorkspaceKey, settings: Settings, app_db: Database, tmp_path: Path
) -> None:
    Image = pytest.importorskip("PIL.Image")  # a dependency; an old environment skips
    await _link(api, owner, "designed")
    links = (await api.get(owner, "/links")).json()["items"]
    link_id = UUID(next(link["id"] for link in links if link["slug"] == "designed"))
    cover = io.BytesIO()
    Image.new("RGB", (500, 500), (10, 20, 30)).save(cover, "PNG")
    async with app_db.transaction() as session:
        await design_service.save_artwork(
            session,
            owner.workspace_id,
            link_id,
            process_artwork(cover.getvalue()),
            artwork_store(settings.var_dir),
        )
    out = tmp_path / "site"
    await export_site(settings, out)
    page = (out / "designed" / "index.html").read_text()
    assert page.count('src="artwork.jpg"') == 2  # the cover and its blurred backdrop
    assert "/_media/" not in page.split("<body>", 1)[1].split("<script", 1)[0]
    assert (out / "designed" / "artwork.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_the_command_writes_the_site_and_says_how_much(settings: Settings, tmp_path: Path) -> None:
    env = {
        "LAUNCHLINK_DATABASE_URL": settings.resolved_database_url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
    }
    result = CliRunner().invoke(cli, ["export-static", str(tmp_path / "empty")], env=env)
    assert result.exit_code == 0, result.output
    assert "exported 0 link(s) and 0 redirect(s)" in result.output
    assert (tmp_path / "empty" / "_redirects").exists()


@contextmanager
def _static_server(root: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Quiet(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
@pytest.mark.parametrize("served_by", ["file", "http.server"])
async def test_the_exported_page_works_in_chromium_without_launchlink(
    api: Api,
    owner: WorkspaceKey,
    settings: Settings,
    tmp_path: Path,
    chromium_path: str,
    served_by: str,
) -> None:
    from playwright.async_api import Route, async_playwright

    await _link(
        api,
        owner,
        "midnight",
        artwork_url="https://links.example.test/static/demo/midnight-cartography.jpg",
    )
    out = tmp_path / "site"
    await export_site(settings, out)

    with _static_server(out) as base:
        start = (
            (out / "midnight" / "index.html").as_uri()
            if served_by == "file"
            else f"{base}/midnight/"
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                context = await browser.new_context()
                page = await context.new_page()
                requested: list[str] = []
                errors: list[str] = []
                page.on("request", lambda request: requested.append(request.url))
                page.on("pageerror", lambda error: errors.append(str(error)))

                async def service(route: Route) -> None:
                    # No network here: the service's page is imitated, the click is real.
                    await route.fulfill(status=200, content_type="text/html", body="<h1>ok</h1>")

                await context.route(re.compile(r"^https://"), service)
                await page.goto(start, timeout=15_000)
                art_loaded = await page.eval_on_selector(
                    "img.art", "img => img.complete && img.naturalWidth > 0"
                )
                buttons = await page.locator("a.service").count()
                loaded_before_click = list(requested)
                async with page.expect_navigation(timeout=15_000):
                    await page.locator("a.service", has_text="Spotify").click()
                landed = page.url
            finally:
                await browser.close()
    assert errors == []
    assert buttons == 2
    assert art_loaded is True
    assert landed == SPOTIFY
    # Self-contained: the page loaded nothing but itself and its cover art.
    assert {urlsplit(url).path.rsplit("/", 1)[-1] for url in loaded_before_click} <= {
        "index.html",
        "",
        "artwork.jpg",
    }
