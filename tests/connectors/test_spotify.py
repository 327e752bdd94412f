"""Spotify connector against the simulator: lookups, actions, every typed error."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from launchlink.connectors.base import Capability, TokenSet, run_with_refresh
from launchlink.connectors.errors import (
    AccessTokenExpired,
    AuthRevoked,
    ConnectorError,
    NotAllowed,
    NotFound,
    NotSupported,
    RateLimited,
    Transient,
    Unavailable,
)
from launchlink.connectors.settings import SpotifySettings
from launchlink.connectors.spotify import SpotifyConnector, parse_spotify_url
from tests.connectors.simworld import (
    BIG_UPC,
    PADDED_UPC,
    RELEASED_UPC,
    UPCOMING_UPC,
    SimWorld,
    make_world,
)

ALL_WRITE_SCOPES = [
    "user-library-modify",
    "user-follow-modify",
    "playlist-modify-public",
    "playlist-modify-private",
    "user-library-read",
]


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def spotify(world: SimWorld) -> AsyncIterator[SpotifyConnector]:
    connector = SpotifyConnector(
        world.settings.spotify, clock=world.clock, transport=world.transport
    )
    yield connector
    await connector.aclose()


def fan(world: SimWorld, user: str = "fan-1", scopes: list[str] | None = None) -> TokenSet:
    access, refresh = world.user_token("spotify", user, scopes or ALL_WRITE_SCOPES)
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=world.clock.now() + timedelta(hours=1),
    )


def spotify_id(world: SimWorld, key: str) -> str:
    return world.album(key).ids["spotify"]


# -- lookups --------------------------------------------------------------------------------


async def test_a_release_is_found_by_upc_and_confirmed_on_the_full_album(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    match = await spotify.find_release_by_upc(RELEASED_UPC, country="US")
    assert match is not None
    assert match.id == spotify_id(world, "glass")
    assert match.uri == f"spotify:album:{match.id}"
    assert match.url == f"https://open.spotify.com/album/{match.id}"
    assert match.title == "Glass Harbour"
    assert match.artists == ("Nova Reed",)
    assert match.artist_ids == (world.state.catalog.artists["nova"].ids["spotify"],)
    assert match.upc == RELEASED_UPC
    assert match.track_count == 3
    assert [t.title for t in match.tracks] == ["Glass Song 1", "Glass Song 2", "Glass Song 3"]
    assert match.tracks[0].duration_ms == 181_000
    assert match.artwork_url
    assert not match.is_single


async def test_a_upc_stored_in_another_width_is_found_by_trying_the_padded_forms(
    spotify: SpotifyConnector,
) -> None:
    by_twelve_digits = await spotify.find_release_by_upc(PADDED_UPC.lstrip("0"), country="US")
    by_fourteen_digits = await spotify.find_release_by_upc("00" + RELEASED_UPC, country="US")
    assert by_twelve_digits is not None
    assert by_twelve_digits.title == "Ember Lines"
    assert by_twelve_digits.is_single
    assert by_fourteen_digits is not None
    assert by_fourteen_digits.title == "Glass Harbour"


async def test_an_unreleased_album_is_not_found_until_its_release_instant(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    assert await spotify.find_release_by_upc(UPCOMING_UPC, country="US") is None
    world.state.set_clock(world.album("tide").available_from)
    match = await spotify.find_release_by_upc(UPCOMING_UPC, country="US")
    assert match is not None
    assert match.title == "Night Tide"


async def test_every_track_page_of_a_long_album_is_read(spotify: SpotifyConnector) -> None:
    match = await spotify.find_release_by_upc(BIG_UPC, country="US")
    assert match is not None
    assert len(match.tracks) == 45
    assert len({t.id for t in match.tracks}) == 45


async def test_a_track_is_found_by_isrc(world: SimWorld, spotify: SpotifyConnector) -> None:
    track = world.album("glass").tracks[1]
    match = await spotify.find_track_by_isrc(track.isrc.lower(), country="US")
    assert match is not None
    assert match.id == track.ids["spotify"]
    assert match.isrc == track.isrc
    assert match.album_id == spotify_id(world, "glass")
    assert match.duration_ms == track.duration_ms
    assert await spotify.find_track_by_isrc("USXXX9999999", country="US") is None


async def test_urls_and_uris_are_parsed_then_looked_up(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    album_id = spotify_id(world, "glass")
    track_id = world.album("glass").tracks[0].ids["spotify"]
    album = await spotify.lookup_url(f"https://open.spotify.com/intl-de/album/{album_id}?si=x")
    track = await spotify.lookup_url(f"spotify:track:{track_id}")
    assert album is not None
    assert album.kind == "album"
    assert album.id == album_id
    assert track is not None
    assert track.kind == "track"
    assert track.id == track_id
    assert track.isrc == world.album("glass").tracks[0].isrc
    assert await spotify.lookup_url("https://evil.test/album/" + album_id) is None
    assert await spotify.lookup_url("https://open.spotify.com/album/" + "A" * 22) is None


def test_spotify_url_parsing_accepts_only_spotify_forms() -> None:
    assert parse_spotify_url("https://open.spotify.com/track/" + "a" * 22) == ("track", "a" * 22)
    assert parse_spotify_url("https://open.spotify.com.evil.test/track/" + "a" * 22) is None
    assert parse_spotify_url("https://spotify.link/abc") is None


async def test_search_finds_a_release_by_title_and_artist(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    found = await spotify.search(title="Glass Harbour", artists=["Nova Reed"], country="US")
    assert [m.id for m in found] == [spotify_id(world, "glass")]
    assert await spotify.search(title="No Such Record", artists=["Nobody"]) == []


# -- OAuth pieces ---------------------------------------------------------------------------


def test_scopes_are_the_fewest_for_the_actions_and_explained(spotify: SpotifyConnector) -> None:
    # user-library-read: fulfilment checks the library before repeating an interrupted save.
    assert spotify.scopes_for([Capability.SAVE_RELEASE]) == [
        "user-library-modify",
        "user-library-read",
    ]
    assert spotify.scopes_for([Capability.FOLLOW_ARTIST]) == ["user-follow-modify"]
    assert spotify.scopes_for([Capability.SAVE_RELEASE, Capability.FOLLOW_ARTIST]) == [
        "user-library-modify",
        "user-library-read",
        "user-follow-modify",
    ]
    assert spotify.scopes_for([Capability.LOOKUP_UPC]) == []
    assert "library" in spotify.describe_scope("user-library-modify")
    assert "twice" in spotify.describe_scope("user-library-read")


def test_no_action_asks_for_the_private_profile_scope(spotify: SpotifyConnector) -> None:
    # /me's country is the only thing user-read-private would add, and it is not used.
    everything = spotify.scopes_for(list(Capability))
    assert "user-read-private" not in everything
    assert "user-read-email" not in everything


async def test_the_current_user_prefers_account_id(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    world.state.create_user("spotify", "fan-1", display_name="Fan One", country="SE")
    account = await spotify.current_user(fan(world))
    user = world.state.user("spotify", "fan-1")
    assert user is not None
    assert account.id == f"acc{user.numeric_id}"
    assert account.display_name == "Fan One"
    # The country needs user-read-private, which launchlink does not ask for.
    assert account.country is None


async def test_development_mode_hides_the_country() -> None:
    world = make_world(spotify_mode="development")
    world.state.upsert_app("spotify", "launchlink-demo", allow_list=["fan-1"])
    connector = SpotifyConnector(
        world.settings.spotify.model_copy(update={"quota_mode": "development"}),
        clock=world.clock,
        transport=world.transport,
    )
    account = await connector.current_user(fan(world))
    assert connector.mode == "development"
    assert account.id is not None
    assert account.country is None


# -- actions and the ledger -------------------------------------------------------------------


async def test_saving_a_release_writes_album_and_tracks_once_each(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    album = world.album("glass")
    tracks = [t.ids["spotify"] for t in album.tracks]
    result = await spotify.save_release(
        fan(world), album_id=album.ids["spotify"], track_ids=[*tracks, tracks[0]]
    )
    assert result.targets == (album.ids["spotify"], *tracks)
    assert result.requests == 1
    entries = world.state.ledger.query(service="spotify", user="fan-1")
    assert [(e.action, e.item, e.outcome) for e in entries] == [
        ("save_album", f"spotify:album:{album.ids['spotify']}", "added"),
        *[("save_track", f"spotify:track:{t}", "added") for t in tracks],
    ]


async def test_saving_again_is_success_and_the_ledger_says_already(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    tokens = fan(world)
    album_id = spotify_id(world, "glass")
    await spotify.save_release(tokens, album_id=album_id)
    await spotify.save_release(tokens, album_id=album_id)
    assert world.state.ledger.outcomes(service="spotify", action="save_album") == {
        "added": 1,
        "already": 1,
    }


async def test_long_releases_are_saved_in_batches_of_forty(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    album = world.album("big")
    result = await spotify.save_release(
        fan(world),
        album_id=album.ids["spotify"],
        track_ids=[t.ids["spotify"] for t in album.tracks],
    )
    assert result.requests == 2  # 46 URIs
    assert len(world.state.ledger.query(service="spotify", outcome="added")) == 46


async def test_following_artists_and_a_playlist_is_recorded_once_each(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    tokens = fan(world)
    nova = world.state.catalog.artists["nova"].ids["spotify"]
    luma = world.state.catalog.artists["luma"].ids["spotify"]
    await spotify.follow_artists(tokens, artist_ids=[nova, luma])
    await spotify.follow_playlist(tokens, playlist_id="37i9dQZF1DXcBWIGoYBM5M")
    actions = [(e.action, e.item) for e in world.state.ledger.query(user="fan-1")]
    assert actions == [
        ("follow_artist", f"spotify:artist:{nova}"),
        ("follow_artist", f"spotify:artist:{luma}"),
        ("follow_playlist", "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"),
    ]


async def test_a_playlist_is_created_and_filled(world: SimWorld, spotify: SpotifyConnector) -> None:
    tokens = fan(world)
    created = await spotify.create_playlist(tokens, name="Release radar", public=False)
    assert created.created_id
    tracks = [t.ids["spotify"] for t in world.album("glass").tracks]
    added = await spotify.add_to_playlist(tokens, playlist_id=created.created_id, track_ids=tracks)
    assert added.targets == tuple(tracks)
    entries = world.state.ledger.query(action="playlist_add")
    assert [e.item for e in entries] == [f"spotify:track:{t}" for t in tracks]
    assert {e.detail for e in entries} == {f"spotify:playlist:{created.created_id}"}


async def test_extended_apps_can_use_the_legacy_endpoints(world: SimWorld) -> None:
    settings = world.settings.spotify.model_copy(update={"library_endpoints": "legacy"})
    connector = SpotifyConnector(settings, clock=world.clock, transport=world.transport)
    tokens = fan(world)
    album = world.album("glass")
    await connector.save_release(
        tokens, album_id=album.ids["spotify"], track_ids=[t.ids["spotify"] for t in album.tracks]
    )
    await connector.follow_artists(
        tokens, artist_ids=[world.state.catalog.artists["nova"].ids["spotify"]]
    )
    await connector.follow_playlist(tokens, playlist_id="37i9dQZF1DXcBWIGoYBM5M")
    counts = world.state.ledger.outcomes(service="spotify")
    assert counts == {"added": 6}
    assert {e.action for e in world.state.ledger.entries} == {
        "save_album",
        "save_track",
        "follow_artist",
        "follow_playlist",
    }


async def test_legacy_endpoints_on_a_development_app_are_reported_as_removed(
    world: SimWorld,
) -> None:
    world.state.upsert_app("spotify", "launchlink-demo", mode="development", allow_list=["fan-1"])
    settings = world.settings.spotify.model_copy(update={"library_endpoints": "legacy"})
    connector = SpotifyConnector(settings, clock=world.clock, transport=world.transport)
    with pytest.raises(NotAllowed) as caught:
        await connector.save_release(fan(world), album_id=spotify_id(world, "glass"))
    assert caught.value.reason == "endpoint_removed"
    assert world.state.ledger.entries == []


async def test_preadd_is_not_a_spotify_capability(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    assert Capability.PREADD not in spotify.capabilities
    with pytest.raises(NotSupported):
        await spotify.preadd(fan(world), album_id=spotify_id(world, "tide"))


# -- typed errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
async def test_a_fan_missing_from_the_development_allow_list_is_not_allowed(
    world: SimWorld, spotify: SpotifyConnector, as_json: bool
) -> None:
    world.state.upsert_app(
        "spotify",
        "launchlink-demo",
        mode="development",
        allow_list=["someone-else"],
        forbidden_as_json=as_json,
    )
    with pytest.raises(NotAllowed) as caught:
        await spotify.save_release(fan(world), album_id=spotify_id(world, "glass"))
    assert caught.value.reason == "user_not_registered"
    assert caught.value.status == 403
    assert world.state.ledger.entries == []


async def test_a_missing_scope_is_not_allowed(world: SimWorld, spotify: SpotifyConnector) -> None:
    tokens = fan(world, scopes=["user-library-modify"])
    with pytest.raises(NotAllowed) as caught:
        await spotify.follow_artists(
            tokens, artist_ids=[world.state.catalog.artists["nova"].ids["spotify"]]
        )
    assert caught.value.reason == "insufficient_scope"


async def test_saving_a_release_not_yet_out_is_not_found(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    with pytest.raises(NotFound):
        await spotify.save_release(fan(world), album_id=spotify_id(world, "tide"))
    assert world.state.ledger.entries == []


async def test_an_expired_access_token_is_refreshed_once_and_persisted_before_use(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    tokens = fan(world)
    world.advance(3601)
    with pytest.raises(AccessTokenExpired):
        await spotify.save_release(tokens, album_id=spotify_id(world, "glass"))
    persisted: list[TokenSet] = []

    async def persist(fresh: TokenSet) -> None:
        persisted.append(fresh)

    result = await run_with_refresh(
        spotify,
        tokens,
        lambda t: spotify.save_release(t, album_id=spotify_id(world, "glass")),
        persist=persist,
    )
    assert result.targets == (spotify_id(world, "glass"),)
    assert len(persisted) == 1
    assert persisted[0].access_token != tokens.access_token
    # A confidential client gets no new refresh token: the old one is kept.
    assert persisted[0].refresh_token == tokens.refresh_token
    assert world.state.ledger.outcomes(action="save_album") == {"added": 1}


async def test_a_rotated_refresh_token_replaces_the_old_one(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    world.state.upsert_app("spotify", "launchlink-demo", rotate_refresh_tokens=True)
    tokens = fan(world)
    fresh = await spotify.refresh(tokens)
    assert fresh.refresh_token
    assert fresh.refresh_token != tokens.refresh_token
    with pytest.raises(AuthRevoked):
        await spotify.refresh(tokens)  # the old one was single-use


async def test_a_revoked_grant_makes_refresh_fail_as_auth_revoked(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    tokens = fan(world)
    world.state.revoke_user("spotify", "fan-1")
    with pytest.raises(AccessTokenExpired):
        await spotify.current_user(tokens)
    with pytest.raises(AuthRevoked):
        await run_with_refresh(spotify, tokens, spotify.current_user, persist=_never_called)


async def _never_called(tokens: TokenSet) -> None:
    raise AssertionError("nothing to persist")


async def test_refresh_tokens_die_six_months_after_authorization(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    access, refresh = world.state.mint_user_token(
        "spotify",
        "launchlink-demo",
        "fan-1",
        ALL_WRITE_SCOPES,
        refresh_lifetime=timedelta(days=183),
    )
    assert refresh is not None
    world.advance(184 * 86400)
    with pytest.raises(AuthRevoked):
        await spotify.refresh(TokenSet(access_token=access.token, refresh_token=refresh.token))


@pytest.mark.parametrize(
    ("mode", "expected"), [("normal", 7.0), ("missing", None), ("huge", 86400.0)]
)
async def test_rate_limits_carry_retry_after_as_given(
    world: SimWorld, spotify: SpotifyConnector, mode: str, expected: float | None
) -> None:
    tokens = fan(world)
    world.state.set_faults("spotify", burst_429=1, retry_after_mode=mode, retry_after_seconds=7)
    with pytest.raises(RateLimited) as caught:
        await spotify.save_release(tokens, album_id=spotify_id(world, "glass"))
    assert caught.value.retry_after == expected
    assert world.state.ledger.entries == []
    # Not retried by the connector: the burst of one is used up, the next call succeeds.
    await spotify.save_release(tokens, album_id=spotify_id(world, "glass"))
    assert world.state.ledger.outcomes() == {"added": 1}


async def test_server_errors_are_transient_after_bounded_retries(
    world: SimWorld,
) -> None:
    settings = world.settings.spotify.model_copy(update={"max_retries": 1})
    connector = SpotifyConnector(settings, clock=world.clock, transport=world.transport)
    tokens = fan(world)
    world.state.set_faults("spotify", error_rate=1.0, error_status=503)
    with pytest.raises(Transient):
        await connector.save_release(tokens, album_id=spotify_id(world, "glass"))
    assert world.state.ledger.entries == []


async def test_the_app_token_is_rejected_with_a_wrong_secret(world: SimWorld) -> None:
    settings = world.settings.spotify.model_copy(
        update={"client_secret": SecretStr("wrong-secret-value")}
    )
    connector = SpotifyConnector(settings, clock=world.clock, transport=world.transport)
    with pytest.raises(NotAllowed) as caught:
        await connector.find_release_by_upc(RELEASED_UPC)
    assert caught.value.reason == "invalid_client"


async def test_a_bad_authorization_code_is_auth_revoked(spotify: SpotifyConnector) -> None:
    with pytest.raises(AuthRevoked):
        await spotify.exchange_code(
            code="code_not-a-real-code", code_verifier="v" * 43, redirect_uri="http://app.test/cb"
        )


async def test_a_connector_without_credentials_is_unavailable() -> None:
    connector = SpotifyConnector(SpotifySettings())
    assert not connector.available
    assert connector.unavailable_reason == (
        "Spotify client ID and client secret not configured (set "
        "LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_ID, LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_SECRET)"
    )
    with pytest.raises(Unavailable):
        await connector.find_release_by_upc(RELEASED_UPC)
    await connector.aclose()


async def test_no_token_appears_in_errors_or_logs(
    world: SimWorld, spotify: SpotifyConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = fan(world)
    secrets = [tokens.access_token, tokens.refresh_token or "", "launchlink-demo-secret"]
    errors: list[ConnectorError] = []
    world.advance(3601)
    for attempt in (
        lambda: spotify.save_release(tokens, album_id=spotify_id(world, "glass")),
        lambda: spotify.current_user(TokenSet(access_token=tokens.access_token + "x")),
    ):
        with pytest.raises(ConnectorError) as caught:
            await attempt()
        errors.append(caught.value)
    world.state.revoke_user("spotify", "fan-1")
    with pytest.raises(AuthRevoked) as revoked:
        await spotify.refresh(tokens)
    errors.append(revoked.value)
    world.state.set_faults("spotify", burst_429=1)
    with pytest.raises(RateLimited) as limited:
        await spotify.find_release_by_upc(RELEASED_UPC)
    errors.append(limited.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(tokens)]
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records
    for secret in secrets:
        assert all(secret not in text for text in texts)


async def test_the_fans_own_and_collaborative_playlists_are_listed_not_followed_ones(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    from launchlink.simulator.models import Playlist

    owner_tokens = fan(world, "stranger", [*ALL_WRITE_SCOPES, "playlist-read-private"])
    theirs = await spotify.create_playlist(owner_tokens, name="Someone else's", public=True)
    tokens = fan(world, "lister", [*ALL_WRITE_SCOPES, "playlist-read-private"])
    mine = await spotify.create_playlist(tokens, name="Road trip", public=False)
    album = world.album("glass")
    assert mine.created_id is not None
    assert theirs.created_id is not None
    await spotify.add_to_playlist(
        tokens, playlist_id=mine.created_id, track_ids=[album.tracks[0].ids["spotify"]]
    )
    shared_id = "5sharedPlaylist0000000"
    world.state.playlists[("spotify", shared_id)] = Playlist(
        service="spotify",
        playlist_id=shared_id,
        owner_id="stranger",
        name="Band",
        collaborative=True,
    )
    await spotify.follow_playlist(tokens, playlist_id=shared_id)
    await spotify.follow_playlist(tokens, playlist_id=theirs.created_id)

    listed = await spotify.list_playlists(tokens)

    assert [(p.id, p.name, p.owned, p.track_count) for p in listed] == [
        (mine.created_id, "Road trip", True, 1),
        (shared_id, "Band", False, 0),
    ]


async def test_listing_playlists_needs_the_read_scope(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    with pytest.raises(NotAllowed):
        await spotify.list_playlists(fan(world, "no-read"))


async def test_listing_playlists_pages_through_the_fans_list(
    world: SimWorld, spotify: SpotifyConnector
) -> None:
    tokens = fan(world, "collector", [*ALL_WRITE_SCOPES, "playlist-read-private"])
    for number in range(53):
        await spotify.create_playlist(tokens, name=f"Mix {number}")
    listed = await spotify.list_playlists(tokens, limit=52)
    assert [p.name for p in listed] == [f"Mix {n}" for n in range(52)]


def test_the_playlist_read_scope_is_asked_only_when_the_fan_picks_a_playlist(
    spotify: SpotifyConnector,
) -> None:
    assert spotify.scopes_for([Capability.PLAYLIST_ADD]) == ["playlist-modify-private"]
    assert spotify.scopes_for([Capability.PLAYLIST_ADD, Capability.PLAYLIST_READ]) == [
        "playlist-modify-public",
        "playlist-modify-private",
        "playlist-read-private",
    ]


class RecordingTransport(httpx.AsyncBaseTransport):
    """The simulator's transport, noting each request's method and path (what was called)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)


async def test_extended_apps_follow_artists_with_the_documented_following_endpoint(
    world: SimWorld,
) -> None:
    recorder = RecordingTransport(world.transport)
    connector = SpotifyConnector(world.settings.spotify, clock=world.clock, transport=recorder)
    nova = world.state.catalog.artists["nova"].ids["spotify"]
    await connector.follow_artists(fan(world), artist_ids=[nova])
    assert ("PUT", "/spotify/api/v1/me/following") in recorder.calls
    assert ("PUT", "/spotify/api/v1/me/library") not in recorder.calls
    followed = world.state.ledger.query(user="fan-1", action="follow_artist")
    assert [e.item for e in followed] == [f"spotify:artist:{nova}"]
    await connector.aclose()


async def test_development_apps_follow_artists_through_the_library_endpoint() -> None:
    world = make_world(spotify_mode="development")
    world.state.upsert_app("spotify", "launchlink-demo", allow_list=["fan-1"])
    recorder = RecordingTransport(world.transport)
    connector = SpotifyConnector(
        world.settings.spotify.model_copy(update={"quota_mode": "development"}),
        clock=world.clock,
        transport=recorder,
    )
    nova = world.state.catalog.artists["nova"].ids["spotify"]
    await connector.follow_artists(fan(world), artist_ids=[nova])
    assert ("PUT", "/spotify/api/v1/me/library") in recorder.calls
    assert ("PUT", "/spotify/api/v1/me/following") not in recorder.calls
    followed = world.state.ledger.query(user="fan-1", action="follow_artist")
    assert [e.item for e in followed] == [f"spotify:artist:{nova}"]
    await connector.aclose()
