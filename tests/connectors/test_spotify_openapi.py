"""Every request the Spotify connector sends and every response it gets, checked against
Spotify's OpenAPI document (``launchlink.simulator.openapi_validation``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest

from launchlink.connectors.base import TokenSet
from launchlink.connectors.errors import ConnectorError
from launchlink.connectors.spotify import SpotifyConnector
from launchlink.simulator.models import Playlist
from launchlink.simulator.openapi_validation import ContractViolation, SpotifyContract
from tests.connectors.simworld import BIG_UPC, RELEASED_UPC, SimWorld, make_world

API_PREFIX = "/spotify/api/v1/"
# Deviations of the simulator from the document, reported in
# /tmp/launchlink-notes/simulator-issues.md; they are the simulator's, not the connector's.
KNOWN_SIMULATOR_DEVIATIONS = ("POST /spotify/api/v1/me/playlists -> 201: response 201: items:",)


@dataclass
class ContractCheckingTransport(httpx.AsyncBaseTransport):
    """Passes traffic to the simulator and validates each Web API exchange on the way."""

    inner: httpx.AsyncBaseTransport
    contract: SpotifyContract
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        response = await self.inner.handle_async_request(request)
        if API_PREFIX not in request.url.path:
            return response  # accounts (OAuth) endpoints are not in the Web API document
        content = await response.aread()
        where = f"{request.method} {request.url.path}"
        try:
            self.contract.validate_request(
                request.method,
                str(request.url),
                body=body or None,
                content_type=request.headers.get("content-type"),
            )
            self.contract.validate_response(
                request.method,
                str(request.url),
                response.status_code,
                body=content,
                content_type=response.headers.get("content-type"),
            )
        except ContractViolation as violation:
            problem = f"{where} -> {response.status_code}: {violation}"
            if not problem.startswith(KNOWN_SIMULATOR_DEVIATIONS):
                self.problems.append(problem)
        self.checked.append(f"{where} {response.status_code}")
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


def connector_for(
    world: SimWorld, transport: httpx.AsyncBaseTransport, **changes: object
) -> SpotifyConnector:
    settings = world.settings.spotify.model_copy(update=changes)
    return SpotifyConnector(settings, clock=world.clock, transport=transport)


async def exercise_everything(
    world: SimWorld, connector: SpotifyConnector, *, create_playlist: bool = True
) -> None:
    access, _ = world.user_token(
        "spotify",
        "fan-1",
        [
            "user-library-modify",
            "user-library-read",
            "user-follow-modify",
            "playlist-modify-public",
            "playlist-modify-private",
            "user-read-private",
        ],
    )
    tokens = TokenSet(access_token=access)
    glass = world.album("glass")
    album_id = glass.ids["spotify"]
    track_ids = [t.ids["spotify"] for t in glass.tracks]
    artist_id = world.state.catalog.artists["nova"].ids["spotify"]

    assert await connector.find_release_by_upc(RELEASED_UPC, country="US")
    assert await connector.find_release_by_upc(BIG_UPC, country="US")
    assert await connector.find_track_by_isrc(glass.tracks[0].isrc, country="US")
    assert await connector.lookup_url(f"https://open.spotify.com/album/{album_id}")
    assert await connector.lookup_url(f"spotify:track:{track_ids[0]}")
    assert await connector.search(title="Glass Harbour", artists=["Nova Reed"], country="US")
    assert await connector.current_user(tokens)
    await connector.save_release(tokens, album_id=album_id, track_ids=track_ids)
    await connector.follow_artists(tokens, artist_ids=[artist_id])
    await connector.follow_playlist(tokens, playlist_id="37i9dQZF1DXcBWIGoYBM5M")
    if create_playlist:
        created = await connector.create_playlist(tokens, name="Pre-saves", description="x")
        assert created.created_id
        playlist_id = created.created_id
    else:
        playlist_id = "3cEYpjA9oz9GiPac4AsH4n"
        world.state.playlists[("spotify", playlist_id)] = Playlist(
            service="spotify", playlist_id=playlist_id, owner_id="fan-1", name="Pre-saves"
        )
    await connector.add_to_playlist(tokens, playlist_id=playlist_id, track_ids=track_ids)
    assert await connector.library_contains(tokens, [f"spotify:album:{album_id}"]) == [True]
    # Error responses are part of the contract too.
    world.state.set_faults("spotify", burst_429=1)
    with pytest.raises(ConnectorError):
        await connector.save_release(tokens, album_id=album_id)
    with pytest.raises(ConnectorError):
        await connector.current_user(TokenSet(access_token="expired-or-unknown"))


async def test_the_simulator_sees_only_valid_spotify_requests() -> None:
    # The simulator's own validating middleware, as a second opinion on the same traffic.
    world = make_world(validate_spotify_openapi=True)
    connector = connector_for(world, world.transport)
    await exercise_everything(world, connector, create_playlist=False)
    await connector.aclose()
    assert world.state.contract_violations == []
    assert world.state.ledger.entries


async def test_every_spotify_exchange_matches_the_openapi_document() -> None:
    world = make_world()
    transport = ContractCheckingTransport(world.transport, SpotifyContract.load())
    connector = connector_for(world, transport)
    await exercise_everything(world, connector)
    await connector.aclose()
    operations = {" ".join(line.split()[:2]) for line in transport.checked}
    operations = {
        op if "/albums/" not in op else op.rsplit("/", 1)[0] + "/{id}" for op in operations
    }
    operations = {
        op if "/tracks/" not in op else op.rsplit("/", 1)[0] + "/{id}" for op in operations
    }
    assert {
        "GET /spotify/api/v1/search",
        "GET /spotify/api/v1/albums/{id}",
        "GET /spotify/api/v1/tracks/{id}",
        "GET /spotify/api/v1/me",
        "PUT /spotify/api/v1/me/library",
        "GET /spotify/api/v1/me/library/contains",
        "POST /spotify/api/v1/me/playlists",
    } <= operations
    assert any(line.endswith(" 429") for line in transport.checked)
    assert any(line.endswith(" 401") for line in transport.checked)
    assert transport.problems == []


async def test_the_legacy_endpoints_match_the_openapi_document_too() -> None:
    world = make_world()
    transport = ContractCheckingTransport(world.transport, SpotifyContract.load())
    connector = connector_for(world, transport, library_endpoints="legacy")
    await exercise_everything(world, connector)
    await connector.aclose()
    assert any("/me/albums" in line for line in transport.checked)
    assert any("/me/following" in line for line in transport.checked)
    assert any("/followers" in line for line in transport.checked)
    assert transport.problems == []


async def test_a_development_mode_refusal_matches_the_document() -> None:
    world = make_world(spotify_mode="development", validate_spotify_openapi=True)
    transport = ContractCheckingTransport(world.transport, SpotifyContract.load())
    connector = connector_for(world, transport, quota_mode="development")
    access, _ = world.user_token("spotify", "stranger", ["user-library-modify"])
    with pytest.raises(ConnectorError):
        await connector.save_release(
            TokenSet(access_token=access), album_id=world.album("glass").ids["spotify"]
        )
    await connector.aclose()
    assert transport.checked == [
        "PUT /spotify/api/v1/me/library 403",
    ]
    assert transport.problems == []
