"""The auto-fill API over real databases: resolve, create with autofill=true, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from launchlink.api import create_api
from launchlink.context import AppContext
from launchlink.simulator.demo import DEMO_ALBUM
from tests.api.conftest import Api, artist_body, release_body
from tests.autofill.world import World, spotify_album_url
from tests.builders import WorkspaceKey

SPOTIFY_URL = spotify_album_url(DEMO_ALBUM.service_ids)


async def test_resolve_returns_the_release_and_a_destination_per_service(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.post(owner, "/resolve", {"url": SPOTIFY_URL, "country": "us"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["release"]["title"] == "Midnight Cartography"
    assert body["release"]["upc"] == DEMO_ALBUM.upc
    assert body["release"]["tracks"][0] == {
        "position": 1,
        "title": "Compass Rose",
        "isrc": DEMO_ALBUM.tracks[0].isrc,
        "duration_ms": DEMO_ALBUM.tracks[0].duration_ms,
    }
    matched = {d["service"]: d["matched_by"] for d in body["destinations"]}
    assert matched["spotify"] == "url"
    assert matched["tidal"] == "upc"
    assert len(matched) >= 5


async def test_resolve_needs_an_api_key(api: Api) -> None:
    response = await api.request("POST", None, "/resolve", {"upc": DEMO_ALBUM.upc})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "not a link at all"}, "url", "not a web address"),
        ({"url": "https://www.example.com/album/123"}, "url", "www.example.com is not"),
        ({"url": "https://open.spotify.com/episode/xyz"}, "url", "does not point to an album"),
        (
            {"url": "https://open.spotify.com/artist/0TnOYISbd1XYRBk9myaseg"},
            "url",
            "points to an artist",
        ),
        ({"upc": "190298123459"}, "upc", "check digit"),
        ({"upc": "12345"}, "upc", "12 (UPC-A)"),
        ({"isrc": "QZNRY26"}, "isrc", "an ISRC is 12 characters"),
        ({"country": "US"}, None, "exactly one of url, upc or isrc"),
        ({"upc": DEMO_ALBUM.upc, "isrc": "QZNRY2600001"}, None, "exactly one"),
        ({"upc": DEMO_ALBUM.upc, "country": "USA"}, "country", "two-letter"),
    ],
)
async def test_bad_input_is_refused_with_a_message_naming_the_field(
    api: Api, owner: WorkspaceKey, body: dict[str, Any], field: str | None, words: str
) -> None:
    response = await api.post(owner, "/resolve", body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error.get("field") == field
    assert words in error["message"]


async def test_a_link_of_a_service_we_cannot_look_up_says_what_to_paste_instead(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.post(
        owner, "/resolve", {"url": "https://nova-reyes.bandcamp.com/album/midnight-cartography"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "url"
    assert "cannot look releases up on Bandcamp" in response.json()["error"]["message"]


async def test_an_unknown_release_is_not_found(api: Api, owner: WorkspaceKey) -> None:
    response = await api.post(owner, "/resolve", {"url": "https://www.deezer.com/album/1"})
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "url"


async def test_a_failing_origin_service_is_a_502_naming_the_url(
    api: Api, owner: WorkspaceKey, world: World
) -> None:
    world.state.set_faults("spotify", error_rate=1.0, error_status=500)
    response = await api.post(owner, "/resolve", {"url": SPOTIFY_URL})
    assert response.status_code == 502
    assert response.json()["error"]["field"] == "url"


async def test_autofill_creates_the_release_its_artist_tracks_and_a_link_with_destinations(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.post(owner, "/releases?autofill=true", {"url": SPOTIFY_URL})

    assert response.status_code == 201, response.text
    body = response.json()
    release = body["release"]
    assert release["title"] == "Midnight Cartography"
    assert release["type"] == "album"
    assert release["upc"] == DEMO_ALBUM.upc
    assert release["release_mode"] == "local"
    assert release["release_date"] == "2026-03-06"
    assert [t["isrc"] for t in release["tracks"]] == [t.isrc for t in DEMO_ALBUM.tracks]
    assert [a["name"] for a in release["artists"]] == ["Nova Reyes"]
    link = body["link"]
    assert link["slug"] == "midnight-cartography"
    assert link["release_id"] == release["id"]
    services = {d["service"] for d in link["destinations"]}
    assert services == {d["service"] for d in body["destinations"]}
    assert len(services) >= 5

    stored = await api.get(owner, f"/links/{link['id']}")
    assert {d["service"] for d in stored.json()["destinations"]} == services


async def test_autofill_from_a_upc_fills_at_least_five_services(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.post(
        owner, "/releases?autofill=true", {"upc": DEMO_ALBUM.upc, "slug": "mc-album"}
    )

    assert response.status_code == 201, response.text
    assert response.json()["link"]["slug"] == "mc-album"
    assert len(response.json()["link"]["destinations"]) >= 5


async def test_autofill_reuses_an_artist_of_the_same_name_and_makes_the_slug_unique(
    api: Api, owner: WorkspaceKey
) -> None:
    artist = (await api.post(owner, "/artists", artist_body("Nova Reyes"))).json()

    first = await api.post(owner, "/releases?autofill=true", {"url": SPOTIFY_URL})
    second = await api.post(owner, "/releases?autofill=true", {"upc": DEMO_ALBUM.upc})

    assert first.status_code == second.status_code == 201
    assert first.json()["release"]["artists"][0]["id"] == artist["id"]
    assert second.json()["release"]["artists"][0]["id"] == artist["id"]
    assert first.json()["link"]["slug"] == "midnight-cartography"
    assert second.json()["link"]["slug"] == "midnight-cartography-2"
    artists = (await api.get(owner, "/artists")).json()["items"]
    assert [a["name"] for a in artists] == ["Nova Reyes"]


async def test_autofill_takes_timing_from_the_body_when_given(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.post(
        owner,
        "/releases?autofill=true",
        {
            "upc": DEMO_ALBUM.upc,
            "release_mode": "global",
            "release_instant": "2026-03-06T05:00:00Z",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["release"]["release_mode"] == "global"
    assert response.json()["release"]["release_instant"].startswith("2026-03-06T05:00:00")


async def test_autofill_with_a_taken_slug_creates_nothing(api: Api, owner: WorkspaceKey) -> None:
    first = await api.post(owner, "/releases?autofill=true", {"upc": DEMO_ALBUM.upc})
    taken = first.json()["link"]["slug"]

    again = await api.post(owner, "/releases?autofill=true", {"upc": DEMO_ALBUM.upc, "slug": taken})

    assert again.status_code == 409
    assert again.json()["error"]["field"] == "slug"
    releases = (await api.get(owner, "/releases")).json()["items"]
    assert len(releases) == 1  # the second release was rolled back with its link


async def test_autofill_bad_input_names_the_field(api: Api, owner: WorkspaceKey) -> None:
    response = await api.post(owner, "/releases?autofill=true", {"upc": "190298123459"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "upc"
    assert "check digit" in response.json()["error"]["message"]


async def test_a_plain_release_body_still_creates_a_plain_release(
    api: Api, owner: WorkspaceKey
) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    plain = await api.post(owner, "/releases", release_body([artist["id"]]))
    assert plain.status_code == 201
    assert "link" not in plain.json()
    assert plain.json()["title"] == "Midnight Cartography"

    autofill_body = await api.post(owner, "/releases", {"upc": DEMO_ALBUM.upc})
    assert autofill_body.status_code == 422
    assert autofill_body.json()["error"]["field"] in {"title", "type", "artist_ids", "release_mode"}


async def test_the_openapi_document_shows_both_release_bodies(api: Api) -> None:
    document = (await api.client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/releases"]["post"]
    variants = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert {"title", "upc"} <= set(variants[0]["properties"])
    assert {"url", "upc", "isrc", "slug"} <= set(variants[1]["properties"])
    assert any(p["name"] == "autofill" for p in operation["parameters"])
    assert "/api/v1/resolve" in document["paths"]


async def test_without_configured_connectors_resolving_is_unavailable_not_not_found(
    context: AppContext, owner: WorkspaceKey
) -> None:
    app = create_api(context)  # the real dependency: connectors from settings, none configured
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://links.example.test") as c:
        plain = Api(c)
        by_upc = await plain.post(owner, "/resolve", {"upc": DEMO_ALBUM.upc})
        by_url = await plain.post(owner, "/resolve", {"url": SPOTIFY_URL})

    assert by_upc.status_code == 503
    assert by_upc.json()["error"]["field"] == "upc"
    assert by_url.status_code == 503
    assert "Spotify is not configured" in by_url.json()["error"]["message"]
