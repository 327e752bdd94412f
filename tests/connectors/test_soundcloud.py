"""SoundCloud connector against the simulator: PKCE, single-use refresh, resolve, follow, like."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from launchlink.connectors.base import Capability, TokenSet
from launchlink.connectors.errors import (
    AccessTokenExpired,
    AuthRevoked,
    ConnectorError,
    NotFound,
    NotSupported,
    RateLimited,
    Transient,
)
from launchlink.connectors.oauth import new_pkce_pair
from launchlink.connectors.soundcloud import SoundCloudConnector, canonical_soundcloud_url
from launchlink.simulator.catalog import service_album_url, service_track_url
from tests.connectors.simworld import (
    REDIRECT_URI,
    RELEASE_DAY,
    RELEASED_UPC,
    SimWorld,
    make_world,
)


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def soundcloud(world: SimWorld) -> AsyncIterator[SoundCloudConnector]:
    connector = SoundCloudConnector(
        world.settings.soundcloud, clock=world.clock, transport=world.transport
    )
    yield connector
    await connector.aclose()


def fan(world: SimWorld, user: str = "fan-1") -> TokenSet:
    access, refresh = world.user_token("soundcloud", user, [])
    return TokenSet(access_token=access, refresh_token=refresh)


def playlist_urn(world: SimWorld, key: str) -> str:
    return f"soundcloud:playlists:{world.album(key).ids['soundcloud']}"


async def test_oauth_with_pkce_and_single_use_refresh_tokens(
    world: SimWorld, soundcloud: SoundCloudConnector
) -> None:
    world.state.set_consent_mode("soundcloud", "auto_approve", next_user="fan-oauth")
    pkce = new_pkce_pair()
    url = soundcloud.authorization_url(
        state="s", code_challenge=pkce.challenge, redirect_uri=REDIRECT_URI, scopes=[]
    )
    async with httpx.AsyncClient(transport=world.transport) as browser:
        redirect = await browser.get(url)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    tokens = await soundcloud.exchange_code(
        code=code, code_verifier=pkce.verifier, redirect_uri=REDIRECT_URI
    )
    account = await soundcloud.current_user(tokens)
    assert account.id is not None
    assert account.id.startswith("soundcloud:users:")
    assert account.country == "US"
    fresh = await soundcloud.refresh(tokens)
    assert fresh.refresh_token
    assert fresh.refresh_token != tokens.refresh_token
    with pytest.raises(AuthRevoked):
        await soundcloud.refresh(tokens)  # the old refresh token was used up


async def test_urls_resolve_through_the_api_without_fetching_them(
    world: SimWorld, soundcloud: SoundCloudConnector
) -> None:
    catalog = world.state.catalog
    glass = world.album("glass")
    album = await soundcloud.lookup_url(service_album_url(catalog, glass, "soundcloud") + "?si=1")
    assert album is not None
    assert album.kind == "album"
    assert album.id == playlist_urn(world, "glass")
    assert album.upc == RELEASED_UPC
    assert [t.isrc for t in album.tracks] == [t.isrc for t in glass.tracks]
    track = await soundcloud.lookup_url(
        service_track_url(catalog, glass.tracks[0], glass, "soundcloud")
    )
    assert track is not None
    assert track.kind == "track"
    assert track.isrc == glass.tracks[0].isrc
    assert await soundcloud.lookup_url("https://soundcloud.com/nobody/nothing") is None
    assert canonical_soundcloud_url("https://evil.test/nova-reed/x") is None
    assert canonical_soundcloud_url("https://soundcloud.com/discover/x") is None


async def test_search_and_unsupported_lookups(
    world: SimWorld, soundcloud: SoundCloudConnector
) -> None:
    found = await soundcloud.search(title="Glass Harbour", artists=["Nova Reed"])
    assert playlist_urn(world, "glass") in [m.id for m in found]
    assert Capability.LOOKUP_UPC not in soundcloud.capabilities
    with pytest.raises(NotSupported):
        await soundcloud.find_release_by_upc(RELEASED_UPC)


async def test_follow_reports_already_following_and_likes_are_written(
    world: SimWorld, soundcloud: SoundCloudConnector
) -> None:
    tokens = fan(world)
    artist = world.state.catalog.artists["nova"].ids["soundcloud"]
    first = await soundcloud.follow_artists(tokens, artist_ids=[artist])
    second = await soundcloud.follow_artists(tokens, artist_ids=[f"soundcloud:users:{artist}"])
    assert first.already_done == ()
    assert second.already_done == (f"soundcloud:users:{artist}",)
    glass = world.album("glass")
    await soundcloud.save_release(
        tokens,
        album_id=glass.ids["soundcloud"],
        track_ids=[t.ids["soundcloud"] for t in glass.tracks],
    )
    await soundcloud.follow_playlist(tokens, playlist_id=playlist_urn(world, "ember"))
    counts = world.state.ledger.outcomes(service="soundcloud")
    assert counts == {"added": 1 + 1 + 3 + 1, "already": 1}
    assert len(world.state.ledger.query(action="like_track")) == 3


async def test_typed_errors(world: SimWorld, soundcloud: SoundCloudConnector) -> None:
    tokens = fan(world)
    with pytest.raises(NotFound):
        await soundcloud.save_release(tokens, album_id=world.album("tide").ids["soundcloud"])
    world.advance(3601)
    with pytest.raises(AccessTokenExpired):
        await soundcloud.follow_playlist(tokens, playlist_id=playlist_urn(world, "glass"))
    world.state.set_faults("soundcloud", burst_429=1)
    with pytest.raises(RateLimited):
        await soundcloud.search(title="x", artists=[])
    world.state.clear_faults()
    world.state.set_faults("soundcloud", error_rate=1.0, error_status=500)
    with pytest.raises(Transient):
        await soundcloud.current_user(fan(world, user="fan-2"))
    assert world.state.ledger.entries == []


async def test_no_soundcloud_token_leaks(
    world: SimWorld, soundcloud: SoundCloudConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = fan(world)
    world.state.revoke_user("soundcloud", "fan-1")
    errors: list[ConnectorError] = []
    for call in (lambda: soundcloud.current_user(tokens), lambda: soundcloud.refresh(tokens)):
        with pytest.raises(ConnectorError) as caught:
            await call()
        errors.append(caught.value)
    texts = [str(e) for e in errors] + [r.getMessage() for r in caplog.records]
    for secret in (tokens.access_token, tokens.refresh_token or "", "launchlink-demo-secret"):
        assert all(secret not in text for text in texts)


async def test_an_upcoming_set_resolves_from_its_link_once_it_is_public(
    world: SimWorld, soundcloud: SoundCloudConnector
) -> None:
    tide = world.album("tide")
    url = service_album_url(world.state.catalog, tide, "soundcloud")
    assert soundcloud.recognises_release_url(url)
    assert await soundcloud.lookup_url(url) is None  # scheduled sets stay private
    world.advance((RELEASE_DAY - world.clock.now()).total_seconds() + 1)
    found = await soundcloud.lookup_url(url)
    assert found is not None
    assert found.id == playlist_urn(world, "tide")
    assert len(found.tracks) == len(tide.tracks)


def test_only_track_and_set_links_are_release_links(soundcloud: SoundCloudConnector) -> None:
    assert soundcloud.recognises_release_url("https://soundcloud.com/nova-reed/sets/glass-harbour")
    assert soundcloud.recognises_release_url("https://m.soundcloud.com/nova-reed/glass-song-1")
    assert not soundcloud.recognises_release_url("https://soundcloud.com/nova-reed")
    assert not soundcloud.recognises_release_url("https://soundcloud.com/discover/sets/x")
    assert not soundcloud.recognises_release_url("https://evil.test/nova-reed/sets/x")
