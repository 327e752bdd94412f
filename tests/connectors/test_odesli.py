"""Odesli client against the simulator: links by URL or by platform id, no-match, limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from launchlink.connectors.errors import NotAllowed, RateLimited, Transient
from launchlink.connectors.odesli import OdesliClient
from launchlink.connectors.settings import OdesliSettings
from tests.connectors.simworld import SimWorld, make_world


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def odesli(world: SimWorld) -> AsyncIterator[OdesliClient]:
    client = OdesliClient(world.settings.odesli, transport=world.transport)
    yield client
    await client.aclose()


async def test_links_for_a_released_album_by_url_and_by_platform_id(
    world: SimWorld, odesli: OdesliClient
) -> None:
    glass = world.album("glass")
    by_url = await odesli.links(url=f"https://open.spotify.com/album/{glass.ids['spotify']}")
    assert by_url is not None
    assert by_url.links["spotify"] == f"https://open.spotify.com/album/{glass.ids['spotify']}"
    assert by_url.links["deezer"] == f"https://www.deezer.com/album/{glass.ids['deezer']}"
    assert by_url.page_url
    by_id = await odesli.links(platform="deezer", type="album", id=glass.ids["deezer"])
    assert by_id is not None
    assert by_id.links == by_url.links


async def test_an_unreleased_album_has_no_links(world: SimWorld, odesli: OdesliClient) -> None:
    tide = world.album("tide")
    assert await odesli.links(platform="spotify", type="album", id=tide.ids["spotify"]) is None


async def test_limits_keys_and_outages_are_typed(
    world: SimWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keyless = OdesliClient(OdesliSettings(url=world.settings.odesli.url), transport=world.transport)
    glass_url = f"https://open.spotify.com/album/{world.album('glass').ids['spotify']}"
    for _ in range(10):
        assert await keyless.links(url=glass_url) is not None
    with pytest.raises(RateLimited):
        await keyless.links(url=glass_url)
    bad_key = OdesliClient(
        OdesliSettings(url=world.settings.odesli.url, api_key="not-registered-key"),
        transport=world.transport,
    )
    with pytest.raises(NotAllowed):
        await bad_key.links(url=glass_url)
    assert all("not-registered-key" not in r.getMessage() for r in caplog.records)
    world.state.set_faults("odesli", error_rate=1.0, error_status=503)
    with pytest.raises(Transient):
        await bad_key.links(url=glass_url)
    with pytest.raises(ValueError, match="platform"):
        await bad_key.links(platform="spotify")
    await keyless.aclose()
    await bad_key.aclose()
