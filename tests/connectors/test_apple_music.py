"""Apple Music connector against the simulator: developer token, lookups, library, errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from launchlink.connectors.apple_music import AppleMusicConnector, parse_apple_url
from launchlink.connectors.apple_music.client import MAX_DEVELOPER_TOKEN_SECONDS
from launchlink.connectors.base import Capability, TokenSet
from launchlink.connectors.errors import (
    AuthRevoked,
    ConnectorError,
    NotAllowed,
    NotSupported,
    RateLimited,
    Transient,
    Unavailable,
)
from launchlink.connectors.settings import AppleMusicSettings
from tests.connectors.simworld import (
    PADDED_UPC,
    RELEASED_UPC,
    UPCOMING_UPC,
    SimWorld,
    apple_key_pair,
    make_world,
)


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def apple(world: SimWorld) -> AsyncIterator[AppleMusicConnector]:
    connector = AppleMusicConnector(
        world.settings.apple_music, clock=world.clock, transport=world.transport
    )
    yield connector
    await connector.aclose()


def fan(world: SimWorld, user: str = "fan-1", country: str = "US") -> TokenSet:
    return TokenSet(access_token=world.state.issue_music_user_token(user, country=country))


def apple_id(world: SimWorld, key: str) -> str:
    return world.album(key).ids["apple"]


def test_the_developer_token_is_an_es256_jwt_within_apple_limits(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    token = apple.developer_token()
    _, public_pem = apple_key_pair()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, public_pem, algorithms=["ES256"], options={"verify_exp": False})
    assert header["alg"] == "ES256"
    assert header["kid"] == world.settings.apple_music.key_id
    assert claims["iss"] == world.settings.apple_music.team_id
    assert claims["iat"] == int(world.clock.now().timestamp())
    assert 0 < claims["exp"] - claims["iat"] <= MAX_DEVELOPER_TOKEN_SECONDS


def test_the_developer_token_is_cached_then_renewed_before_expiry(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    first = apple.developer_token()
    world.advance(3600)
    assert apple.developer_token() == first
    world.advance(world.settings.apple_music.developer_token_ttl_seconds * 0.95)
    renewed = apple.developer_token()
    assert renewed != first
    claims = jwt.decode(renewed, options={"verify_signature": False})
    assert claims["exp"] > world.clock.now().timestamp()


async def test_apple_has_no_oauth(apple: AppleMusicConnector) -> None:
    assert Capability.OAUTH not in apple.capabilities
    with pytest.raises(NotSupported):
        apple.authorization_url(state="s", code_challenge="c", redirect_uri="r", scopes=[])
    with pytest.raises(NotSupported):
        await apple.refresh(TokenSet(access_token="mut"))
    assert apple.scopes_for([Capability.SAVE_RELEASE]) == []


async def test_a_release_is_found_by_upc_in_the_storefront(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    match = await apple.find_release_by_upc(RELEASED_UPC, country="GB")
    assert match is not None
    assert match.id == apple_id(world, "glass")
    assert match.title == "Glass Harbour"
    assert match.artists == ("Nova Reed",)
    assert match.artist_ids == (world.state.catalog.artists["nova"].ids["apple"],)
    assert match.url is not None
    assert "/gb/" in match.url
    assert match.track_count == 3
    assert match.artwork_url is not None
    assert "{w}" not in match.artwork_url
    assert match.country == "GB"
    assert not match.is_preorder


async def test_a_upc_in_another_width_is_found(apple: AppleMusicConnector) -> None:
    match = await apple.find_release_by_upc(PADDED_UPC.lstrip("0"))
    assert match is not None
    assert match.title == "Ember Lines"
    assert match.is_single


async def test_a_preorder_album_is_visible_and_marked(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    match = await apple.find_release_by_upc(UPCOMING_UPC, country="US")
    assert match is not None
    assert match.id == apple_id(world, "tide")
    assert match.is_preorder


async def test_a_song_is_found_by_isrc_with_its_album(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    track = world.album("glass").tracks[2]
    match = await apple.find_track_by_isrc(track.isrc)
    assert match is not None
    assert match.id == track.ids["apple"]
    assert match.album_id == apple_id(world, "glass")
    assert match.duration_ms == track.duration_ms
    assert await apple.find_track_by_isrc("USXXX0000000") is None


async def test_apple_urls_are_parsed_then_looked_up(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    album_id = apple_id(world, "glass")
    track_id = world.album("glass").tracks[0].ids["apple"]
    album = await apple.lookup_url(f"https://music.apple.com/gb/album/glass-harbour/{album_id}")
    track = await apple.lookup_url(
        f"https://music.apple.com/us/album/glass-harbour/{album_id}?i={track_id}"
    )
    assert album is not None
    assert album.id == album_id
    assert album.country == "GB"
    assert track is not None
    assert track.kind == "track"
    assert track.id == track_id
    assert (
        await apple.lookup_url(f"https://music.apple.com.evil.test/us/album/x/{album_id}") is None
    )


def test_apple_url_parsing() -> None:
    assert parse_apple_url("https://music.apple.com/de/song/x/123") == ("track", "123", "de")
    assert parse_apple_url("https://itunes.apple.com/us/album/id456") == ("album", "456", "us")
    assert parse_apple_url("https://music.apple.com/us/artist/x/1") is None


async def test_search_finds_albums(world: SimWorld, apple: AppleMusicConnector) -> None:
    found = await apple.search(title="Glass Harbour", artists=["Nova Reed"])
    assert [m.id for m in found] == [apple_id(world, "glass")]


async def test_the_current_user_is_the_storefront(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    account = await apple.current_user(fan(world, country="GB"))
    assert account.id is None
    assert account.country == "GB"


async def test_saving_a_release_is_accepted_but_unconfirmed(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    album = world.album("glass")
    songs = [t.ids["apple"] for t in album.tracks]
    result = await apple.save_release(fan(world), album_id=album.ids["apple"], track_ids=songs)
    assert not result.confirmed
    assert result.requests == 1
    entries = world.state.ledger.query(service="apple", user="fan-1")
    assert [(e.action, e.item, e.outcome) for e in entries] == [
        ("save_album", f"albums:{album.ids['apple']}", "added"),
        *[("save_track", f"songs:{s}", "added") for s in songs],
    ]


async def test_unknown_ids_are_silently_ignored_like_apple_does(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    result = await apple.save_release(fan(world), album_id="1999999999")
    assert not result.confirmed
    assert world.state.ledger.entries == []


async def test_a_preadd_is_pending_until_release_then_materialises(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    tokens = fan(world)
    album_id = apple_id(world, "tide")
    result = await apple.preadd(tokens, album_id=album_id)
    assert result.action is Capability.PREADD
    assert world.state.ledger.outcomes(service="apple") == {"pending": 1}
    world.state.set_clock(world.album("tide").available_from + timedelta(minutes=1))
    await apple.current_user(tokens)  # any /me call lets the simulator settle pre-adds
    assert world.state.ledger.outcomes(service="apple", action="save_album") == {
        "pending": 1,
        "added": 1,
    }


async def test_artists_are_favourited_and_playlists_created_and_filled(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    tokens = fan(world)
    nova = world.state.catalog.artists["nova"].ids["apple"]
    await apple.follow_artists(tokens, artist_ids=[nova])
    created = await apple.create_playlist(tokens, name="launchlink")
    assert created.created_id
    songs = [t.ids["apple"] for t in world.album("glass").tracks]
    await apple.add_to_playlist(tokens, playlist_id=created.created_id, track_ids=songs)
    await apple.follow_playlist(tokens, playlist_id=created.created_id)
    actions = [(e.action, e.item) for e in world.state.ledger.query(service="apple")]
    assert actions == [
        ("favorite", f"artists:{nova}"),
        *[("playlist_add", f"songs:{s}") for s in songs],
        ("save_playlist", f"playlists:{created.created_id}"),
    ]


async def test_a_revoked_music_user_token_is_auth_revoked(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    tokens = fan(world)
    world.state.revoke_music_user_token(tokens.access_token)
    with pytest.raises(AuthRevoked):
        await apple.save_release(tokens, album_id=apple_id(world, "glass"))
    assert world.state.ledger.entries == []


async def test_a_developer_token_from_an_unknown_key_is_not_allowed(world: SimWorld) -> None:
    other_private, _ = apple_key_pair.__wrapped__()
    settings = world.settings.apple_music.model_copy(
        update={"private_key_pem": SecretStr(other_private)}
    )
    connector = AppleMusicConnector(settings, clock=world.clock, transport=world.transport)
    with pytest.raises(NotAllowed) as caught:
        await connector.find_release_by_upc(RELEASED_UPC)
    assert caught.value.reason == "developer_token_rejected"


async def test_rate_limits_and_outages_are_typed(
    world: SimWorld, apple: AppleMusicConnector
) -> None:
    world.state.set_faults("apple", burst_429=1)
    with pytest.raises(RateLimited) as limited:
        await apple.find_release_by_upc(RELEASED_UPC)
    assert limited.value.retry_after is None
    world.state.clear_faults("apple")
    world.state.set_faults("apple", error_rate=1.0, error_status=503)
    with pytest.raises(Transient):
        await apple.find_release_by_upc(RELEASED_UPC)


async def test_an_apple_connector_without_a_key_is_unavailable_and_says_what_to_set() -> None:
    connector = AppleMusicConnector(AppleMusicSettings(team_id="T", key_id="K"))
    assert not connector.available
    assert connector.unavailable_reason == (
        "Apple Music private key not configured (set "
        "LAUNCHLINK_CONNECTORS__APPLE_MUSIC__PRIVATE_KEY_PEM or "
        "LAUNCHLINK_CONNECTORS__APPLE_MUSIC__PRIVATE_KEY_PATH)"
    )
    with pytest.raises(Unavailable):
        connector.developer_token()
    await connector.aclose()


async def test_an_apple_key_that_cannot_sign_es256_makes_the_connector_unavailable() -> None:
    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    for pem in ("not a key at all", rsa_pem):
        connector = AppleMusicConnector(
            AppleMusicSettings(team_id="T", key_id="K", private_key_pem=SecretStr(pem))
        )
        assert not connector.available
        assert "is not a MusicKit key" in (connector.unavailable_reason or "")
        with pytest.raises(Unavailable):
            connector.developer_token()
        await connector.aclose()


async def test_an_unreadable_apple_key_file_names_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "AuthKey_K.p8"
    connector = AppleMusicConnector(
        AppleMusicSettings(team_id="T", key_id="K", private_key_path=missing)
    )
    assert not connector.available
    assert str(missing) in (connector.unavailable_reason or "")
    assert "LAUNCHLINK_CONNECTORS__APPLE_MUSIC__PRIVATE_KEY_PATH" in (
        connector.unavailable_reason or ""
    )
    await connector.aclose()


async def test_no_apple_token_leaks_into_errors_or_logs(
    world: SimWorld, apple: AppleMusicConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = fan(world)
    developer_token = apple.developer_token()
    world.state.revoke_music_user_token(tokens.access_token)
    with pytest.raises(ConnectorError) as caught:
        await apple.save_release(tokens, album_id=apple_id(world, "glass"))
    texts = [str(caught.value), repr(caught.value), *(r.getMessage() for r in caplog.records)]
    assert caplog.records
    for secret in (tokens.access_token, developer_token):
        assert all(secret not in text for text in texts)
