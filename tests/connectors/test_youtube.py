"""YouTube connector against the simulator: Google OAuth, subscribe, like, playlists, quota."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
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
    NotSupported,
    RateLimited,
    Transient,
)
from launchlink.connectors.oauth import new_pkce_pair
from launchlink.connectors.youtube import YouTubeConnector
from launchlink.connectors.youtube.connector import SCOPE
from launchlink.simulator.catalog import Album, Track, service_album_url, service_track_url
from tests.connectors.simworld import REDIRECT_URI, RELEASE_DAY, SimWorld, make_world, upc


@pytest.fixture
def world() -> SimWorld:
    return make_world()


@pytest.fixture
async def youtube(world: SimWorld) -> AsyncIterator[YouTubeConnector]:
    connector = YouTubeConnector(
        world.settings.youtube, clock=world.clock, transport=world.transport
    )
    yield connector
    await connector.aclose()


def fan(world: SimWorld, user: str = "fan-1", scopes: list[str] | None = None) -> TokenSet:
    access, refresh = world.user_token("youtube", user, [SCOPE] if scopes is None else scopes)
    return TokenSet(access_token=access, refresh_token=refresh)


def channel(world: SimWorld, key: str = "nova") -> str:
    return world.state.catalog.artists[key].ids["youtube"]


async def test_offline_google_oauth_keeps_the_refresh_token(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    world.state.set_consent_mode("youtube", "auto_approve", next_user="fan-oauth")
    pkce = new_pkce_pair()
    scopes = youtube.scopes_for([Capability.FOLLOW_ARTIST])
    assert scopes == [SCOPE]
    url = youtube.authorization_url(
        state="s", code_challenge=pkce.challenge, redirect_uri=REDIRECT_URI, scopes=scopes
    )
    assert "access_type=offline" in url
    async with httpx.AsyncClient(transport=world.transport) as browser:
        redirect = await browser.get(url)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    tokens = await youtube.exchange_code(
        code=code, code_verifier=pkce.verifier, redirect_uri=REDIRECT_URI
    )
    assert tokens.refresh_token
    fresh = await youtube.refresh(tokens)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token == tokens.refresh_token
    account = await youtube.current_user(fresh)
    assert account.id


async def test_subscribing_twice_is_success_and_the_ledger_says_already(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    tokens = fan(world)
    first = await youtube.follow_artists(tokens, artist_ids=[channel(world)])
    second = await youtube.follow_artists(tokens, artist_ids=[channel(world)])
    assert first.already_done == ()
    assert second.already_done == (channel(world),)
    assert world.state.ledger.outcomes(service="youtube", action="subscribe") == {
        "added": 1,
        "already": 1,
    }


async def test_saving_a_release_likes_its_tracks_and_skips_the_album(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    glass = world.album("glass")
    videos = [t.ids["youtube"] for t in glass.tracks]
    result = await youtube.save_release(fan(world), album_id=glass.ids["youtube"], track_ids=videos)
    assert result.targets == tuple(videos)
    assert result.skipped == (glass.ids["youtube"],)
    assert [e.item for e in world.state.ledger.query(service="youtube")] == videos
    with pytest.raises(NotSupported):
        await youtube.save_release(fan(world), album_id=glass.ids["youtube"])


async def test_playlists_are_created_and_filled(world: SimWorld, youtube: YouTubeConnector) -> None:
    tokens = fan(world)
    created = await youtube.create_playlist(tokens, name="launchlink")
    assert created.created_id
    videos = [t.ids["youtube"] for t in world.album("glass").tracks]
    await youtube.add_to_playlist(tokens, playlist_id=created.created_id, track_ids=videos)
    assert len(world.state.ledger.query(service="youtube", action="playlist_add")) == 3
    with pytest.raises(NotFound):
        await youtube.add_to_playlist(tokens, playlist_id="PLmissing000", track_ids=videos[:1])


async def test_search_finds_the_album_playlist_and_videos(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    found = await youtube.search(title="Glass Harbour", artists=[])
    assert world.album("glass").ids["youtube"] in [m.id for m in found if m.kind == "album"]
    assert youtube.quota.remaining("search") == world.settings.youtube.daily_search_calls - 1


async def test_the_connector_stops_before_the_daily_budget(world: SimWorld) -> None:
    settings = world.settings.youtube.model_copy(update={"daily_quota_units": 120})
    connector = YouTubeConnector(settings, clock=world.clock, transport=world.transport)
    tokens = fan(world)
    videos = [t.ids["youtube"] for t in world.album("glass").tracks]
    with pytest.raises(RateLimited) as refused:
        await connector.save_release(tokens, album_id="", track_ids=videos)
    assert refused.value.retry_after is not None
    assert refused.value.retry_after > 0
    assert refused.value.status is None  # refused locally, never sent
    assert len(world.state.ledger.query(service="youtube")) == 2
    await connector.aclose()


async def test_the_services_own_quota_error_is_rate_limited(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    world.state.upsert_app("youtube", "launchlink-demo", daily_quota=60)
    tokens = fan(world)
    await youtube.follow_artists(tokens, artist_ids=[channel(world)])
    with pytest.raises(RateLimited) as limited:
        await youtube.follow_artists(tokens, artist_ids=[channel(world, "luma")])
    assert limited.value.status == 403


async def test_typed_errors(world: SimWorld, youtube: YouTubeConnector) -> None:
    with pytest.raises(NotAllowed) as no_scope:
        await youtube.follow_artists(fan(world, scopes=[]), artist_ids=[channel(world)])
    assert no_scope.value.reason == "insufficient_scope"
    tokens = fan(world, user="fan-2")
    world.advance(3600)
    with pytest.raises(AccessTokenExpired):
        await youtube.follow_artists(tokens, artist_ids=[channel(world)])
    world.state.revoke_user("youtube", "fan-2")
    with pytest.raises(AuthRevoked):
        await youtube.refresh(tokens)
    world.state.set_faults("youtube", error_rate=1.0, error_status=503)
    with pytest.raises(Transient):
        await youtube.current_user(fan(world, user="fan-3"))
    assert world.state.ledger.entries == []


async def test_no_youtube_token_or_key_leaks(
    world: SimWorld, youtube: YouTubeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = fan(world)
    await youtube.search(title="Glass", artists=[])
    world.state.revoke_user("youtube", "fan-1")
    with pytest.raises(ConnectorError) as caught:
        await youtube.refresh(tokens)
    texts = [str(caught.value), *(r.getMessage() for r in caplog.records)]
    assert any("key=" in text for text in texts), "the API key parameter was logged, redacted"
    assert all("key=launchlink-demo" not in text for text in texts)
    for secret in (tokens.access_token, tokens.refresh_token or "", "launchlink-demo-secret"):
        assert all(secret not in text for text in texts)


# -- finding a release from its link ---------------------------------------------------------


async def test_an_album_link_resolves_to_its_playlist_and_track_videos(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    glass = world.album("glass")
    url = service_album_url(world.state.catalog, glass, "youtube")
    assert youtube.recognises_release_url(url)
    before = youtube.quota.remaining("units")
    found = await youtube.lookup_url(url)
    assert found is not None
    assert found.kind == "album"
    assert found.id == glass.ids["youtube"]
    assert [t.id for t in found.tracks] == [t.ids["youtube"] for t in glass.tracks]
    assert found.track_count == len(glass.tracks)
    assert before - youtube.quota.remaining("units") == 2  # playlists.list + playlistItems.list


async def test_a_long_album_playlist_is_read_page_by_page(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    # More tracks than playlistItems.list returns in one page (50).
    world.state.catalog.upsert_album(
        Album(
            key="marathon",
            title="Marathon Sessions",
            artist_keys=("luma",),
            upc=upc("88888888877"),
            release_date=date(2026, 1, 9),
            available_from=datetime(2026, 1, 9, tzinfo=UTC),
            tracks=[
                Track(
                    key=f"marathon-t{n}",
                    title=f"Part {n}",
                    isrc=f"USLL1{2640000 + n:07d}",
                    duration_ms=120_000,
                    track_number=n,
                    artist_keys=("luma",),
                )
                for n in range(1, 61)
            ],
        )
    )
    marathon = world.album("marathon")
    found = await youtube.lookup_url(service_album_url(world.state.catalog, marathon, "youtube"))
    assert found is not None
    assert [t.id for t in found.tracks] == [t.ids["youtube"] for t in marathon.tracks]


async def test_an_album_that_is_not_out_yet_is_not_found_until_release(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    tide = world.album("tide")
    url = service_album_url(world.state.catalog, tide, "youtube")
    assert await youtube.lookup_url(url) is None
    world.advance((RELEASE_DAY - world.clock.now()).total_seconds() + 1)
    found = await youtube.lookup_url(url)
    assert found is not None
    assert len(found.tracks) == len(tide.tracks)


async def test_a_single_found_from_its_video_is_liked_not_skipped(
    world: SimWorld, youtube: YouTubeConnector
) -> None:
    ember = world.album("ember")
    url = service_track_url(world.state.catalog, ember.tracks[0], ember, "youtube")
    found = await youtube.lookup_url(url)
    assert found is not None
    assert found.kind == "track"
    video = ember.tracks[0].ids["youtube"]
    result = await youtube.save_release(fan(world), album_id=found.id, track_ids=[video])
    assert result.targets == (video,)
    assert result.skipped == ()
    assert [e.item for e in world.state.ledger.query(service="youtube")] == [video]


async def test_without_an_api_key_youtube_cannot_look_releases_up_and_says_what_to_set(
    world: SimWorld,
) -> None:
    settings = world.settings.youtube.model_copy(update={"api_key": None})
    connector = YouTubeConnector(settings, clock=world.clock, transport=world.transport)
    assert connector.available  # fans can still sign in, but a release cannot be found
    assert Capability.LOOKUP_URL not in connector.capabilities
    gap = connector.capability_gap(Capability.LOOKUP_URL)
    assert gap is not None
    assert "LAUNCHLINK_CONNECTORS__YOUTUBE__API_KEY" in gap
    with pytest.raises(NotSupported):
        await connector.lookup_url("https://music.youtube.com/watch?v=aaaaaaaaaaa")
    await connector.aclose()


def test_only_video_and_playlist_links_are_release_links(youtube: YouTubeConnector) -> None:
    assert youtube.recognises_release_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert youtube.recognises_release_url("https://youtu.be/dQw4w9WgXcQ")
    assert youtube.recognises_release_url("https://music.youtube.com/playlist?list=OLAK5uy_abc123")
    assert not youtube.recognises_release_url("https://www.youtube.com/@novareed")
    assert not youtube.recognises_release_url("https://evil.test/watch?v=dQw4w9WgXcQ")
