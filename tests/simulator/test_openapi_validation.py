"""The Spotify contract validator: it must catch wrong shapes, and the simulator must pass it."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from launchlink.simulator import SimulatorState
from launchlink.simulator.openapi_validation import (
    ContractViolation,
    SpotifyContract,
    SpotifyContractMiddleware,
)
from tests.simulator.conftest import ALBUM_UPC, TRACK_ISRC, Sim

API = "/spotify/api/v1"
CONTRACT = SpotifyContract.load()


def test_a_private_user_with_a_numeric_id_is_rejected() -> None:
    body = json.dumps({"id": 42, "type": "user", "uri": "spotify:user:x"})
    with pytest.raises(ContractViolation, match="id"):
        CONTRACT.validate_response("GET", "/v1/me", 200, body=body, content_type="application/json")


def test_an_album_without_its_required_fields_is_rejected() -> None:
    body = json.dumps({"id": "abc", "name": "Only a name"})
    with pytest.raises(ContractViolation):
        CONTRACT.validate_response(
            "GET",
            "https://api.spotify.com/v1/albums/abc",
            200,
            body=body,
            content_type="application/json",
        )


def test_library_400_must_be_the_bare_error_object() -> None:
    wrapped = json.dumps({"error": {"status": 400, "message": "too many"}})
    with pytest.raises(ContractViolation):
        CONTRACT.validate_response(
            "PUT", "/v1/me/library", 400, body=wrapped, content_type="application/json"
        )
    CONTRACT.validate_response(
        "PUT",
        "/v1/me/library",
        400,
        body=json.dumps({"status": 400, "message": "too many"}),
        content_type="application/json",
    )


def test_a_search_limit_above_ten_violates_the_contract() -> None:
    with pytest.raises(ContractViolation, match="maximum"):
        CONTRACT.validate_request(
            "GET", "/v1/search", query={"q": "x", "type": "album", "limit": "20"}
        )


def test_a_misspelled_query_parameter_violates_the_contract() -> None:
    with pytest.raises(ContractViolation, match="unknown query parameters"):
        CONTRACT.validate_request("PUT", "/v1/me/library", query={"uri": "spotify:album:x"})


def test_a_missing_required_parameter_violates_the_contract() -> None:
    with pytest.raises(ContractViolation, match="uris"):
        CONTRACT.validate_request("PUT", "/v1/me/library")


def test_strict_mode_requires_fields_dev_mode_drops() -> None:
    strict = SpotifyContract.load(strict=True)
    album = {
        "album_type": "album",
        "total_tracks": 0,
        "external_urls": {},
        "href": "h",
        "id": "i",
        "images": [],
        "name": "n",
        "release_date": "2026-01-01",
        "release_date_precision": "day",
        "type": "album",
        "uri": "spotify:album:i",
        "artists": [],
        "tracks": {
            "href": "h",
            "items": [],
            "limit": 50,
            "next": None,
            "offset": 0,
            "previous": None,
            "total": 0,
        },
        "copyrights": [],
        "external_ids": {},
        "genres": [],
    }
    body = json.dumps(album)
    CONTRACT.validate_response(
        "GET", "/v1/albums/i", 200, body=body, content_type="application/json"
    )
    with pytest.raises(ContractViolation, match=r"label|popularity|available_markets"):
        strict.validate_response(
            "GET", "/v1/albums/i", 200, body=body, content_type="application/json"
        )


async def test_the_middleware_turns_a_wrong_response_shape_into_a_500() -> None:
    async def wrong_me(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"id": 7, "display_name": ["not", "a", "string"]})(scope, receive, send)

    state = SimulatorState()
    app = SpotifyContractMiddleware(wrong_me, CONTRACT, state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/spotify/api/v1/me")
    assert response.status_code == 500
    assert "response GET /spotify/api/v1/me 200" in state.contract_violations[0]


async def test_the_simulators_spotify_answers_fit_the_contract(validating_sim: Sim) -> None:
    sim = validating_sim
    for mode, user in (("extended", "ana"), ("development", "dev")):
        sim.state.upsert_app("spotify", mode, client_secret="s", mode=mode, allow_list=["dev"])
        sim.state.create_user("spotify", user)
        access, _ = sim.state.mint_user_token(
            "spotify",
            mode,
            user,
            [
                "user-library-modify",
                "user-library-read",
                "user-follow-modify",
                "playlist-modify-public",
                "playlist-read-private",
            ],
        )
        headers = {"Authorization": f"Bearer {access.token}"}
        album_id = sim.album.ids["spotify"]
        album_uri = f"spotify:album:{album_id}"
        track_uri = f"spotify:track:{sim.album.tracks[0].ids['spotify']}"
        calls = [
            sim.client.get(f"{API}/me", headers=headers),
            sim.client.get(
                f"{API}/search", params={"q": f"upc:{ALBUM_UPC}", "type": "album"}, headers=headers
            ),
            sim.client.get(
                f"{API}/search",
                params={"q": f"isrc:{TRACK_ISRC}", "type": "track"},
                headers=headers,
            ),
            sim.client.get(
                f"{API}/search", params={"q": "Nova", "type": "artist,album"}, headers=headers
            ),
            sim.client.get(f"{API}/albums/{album_id}", headers=headers),
            sim.client.get(f"{API}/albums/{album_id}/tracks", headers=headers),
            sim.client.get(f"{API}/tracks/{sim.album.tracks[0].ids['spotify']}", headers=headers),
            sim.client.get(
                f"{API}/artists/{sim.state.catalog.artists['nova'].ids['spotify']}", headers=headers
            ),
            sim.client.put(f"{API}/me/library", params={"uris": album_uri}, headers=headers),
            sim.client.get(
                f"{API}/me/library/contains", params={"uris": album_uri}, headers=headers
            ),
            sim.client.put(
                f"{API}/me/library", params={"uris": ",".join([album_uri] * 41)}, headers=headers
            ),
            sim.client.put(f"{API}/me/albums", params={"ids": album_id}, headers=headers),
            sim.client.get(f"{API}/albums", params={"ids": album_id}, headers=headers),
        ]
        for call in calls:
            response = await call
            assert response.status_code != 500, response.text
        created = await sim.client.post(f"{API}/me/playlists", json={"name": "P"}, headers=headers)
        assert created.status_code == 201, created.text
        playlist = created.json()["id"]
        await sim.client.post(
            f"{API}/playlists/{playlist}/items", json={"uris": [track_uri]}, headers=headers
        )
        items = await sim.client.get(f"{API}/playlists/{playlist}/items", headers=headers)
        assert items.status_code == 200, items.text
        listed = await sim.client.get(
            f"{API}/me/playlists", params={"limit": "50", "offset": "0"}, headers=headers
        )
        assert listed.status_code == 200, listed.text
        assert [p["id"] for p in listed.json()["items"]] == [playlist]
        assert listed.json()["items"][0]["items"]["total"] == 1
    assert sim.state.contract_violations == []


def test_a_playlist_listing_with_a_limit_above_fifty_violates_the_contract() -> None:
    with pytest.raises(ContractViolation, match="maximum"):
        CONTRACT.validate_request("GET", "/v1/me/playlists", query={"limit": "51"})


def test_a_listed_playlist_must_carry_the_simplified_shape() -> None:
    page = {
        "href": "h",
        "limit": 20,
        "next": None,
        "offset": 0,
        "previous": None,
        "total": 1,
        "items": [{"id": "p", "name": "n", "items": {"href": "h", "total": "many"}}],
    }
    with pytest.raises(ContractViolation):
        CONTRACT.validate_response(
            "GET", "/v1/me/playlists", 200, body=json.dumps(page), content_type="application/json"
        )
