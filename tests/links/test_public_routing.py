from typing import Any

import pytest

from launchlink.links.snapshot import LinkSnapshot
from tests.links.test_public_support import client, destination_url, make_harness, make_snapshot


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/links",
        "/static/artwork/night-drive.jpg",
        "/_sim/spotify/authorize",
        "/presave/night-drive/spotify",
        "/oauth/callback",
        "/dashboard",
        "/healthz",
        "/favicon.ico",
        "/robots.txt",
    ],
)
async def test_reserved_paths_go_to_the_fallback_app(path: str) -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get(path)
    assert response.headers["x-app"] == "api"
    assert harness.fallback.paths == [path]
    assert harness.source.loads == 0


async def test_the_platform_home_page_goes_to_the_fallback_app() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/")
    assert response.headers["x-app"] == "api"


async def test_lifespan_events_go_to_the_fallback_app() -> None:
    harness = make_harness(make_snapshot())

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("the hot path must not answer lifespan events")

    await harness.app({"type": "lifespan"}, receive, send)
    assert harness.fallback.scope_types == ["lifespan"]


@pytest.mark.parametrize(
    "path",
    ["/Night-Drive", "/night_drive", "/night-drive/spotify/extra", "/" + "a" * 65, "/nope"],
)
async def test_anything_else_is_a_friendly_404(path: str) -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "We can’t find this link" in response.text
    assert harness.fallback.paths == []


async def test_the_404_page_speaks_the_visitors_language() -> None:
    harness = make_harness()
    async with client(harness, accept_language="es-MX,es;q=0.9") as fan:
        response = await fan.get("/unknown")
    assert response.status_code == 404
    assert '<html lang="es">' in response.text
    assert "No encontramos este enlace" in response.text


async def test_a_trailing_slash_is_tolerated() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive/")
    assert response.status_code == 200


async def test_other_methods_are_refused() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.post("/night-drive/spotify")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert harness.clicks == []


async def test_a_custom_domain_serves_its_root_link_and_its_slugs() -> None:
    harness = make_harness()
    on_domain = make_snapshot(host="music.adalumen.test", slug="night-drive")
    harness.source.add(on_domain, domain_root=True)
    async with client(harness, base_url="https://music.adalumen.test") as fan:
        root = await fan.get("/")
        by_slug = await fan.get("/night-drive")
        redirect = await fan.get("/night-drive/spotify")
    assert root.status_code == 200
    assert "<h1>Night Drive</h1>" in root.text
    assert by_slug.status_code == 200
    assert redirect.headers["location"] == destination_url("spotify")


async def test_a_platform_link_is_not_served_on_a_custom_domain() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, base_url="https://music.adalumen.test") as fan:
        response = await fan.get("/night-drive")
    assert response.status_code == 404


async def test_an_unknown_custom_domain_root_is_a_404() -> None:
    harness = make_harness()
    async with client(harness, base_url="https://unknown.example") as fan:
        response = await fan.get("/")
    assert response.status_code == 404


class BrokenSource:
    async def load(self, host: str | None, slug: str | None) -> LinkSnapshot | None:
        raise RuntimeError("database password=hunter2 is wrong")


async def test_a_failure_becomes_a_detail_free_500_page(caplog: pytest.LogCaptureFixture) -> None:
    harness = make_harness(source_override=BrokenSource())
    async with client(harness, accept_language="fr") as fan:
        response = await fan.get("/night-drive")
    assert response.status_code == 500
    assert "Un problème est survenu de notre côté" in response.text
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["cache-control"] == "private, no-store"
    assert any("public link request failed" in record.message for record in caplog.records)
