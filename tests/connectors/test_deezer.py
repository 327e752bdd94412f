"""Deezer connector against the simulator: its OAuth variant, lookups, favourites, errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from launchlink.connectors.base import Capability, TokenSet
from launchlink.connectors.deezer import DeezerConnector, parse_deezer_url
from launchlink.connectors.errors import (
    AuthRevoked,
    ConnectorError,
    NotAllowed,
    NotFound,
    NotSupported,
    RateLimited,
    Transient,
)
from tests.connectors.simworld import (
    PADDED_UPC,
    REDIRECT_URI,
    RELEASED_UPC,
    UPCOMING_UPC,
    SimWorld,
    make_world,
)

PERMS = ["basic_access", "offline_access", "manage_library"]


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def deezer(world: SimWorld) -> AsyncIterator[DeezerConnector]:
    connector = DeezerConnector(world.settings.deezer, clock=world.clock, transport=world.transport)
    yield connector
    await connector.aclose()


def fan(world: SimWorld, user: str = "fan-1", perms: list[str] | None = None) -> TokenSet:
    access, _ = world.user_token("deezer", user, perms or PERMS, ttl_seconds=None)
    return TokenSet(access_token=access)


def deezer_id(world: SimWorld, key: str) -> str:
    return world.album(key).ids["deezer"]


async def test_the_deezer_oauth_variant_yields_a_non_expiring_token(
    world: SimWorld, deezer: DeezerConnector
) -> None:
    world.state.set_consent_mode("deezer", "auto_approve", next_user="fan-oauth")
    perms = deezer.scopes_for([Capability.SAVE_RELEASE, Capability.FOLLOW_ARTIST])
    assert perms == PERMS
    url = deezer.authorization_url(
        state="st", code_challenge="ignored", redirect_uri=REDIRECT_URI, scopes=perms
    )
    assert "perms=basic_access%2Coffline_access%2Cmanage_library" in url
    async with httpx.AsyncClient(transport=world.transport) as browser:
        redirect = await browser.get(url)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert query["state"] == ["st"]
    tokens = await deezer.exchange_code(
        code=query["code"][0], code_verifier="", redirect_uri=REDIRECT_URI
    )
    assert tokens.expires_at is None
    assert tokens.refresh_token is None
    account = await deezer.current_user(tokens)
    assert account.display_name == "fan-oauth"
    assert account.id
    with pytest.raises(AuthRevoked):  # codes are single-use
        await deezer.exchange_code(code=query["code"][0], code_verifier="", redirect_uri="x")
    with pytest.raises(NotSupported):
        await deezer.refresh(tokens)


async def test_a_release_is_found_by_upc_in_either_width(
    world: SimWorld, deezer: DeezerConnector
) -> None:
    match = await deezer.find_release_by_upc("0" + RELEASED_UPC)
    assert match is not None
    assert match.id == deezer_id(world, "glass")
    assert match.title == "Glass Harbour"
    assert match.artists == ("Nova Reed",)
    assert match.upc == RELEASED_UPC
    assert match.url == f"https://www.deezer.com/album/{match.id}"
    assert len(match.tracks) == 3
    padded = await deezer.find_release_by_upc(PADDED_UPC.lstrip("0"))
    assert padded is not None
    assert padded.is_single
    assert await deezer.find_release_by_upc(UPCOMING_UPC) is None


async def test_tracks_urls_and_search(world: SimWorld, deezer: DeezerConnector) -> None:
    track = world.album("glass").tracks[0]
    match = await deezer.find_track_by_isrc(track.isrc)
    assert match is not None
    assert match.id == track.ids["deezer"]
    assert match.album_id == deezer_id(world, "glass")
    assert match.duration_ms == track.duration_ms // 1000 * 1000
    by_url = await deezer.lookup_url(f"https://www.deezer.com/fr/album/{deezer_id(world, 'glass')}")
    assert by_url is not None
    assert by_url.title == "Glass Harbour"
    by_track_url = await deezer.lookup_url(f"https://deezer.com/track/{track.ids['deezer']}")
    assert by_track_url is not None
    assert by_track_url.kind == "track"
    found = await deezer.search(title="Glass Harbour", artists=["Nova Reed"])
    assert [m.id for m in found] == [deezer_id(world, "glass")]
    assert parse_deezer_url("https://link.deezer.com/s/abc") is None


async def test_favourites_are_written_once_each(world: SimWorld, deezer: DeezerConnector) -> None:
    tokens = fan(world)
    album = world.album("glass")
    tracks = [t.ids["deezer"] for t in album.tracks]
    await deezer.save_release(tokens, album_id=album.ids["deezer"], track_ids=tracks)
    await deezer.save_release(tokens, album_id=album.ids["deezer"])
    nova = world.state.catalog.artists["nova"].ids["deezer"]
    await deezer.follow_artists(tokens, artist_ids=[nova, nova])
    outcomes = world.state.ledger.outcomes(service="deezer")
    assert outcomes == {"added": 5, "already": 1}
    assert len(world.state.ledger.query(action="follow_artist")) == 1


async def test_playlists_are_created_filled_and_followed(
    world: SimWorld, deezer: DeezerConnector
) -> None:
    tokens = fan(world)
    created = await deezer.create_playlist(tokens, name="launchlink")
    assert created.created_id
    tracks = [t.ids["deezer"] for t in world.album("glass").tracks]
    await deezer.add_to_playlist(tokens, playlist_id=created.created_id, track_ids=tracks)
    await deezer.follow_playlist(tokens, playlist_id=created.created_id)
    assert [e.action for e in world.state.ledger.entries] == ["playlist_add"] * 3 + [
        "follow_playlist"
    ]


async def test_errors_inside_http_200_are_typed(world: SimWorld, deezer: DeezerConnector) -> None:
    album_id = deezer_id(world, "glass")
    with pytest.raises(NotAllowed) as no_perm:
        await deezer.save_release(fan(world, perms=["basic_access"]), album_id=album_id)
    assert no_perm.value.reason == "insufficient_scope"
    with pytest.raises(NotFound):
        await deezer.save_release(fan(world), album_id=deezer_id(world, "tide"))
    tokens = fan(world, user="fan-2")
    world.state.revoke_user("deezer", "fan-2")
    with pytest.raises(AuthRevoked):
        await deezer.save_release(tokens, album_id=album_id)
    world.state.set_faults("deezer", burst_429=1)
    with pytest.raises(RateLimited) as limited:
        await deezer.find_release_by_upc(RELEASED_UPC)
    assert limited.value.retry_after == 5.0
    assert world.state.ledger.entries == []


async def test_the_quota_of_fifty_requests_in_five_seconds_is_rate_limited(
    world: SimWorld, deezer: DeezerConnector
) -> None:
    isrc = world.album("glass").tracks[0].isrc
    for _ in range(50):
        assert await deezer.find_track_by_isrc(isrc) is not None
    with pytest.raises(RateLimited):
        await deezer.find_track_by_isrc(isrc)


async def test_server_errors_are_transient(world: SimWorld) -> None:
    settings = world.settings.deezer.model_copy(update={"max_retries": 1})
    connector = DeezerConnector(settings, clock=world.clock, transport=world.transport)
    world.state.set_faults("deezer", error_rate=1.0, error_status=502)
    with pytest.raises(Transient):
        await connector.find_release_by_upc(RELEASED_UPC)
    await connector.aclose()


async def test_the_token_in_the_query_never_reaches_errors_or_logs(
    world: SimWorld, deezer: DeezerConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = fan(world)
    await deezer.current_user(tokens)
    world.state.revoke_user("deezer", "fan-1")
    with pytest.raises(ConnectorError) as caught:
        await deezer.current_user(tokens)
    texts = [str(caught.value), *(r.getMessage() for r in caplog.records)]
    assert any("access_token=" in text for text in texts), "the query was logged, redacted"
    assert all(tokens.access_token not in text for text in texts)
    assert all("launchlink-demo-secret" not in text for text in texts)


async def test_the_fans_own_playlists_are_listed_but_not_favourites_of_others(
    world: SimWorld, deezer: DeezerConnector
) -> None:
    other = fan(world, "someone-else")
    theirs = await deezer.create_playlist(other, name="Not mine")
    tokens = fan(world, "lister")
    mine = await deezer.create_playlist(tokens, name="Gym")
    assert mine.created_id is not None
    assert theirs.created_id is not None
    await deezer.add_to_playlist(
        tokens,
        playlist_id=mine.created_id,
        track_ids=[world.album("glass").tracks[0].ids["deezer"]],
    )
    await deezer.follow_playlist(tokens, playlist_id=theirs.created_id)

    listed = await deezer.list_playlists(tokens)

    assert [(p.id, p.name, p.owned, p.track_count) for p in listed] == [
        (mine.created_id, "Gym", True, 1)
    ]
