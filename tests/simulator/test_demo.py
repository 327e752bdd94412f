"""The demo world: valid identifiers, constants that match the catalogue, findable releases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from launchlink.kit.clock import FrozenClock
from launchlink.simulator import create_simulator_app
from launchlink.simulator.catalog import ISRC_PATTERN, is_valid_upc
from launchlink.simulator.demo import (
    DEMO_ALBUM,
    DEMO_APPLE_KID,
    DEMO_APPLE_TEAM_ID,
    DEMO_CLIENTS,
    DEMO_PREORDER_EP,
    DEMO_SINGLE,
    demo_apple_private_key_pem,
    demo_state,
)
from launchlink.simulator.state import SimulatorState

UPCOMING = datetime(2026, 9, 4, tzinfo=UTC)


@pytest.fixture
async def demo() -> AsyncIterator[tuple[SimulatorState, httpx.AsyncClient]]:
    state = demo_state(
        upcoming_release_at=UPCOMING, clock=FrozenClock(datetime(2026, 8, 1, tzinfo=UTC))
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(create_simulator_app(state)), base_url="http://d"
    ) as c:
        yield state, c


def test_demo_identifiers_are_valid() -> None:
    for release in (DEMO_ALBUM, DEMO_SINGLE, DEMO_PREORDER_EP):
        assert is_valid_upc(release.upc), release.title
        assert all(ISRC_PATTERN.match(t.isrc) for t in release.tracks)
        assert all(t.duration_ms > 0 for t in release.tracks)
    assert len(DEMO_ALBUM.tracks) == 10
    assert len(DEMO_SINGLE.tracks) == 1
    assert DEMO_PREORDER_EP.apple_preorder


def test_demo_constants_match_the_catalogue(demo: tuple[SimulatorState, httpx.AsyncClient]) -> None:
    state, _ = demo
    album = state.catalog.albums[DEMO_ALBUM.key]
    assert (
        DEMO_ALBUM.service_urls["spotify"]
        == f"https://open.spotify.com/album/{album.ids['spotify']}"
    )
    assert state.catalog.albums[DEMO_SINGLE.key].available_from == UPCOMING
    assert "amazonMusic" in DEMO_ALBUM.service_urls


async def test_the_demo_album_is_found_on_youtube_and_soundcloud_by_title_and_artist(
    demo: tuple[SimulatorState, httpx.AsyncClient],
) -> None:
    state, client = demo
    yt_client, _ = DEMO_CLIENTS["youtube"]
    sc_client, _ = DEMO_CLIENTS["soundcloud"]
    yt, _ = state.mint_user_token(
        "youtube", yt_client, "fan", ["https://www.googleapis.com/auth/youtube"]
    )
    sc, _ = state.mint_user_token("soundcloud", sc_client, "fan", [])
    youtube = await client.get(
        "/google/youtube/v3/search",
        params={"q": "Midnight Cartography Nova Reyes", "type": "playlist"},
        headers={"Authorization": f"Bearer {yt.token}"},
    )
    soundcloud = await client.get(
        "/soundcloud/api/playlists",
        params={"q": "Midnight Cartography Nova Reyes"},
        headers={"Authorization": f"OAuth {sc.token}"},
    )
    assert youtube.json()["items"][0]["id"]["playlistId"] == DEMO_ALBUM.service_ids["youtube"]
    assert soundcloud.json()[0]["permalink_url"] == DEMO_ALBUM.service_urls["soundcloud"]


async def test_the_demo_apple_key_signs_accepted_developer_tokens(
    demo: tuple[SimulatorState, httpx.AsyncClient],
) -> None:
    state, client = demo
    now = int(state.now().timestamp())
    token = jwt.encode(
        {"iss": DEMO_APPLE_TEAM_ID, "iat": now, "exp": now + 3600},
        demo_apple_private_key_pem(),
        algorithm="ES256",
        headers={"kid": DEMO_APPLE_KID},
    )
    response = await client.get(
        "/apple/v1/catalog/us/albums",
        params={"filter[upc]": DEMO_PREORDER_EP.upc},
        headers={"Authorization": f"Bearer {token}"},
    )
    (album,) = response.json()["data"]
    assert album["attributes"]["releaseDate"] == (UPCOMING + timedelta(days=28)).date().isoformat()


async def test_the_upcoming_single_is_hidden_until_its_instant(
    demo: tuple[SimulatorState, httpx.AsyncClient],
) -> None:
    state, client = demo
    before = await client.get(f"/deezer/api/album/upc:{DEMO_SINGLE.upc}")
    state.set_clock(UPCOMING)
    after = await client.get(f"/deezer/api/album/upc:{DEMO_SINGLE.upc}")
    assert before.json()["error"]["code"] == 800
    assert after.json()["title"] == "Lantern Light"
