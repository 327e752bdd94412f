"""TIDAL: PKCE-only OAuth, JSON:API lookups per country, idempotent collection writes."""

from __future__ import annotations

import base64
import hashlib

import httpx

from tests.simulator.conftest import ALBUM_UPC, REDIRECT, TRACK_ISRC, Sim

API = "/tidal/api/v2"


def make_app(sim: Sim) -> None:
    sim.state.upsert_app("tidal", "tidal-app", redirect_uris=[REDIRECT])


def headers(sim: Sim, user: str = "ana") -> dict[str, str]:
    access, _ = sim.state.mint_user_token(
        "tidal", "tidal-app", user, ["collection.read", "collection.write", "user.read"]
    )
    return {"Authorization": f"Bearer {access.token}", "Content-Type": "application/vnd.api+json"}


def album_body(sim: Sim) -> dict[str, object]:
    return {"data": [{"type": "albums", "id": sim.album.ids["tidal"]}]}


async def test_barcode_lookup_is_empty_before_release_in_that_country(sim: Sim) -> None:
    make_app(sim)
    h = headers(sim)
    gb = await sim.client.get(
        f"{API}/albums", params={"filter[barcodeId]": ALBUM_UPC, "countryCode": "GB"}, headers=h
    )
    us = await sim.client.get(
        f"{API}/albums", params={"filter[barcodeId]": ALBUM_UPC, "countryCode": "US"}, headers=h
    )
    assert gb.json()["data"] == []
    assert [a["attributes"]["barcodeId"] for a in us.json()["data"]] == [ALBUM_UPC]
    assert us.headers["content-type"].startswith("application/vnd.api+json")


async def test_isrc_lookup_returns_tracks(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/tracks",
        params={"filter[isrc]": TRACK_ISRC, "countryCode": "US"},
        headers=headers(sim),
    )
    assert [t["attributes"]["isrc"] for t in response.json()["data"]] == [TRACK_ISRC]


async def test_saving_an_album_to_the_collection_is_ledgered(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.post(
        f"{API}/userCollectionAlbums/me/relationships/items",
        json=album_body(sim),
        headers=headers(sim),
    )
    assert response.status_code == 200
    assert sim.state.library_contains("tidal", "ana", "save_album", sim.album.ids["tidal"])


async def test_an_idempotency_key_replays_without_writing_twice(sim: Sim) -> None:
    make_app(sim)
    h = headers(sim) | {"Idempotency-Key": "presave-42"}
    url = f"{API}/userCollectionAlbums/me/relationships/items"
    first = await sim.client.post(url, json=album_body(sim), headers=h)
    second = await sim.client.post(url, json=album_body(sim), headers=h)
    assert (first.status_code, second.status_code) == (200, 200)
    (entry,) = sim.state.ledger.query(service="tidal")
    assert (entry.outcome, entry.idempotency_key) == ("added", "presave-42")


async def test_an_idempotency_key_reused_with_another_payload_is_422(sim: Sim) -> None:
    make_app(sim)
    h = headers(sim) | {"Idempotency-Key": "presave-42"}
    url = f"{API}/userCollectionAlbums/me/relationships/items"
    await sim.client.post(url, json=album_body(sim), headers=h)
    other = {
        "data": [
            {"type": "albums", "id": sim.album.ids["tidal"]},
            {"type": "albums", "id": sim.album.ids["tidal"]},
        ]
    }
    response = await sim.client.post(url, json=other, headers=h)
    assert response.status_code == 422
    assert response.json()["errors"][0]["status"] == "422"


async def test_following_an_artist_uses_the_artist_collection(sim: Sim) -> None:
    make_app(sim)
    artist_id = sim.state.catalog.artists["nova"].ids["tidal"]
    response = await sim.client.post(
        f"{API}/userCollectionArtists/me/relationships/items",
        json={"data": [{"type": "artists", "id": artist_id}]},
        headers=headers(sim),
    )
    assert response.status_code == 200
    assert sim.state.ledger.query(action="follow_artist")[0].item == artist_id


async def test_the_429_is_json_api_without_rate_headers(sim: Sim) -> None:
    make_app(sim)
    sim.state.upsert_app("tidal", "tidal-app", rate_limit={"limit": 1, "window_seconds": 60})
    h = headers(sim)
    await sim.client.get(f"{API}/users/me", headers=h)
    response = await sim.client.get(f"{API}/users/me", headers=h)
    assert response.status_code == 429
    assert response.json() == {"errors": [{"status": "429", "detail": "Rate limit exceeded"}]}
    assert "retry-after" not in response.headers


async def test_authorize_without_pkce_is_refused(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        "/tidal/login/authorize",
        params={"client_id": "tidal-app", "response_type": "code", "redirect_uri": REDIRECT},
    )
    assert response.status_code == 400


async def test_pkce_login_gives_tokens_that_refresh(sim: Sim) -> None:
    make_app(sim)
    verifier = "x" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    sim.state.set_consent_mode("tidal", "auto_approve", next_user="ana")
    authorize = await sim.client.get(
        "/tidal/login/authorize",
        params={
            "client_id": "tidal-app",
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "collection.write",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    code = httpx.URL(authorize.headers["location"]).params["code"]
    token = await sim.client.post(
        "/tidal/auth/v1/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "tidal-app",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200
    refreshed = await sim.client.post(
        "/tidal/auth/v1/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "tidal-app",
            "refresh_token": token.json()["refresh_token"],
        },
    )
    assert refreshed.status_code == 200


async def test_a_track_by_id_can_include_its_album_with_cover_art(sim: Sim) -> None:
    make_app(sim)
    track_id = sim.album.tracks[0].ids["tidal"]
    response = await sim.client.get(
        f"{API}/tracks/{track_id}",
        params={"countryCode": "US", "include": "albums"},
        headers=headers(sim),
    )
    assert response.json()["data"]["attributes"]["isrc"] == TRACK_ISRC
    (album,) = response.json()["included"]
    assert album["relationships"]["coverArt"]["data"][0]["type"] == "artworks"
    with_art = await sim.client.get(
        f"{API}/albums/{album['id']}",
        params={"countryCode": "US", "include": "coverArt"},
        headers=headers(sim),
    )
    assert with_art.json()["included"][0]["attributes"]["files"][0]["href"].startswith("https://")
