"""The smart-link page and redirect served from the database through the whole app."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from httpx import ASGITransport, AsyncClient

from launchlink.app import create_app
from launchlink.config import Settings
from tests.api.conftest import Api, FakeDns, make_link, verified_domain
from tests.builders import WorkspaceKey

BASE = "https://links.example.test"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


async def test_a_link_created_through_the_api_is_served_as_a_page(
    api: Api, owner: WorkspaceKey
) -> None:
    await make_link(api, owner, slug="night")
    page = await api.client.get("/night", headers={"user-agent": IPHONE})
    assert page.status_code == 200
    assert 'href="/night/spotify"' in page.text
    assert "Midnight Cartography" in page.text


async def test_the_redirect_goes_to_the_registered_destination(
    api: Api, owner: WorkspaceKey
) -> None:
    await make_link(api, owner, slug="night")
    response = await api.client.get("/night/spotify", headers={"user-agent": IPHONE})
    assert response.status_code == 302
    assert response.headers["location"] == "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"


async def test_a_destination_change_shows_on_the_next_page_view(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner, slug="night")
    assert 'href="/night/deezer"' not in (await api.client.get("/night")).text
    added = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
    )
    assert added.status_code == 201
    assert 'href="/night/deezer"' in (await api.client.get("/night")).text
    await api.patch(owner, f"/links/{link['id']}/destinations/deezer", {"hidden": True})
    assert 'href="/night/deezer"' not in (await api.client.get("/night")).text
    assert (await api.client.get("/night/deezer")).status_code == 404


async def test_a_deleted_link_answers_404(api: Api, owner: WorkspaceKey) -> None:
    link = await make_link(api, owner, slug="night")
    assert (await api.client.get("/night")).status_code == 200
    await api.delete(owner, f"/links/{link['id']}")
    assert (await api.client.get("/night")).status_code == 404


async def test_an_unknown_slug_is_a_friendly_404(api: Api) -> None:
    response = await api.client.get("/no-such-link")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Traceback" not in response.text


async def test_another_process_sees_a_change_after_its_poll(
    api: Api, owner: WorkspaceKey, settings: Settings
) -> None:
    link = await make_link(api, owner, slug="night")
    other = create_app(settings)  # a second process, as far as caches are concerned
    async with AsyncClient(transport=ASGITransport(app=other), base_url=BASE) as c:
        feed = other.context.link_changes
        assert feed is not None
        await feed.poll_once()  # start from "now", as the process would at start-up
        assert 'href="/night/deezer"' not in (await c.get("/night")).text
        await api.post(
            owner,
            f"/links/{link['id']}/destinations",
            {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
        )
        changed = await feed.poll_once()
        assert changed == [UUID(link["id"])]
        assert 'href="/night/deezer"' in (await c.get("/night")).text
    await other.shutdown()


async def test_two_apps_in_one_process_do_not_share_their_change_bus(
    api: Api, owner: WorkspaceKey, settings: Settings
) -> None:
    link = await make_link(api, owner, slug="night")
    other = create_app(settings)
    async with AsyncClient(transport=ASGITransport(app=other), base_url=BASE) as c:
        assert other.context.link_bus.listeners  # its page caches listen to its own bus
        assert 'href="/night/deezer"' not in (await c.get("/night")).text
        await api.post(
            owner,
            f"/links/{link['id']}/destinations",
            {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
        )
        # The writing app's bus dropped its own cache at once...
        assert 'href="/night/deezer"' in (await api.client.get("/night")).text
        # ...the other app heard nothing: it still serves its cached page until it polls.
        assert 'href="/night/deezer"' not in (await c.get("/night")).text
    await other.shutdown()
    assert other.context.link_bus.listeners == ()


async def test_postgres_notify_wakes_another_process_without_waiting_for_the_poll(
    api: Api, owner: WorkspaceKey, settings: Settings
) -> None:
    if not settings.resolved_database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite relies on the poll alone")
    link = await make_link(api, owner, slug="night")
    slow_poll = settings.model_copy(update={"cache_poll_seconds": 60.0})
    other = create_app(slow_poll)
    await other.startup()
    try:
        async with AsyncClient(transport=ASGITransport(app=other), base_url=BASE) as c:
            assert 'href="/night/deezer"' not in (await c.get("/night")).text
            await asyncio.sleep(0.3)  # let LISTEN connect
            await api.post(
                owner,
                f"/links/{link['id']}/destinations",
                {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
            )
            for _ in range(50):
                if 'href="/night/deezer"' in (await c.get("/night")).text:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the change did not reach the other process within 5 s")
    finally:
        await other.shutdown()


async def test_a_custom_domain_serves_its_root_link_and_its_slugs(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    domain = await verified_domain(api, dns, owner)
    link = await make_link(api, owner, slug="night")
    moved = await api.patch(owner, f"/links/{link['id']}", {"custom_domain": "music.owner.test"})
    assert moved.json()["url"] == "https://music.owner.test/night"
    custom = {"host": "music.owner.test", "user-agent": IPHONE}

    assert (await api.client.get("/", headers=custom)).status_code == 404
    await api.patch(owner, f"/domains/{domain['id']}", {"root_link_id": link["id"]})
    root = await api.client.get("/", headers=custom)
    assert root.status_code == 200
    assert 'href="/night/spotify"' in root.text
    assert (await api.client.get("/night", headers=custom)).status_code == 200
    redirect = await api.client.get("/night/spotify", headers=custom)
    assert redirect.status_code == 302
    # The link left the instance's own host: the old URL is gone there.
    assert (await api.client.get("/night", headers={"user-agent": IPHONE})).status_code == 404
