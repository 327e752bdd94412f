"""TIDAL connector against the simulator: OAuth 2.1 + PKCE, JSON:API, Idempotency-Key."""

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
    NotAllowed,
    NotFound,
    RateLimited,
    Transient,
)
from launchlink.connectors.oauth import new_pkce_pair
from launchlink.connectors.tidal import TidalConnector, parse_tidal_url
from launchlink.connectors.tidal.connector import duration_ms
from tests.connectors.simworld import (
    PADDED_UPC,
    REDIRECT_URI,
    RELEASED_UPC,
    UPCOMING_UPC,
    SimWorld,
    make_world,
)

SCOPES = ["user.read", "collection.write", "playlists.write"]


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def tidal(world: SimWorld) -> AsyncIterator[TidalConnector]:
    connector = TidalConnector(world.settings.tidal, clock=world.clock, transport=world.transport)
    yield connector
    await connector.aclose()


def fan(world: SimWorld, user: str = "fan-1", scopes: list[str] | None = None) -> TokenSet:
    access, refresh = world.user_token("tidal", user, scopes or SCOPES)
    return TokenSet(access_token=access, refresh_token=refresh)


def tidal_id(world: SimWorld, key: str) -> str:
    return world.album(key).ids["tidal"]


async def test_oauth_with_pkce_then_the_current_user(
    world: SimWorld, tidal: TidalConnector
) -> None:
    world.state.set_consent_mode("tidal", "auto_approve", next_user="fan-oauth")
    pkce = new_pkce_pair()
    scopes = tidal.scopes_for([Capability.SAVE_RELEASE, Capability.FOLLOW_ARTIST])
    assert scopes == ["user.read", "collection.write"]
    url = tidal.authorization_url(
        state="s", code_challenge=pkce.challenge, redirect_uri=REDIRECT_URI, scopes=scopes
    )
    async with httpx.AsyncClient(transport=world.transport) as browser:
        redirect = await browser.get(url)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    tokens = await tidal.exchange_code(
        code=code, code_verifier=pkce.verifier, redirect_uri=REDIRECT_URI
    )
    account = await tidal.current_user(tokens)
    user = world.state.user("tidal", "fan-oauth")
    assert user is not None
    assert account.id == str(user.numeric_id)
    assert account.country == "US"
    refreshed = await tidal.refresh(tokens)
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token  # TIDAL keeps it [UNCERTAIN]


async def test_a_wrong_pkce_verifier_is_refused(world: SimWorld, tidal: TidalConnector) -> None:
    world.state.set_consent_mode("tidal", "auto_approve")
    url = tidal.authorization_url(
        state="s",
        code_challenge=new_pkce_pair().challenge,
        redirect_uri=REDIRECT_URI,
        scopes=SCOPES,
    )
    async with httpx.AsyncClient(transport=world.transport) as browser:
        redirect = await browser.get(url)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    with pytest.raises(AuthRevoked):
        await tidal.exchange_code(
            code=code, code_verifier=new_pkce_pair().verifier, redirect_uri=REDIRECT_URI
        )


async def test_a_release_is_found_by_barcode_with_artists_and_tracks(
    world: SimWorld, tidal: TidalConnector
) -> None:
    match = await tidal.find_release_by_upc("00" + RELEASED_UPC, country="GB")
    assert match is not None
    assert match.id == tidal_id(world, "glass")
    assert match.artists == ("Nova Reed",)
    assert match.upc == RELEASED_UPC
    assert [t.isrc for t in match.tracks] == [t.isrc for t in world.album("glass").tracks]
    assert match.tracks[0].duration_ms == world.album("glass").tracks[0].duration_ms
    assert match.url == f"https://tidal.com/browse/album/{match.id}"
    assert match.country == "GB"
    single = await tidal.find_release_by_upc(PADDED_UPC.lstrip("0"))
    assert single is not None
    assert single.is_single
    assert await tidal.find_release_by_upc(UPCOMING_UPC) is None


async def test_tracks_by_isrc_urls_and_search(world: SimWorld, tidal: TidalConnector) -> None:
    track = world.album("glass").tracks[1]
    match = await tidal.find_track_by_isrc(track.isrc)
    assert match is not None
    assert match.id == track.ids["tidal"]
    assert match.album_id == tidal_id(world, "glass")
    album = await tidal.lookup_url(f"https://listen.tidal.com/album/{tidal_id(world, 'glass')}")
    assert album is not None
    assert album.title == "Glass Harbour"
    found = await tidal.search(title="Glass Harbour", artists=["Nova Reed"])
    assert [m.id for m in found] == [tidal_id(world, "glass")]


def test_tidal_url_and_duration_parsing() -> None:
    assert parse_tidal_url("https://tidal.com/browse/track/123") == ("track", "123")
    assert parse_tidal_url("https://listen.tidal.com/album/1/track/2") == ("track", "2")
    assert parse_tidal_url("https://tidal.com.evil.test/album/1") is None
    assert duration_ms("PT1H2M3S") == 3_723_000
    assert duration_ms("PT3M") == 180_000
    assert duration_ms("bogus") is None


async def test_saving_sends_the_idempotency_key_and_a_replay_writes_nothing(
    world: SimWorld, tidal: TidalConnector
) -> None:
    tokens = fan(world)
    album = world.album("glass")
    tracks = [t.ids["tidal"] for t in album.tracks]
    await tidal.save_release(
        tokens, album_id=album.ids["tidal"], track_ids=tracks, idempotency_key="job-42"
    )
    await tidal.save_release(
        tokens, album_id=album.ids["tidal"], track_ids=tracks, idempotency_key="job-42"
    )
    entries = world.state.ledger.query(service="tidal")
    assert [(e.action, e.outcome) for e in entries] == [
        ("save_album", "added"),
        *[("save_track", "added")] * 3,
    ]
    assert {e.idempotency_key for e in entries} == {"job-42:Albums:0", "job-42:Tracks:0"}


async def test_artists_playlists_and_their_items(world: SimWorld, tidal: TidalConnector) -> None:
    tokens = fan(world)
    nova = world.state.catalog.artists["nova"].ids["tidal"]
    await tidal.follow_artists(tokens, artist_ids=[nova])
    created = await tidal.create_playlist(tokens, name="launchlink")
    assert created.created_id
    tracks = [t.ids["tidal"] for t in world.album("glass").tracks]
    await tidal.add_to_playlist(tokens, playlist_id=created.created_id, track_ids=tracks)
    await tidal.follow_playlist(tokens, playlist_id=created.created_id)
    actions = [e.action for e in world.state.ledger.query(service="tidal")]
    assert actions[0] == "follow_artist"
    assert actions.count("playlist_add") == 3
    assert actions[-1] == "follow_playlist"


async def test_typed_errors(world: SimWorld, tidal: TidalConnector) -> None:
    album_id = tidal_id(world, "glass")
    with pytest.raises(NotAllowed) as no_scope:
        await tidal.save_release(fan(world, scopes=["user.read"]), album_id=album_id)
    assert no_scope.value.reason == "insufficient_scope"
    with pytest.raises(NotFound):
        await tidal.save_release(fan(world), album_id=tidal_id(world, "tide"))
    tokens = fan(world, user="fan-2")
    world.advance(3601)
    with pytest.raises(AccessTokenExpired):
        await tidal.save_release(tokens, album_id=album_id)
    world.state.revoke_user("tidal", "fan-2")
    with pytest.raises(AuthRevoked):
        await tidal.refresh(tokens)
    world.state.set_faults("tidal", burst_429=1)
    with pytest.raises(RateLimited) as limited:
        await tidal.find_release_by_upc(RELEASED_UPC)
    assert limited.value.retry_after is None
    world.state.clear_faults()
    world.state.set_faults("tidal", error_rate=1.0, error_status=503)
    with pytest.raises(Transient):
        await tidal.find_release_by_upc(RELEASED_UPC)
    assert world.state.ledger.entries == []


async def test_writes_without_a_key_are_not_retried_but_keyed_ones_are(world: SimWorld) -> None:
    settings = world.settings.tidal.model_copy(update={"max_retries": 2})
    connector = TidalConnector(settings, clock=world.clock, transport=world.transport)
    tokens = fan(world)
    counted: list[str] = []

    async def count(request: httpx.Request) -> None:
        if "userCollection" in request.url.path:
            counted.append(request.headers.get("idempotency-key", "-"))

    connector.client.http._client.event_hooks["request"].append(count)
    world.state.set_faults("tidal", error_rate=1.0, error_status=503)
    with pytest.raises(Transient):
        await connector.save_release(tokens, album_id=tidal_id(world, "glass"))
    with pytest.raises(Transient):
        await connector.save_release(tokens, album_id=tidal_id(world, "glass"), idempotency_key="k")
    assert counted == ["-", "k:Albums:0", "k:Albums:0", "k:Albums:0"]
    await connector.aclose()


async def test_no_tidal_token_leaks(
    world: SimWorld, tidal: TidalConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = fan(world)
    world.state.revoke_user("tidal", "fan-1")
    errors: list[ConnectorError] = []
    for call in (lambda: tidal.current_user(tokens), lambda: tidal.refresh(tokens)):
        with pytest.raises(ConnectorError) as caught:
            await call()
        errors.append(caught.value)
    texts = [str(e) for e in errors] + [r.getMessage() for r in caplog.records]
    for secret in (tokens.access_token, tokens.refresh_token or "", "launchlink-demo-secret"):
        assert all(secret not in text for text in texts)
