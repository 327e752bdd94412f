"""Spotify: catalogue visibility, tokens, Development Mode, /me/library, rate limits."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx

from launchlink.simulator.faults import HUGE_RETRY_AFTER_SECONDS
from tests.simulator.conftest import ALBUM_UPC, REDIRECT, TRACK_ISRC, Sim

API = "/spotify/api/v1"
LIBRARY_SCOPES = ["user-library-modify", "user-library-read", "user-follow-modify"]


def make_app(sim: Sim, **changes: object) -> None:
    fields: dict[str, object] = {"client_secret": "s3cret", "redirect_uris": [REDIRECT]}
    fields.update(changes)
    sim.state.upsert_app("spotify", "app1", **fields)


def bearer(sim: Sim, user: str, scopes: list[str], *, country: str = "US") -> dict[str, str]:
    sim.state.create_user("spotify", user, country=country)
    access, _ = sim.state.mint_user_token("spotify", "app1", user, scopes)
    return {"Authorization": f"Bearer {access.token}"}


async def search_upc(
    sim: Sim, headers: dict[str, str], upc: str = ALBUM_UPC
) -> list[dict[str, object]]:
    response = await sim.client.get(
        f"{API}/search", params={"q": f"upc:{upc}", "type": "album"}, headers=headers
    )
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()["albums"]["items"]
    return items


async def test_upc_search_finds_nothing_before_the_release_instant(sim: Sim) -> None:
    make_app(sim)
    sim.clock.advance(-7 * 3600)  # 23:00 UTC the day before
    assert await search_upc(sim, bearer(sim, "ana", [])) == []


async def test_upc_search_follows_each_users_country(sim: Sim) -> None:
    make_app(sim)
    us, gb = bearer(sim, "ana", []), bearer(sim, "ben", [], country="GB")
    assert [a["name"] for a in await search_upc(sim, us)] == ["Test Record"]
    assert await search_upc(sim, gb) == []
    sim.clock.advance(timedelta(hours=6))
    gb = bearer(sim, "ben", [], country="GB")
    assert [a["name"] for a in await search_upc(sim, gb)] == ["Test Record"]


async def test_upc_search_is_exact_unless_leading_zeros_are_normalized(sim: Sim) -> None:
    make_app(sim)
    headers = bearer(sim, "ana", [])
    assert await search_upc(sim, headers, "0" + ALBUM_UPC) == []
    sim.state.options.normalize_upc_leading_zeros = True
    assert len(await search_upc(sim, headers, "0" + ALBUM_UPC)) == 1


async def test_isrc_search_returns_the_track_with_its_isrc(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/search",
        params={"q": f"isrc:{TRACK_ISRC}", "type": "track"},
        headers=bearer(sim, "ana", []),
    )
    (track,) = response.json()["tracks"]["items"]
    assert track["external_ids"] == {"isrc": TRACK_ISRC}
    assert track["album"]["id"] == sim.album.ids["spotify"]


async def test_album_lookup_confirms_the_upc(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/albums/{sim.album.ids['spotify']}", headers=bearer(sim, "ana", [])
    )
    assert response.json()["external_ids"] == {"upc": ALBUM_UPC}
    assert response.json()["tracks"]["total"] == 2


async def test_search_limit_above_ten_is_rejected(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/search",
        params={"q": "Test", "type": "album", "limit": "11"},
        headers=bearer(sim, "ana", []),
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"status": 400, "message": "Invalid limit"}}


async def test_saving_an_album_twice_ledgers_added_then_already(sim: Sim) -> None:
    make_app(sim)
    headers = bearer(sim, "ana", LIBRARY_SCOPES)
    uri = f"spotify:album:{sim.album.ids['spotify']}"
    for _ in range(2):
        response = await sim.client.put(f"{API}/me/library", params={"uris": uri}, headers=headers)
        assert response.status_code == 200
    assert [
        e.outcome for e in sim.state.ledger.query(user="ana", action="save_album", item=uri)
    ] == [
        "added",
        "already",
    ]
    contains = await sim.client.get(
        f"{API}/me/library/contains", params={"uris": uri}, headers=headers
    )
    assert contains.json() == [True]


async def test_an_artist_uri_in_me_library_means_follow(sim: Sim) -> None:
    make_app(sim)
    uri = f"spotify:artist:{sim.state.catalog.artists['nova'].ids['spotify']}"
    response = await sim.client.put(
        f"{API}/me/library", params={"uris": uri}, headers=bearer(sim, "ana", LIBRARY_SCOPES)
    )
    assert response.status_code == 200
    assert sim.state.library_contains("spotify", "ana", "follow_artist", uri)


async def test_following_an_artist_without_the_follow_scope_is_forbidden(sim: Sim) -> None:
    make_app(sim)
    uri = f"spotify:artist:{sim.state.catalog.artists['nova'].ids['spotify']}"
    response = await sim.client.put(
        f"{API}/me/library",
        params={"uris": uri},
        headers=bearer(sim, "ana", ["user-library-modify"]),
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Insufficient client scope"
    assert sim.state.ledger.entries == []


async def test_more_than_forty_uris_is_a_bare_400(sim: Sim) -> None:
    make_app(sim)
    uris = ",".join([f"spotify:album:{sim.album.ids['spotify']}"] * 41)
    response = await sim.client.put(
        f"{API}/me/library", params={"uris": uris}, headers=bearer(sim, "ana", LIBRARY_SCOPES)
    )
    assert response.status_code == 400
    assert set(response.json()) == {"status", "message"}
    assert response.json()["status"] == 400


async def test_saving_an_album_not_yet_released_in_the_users_country_fails(sim: Sim) -> None:
    make_app(sim)
    uri = f"spotify:album:{sim.album.ids['spotify']}"
    response = await sim.client.put(
        f"{API}/me/library",
        params={"uris": uri},
        headers=bearer(sim, "ben", LIBRARY_SCOPES, country="GB"),
    )
    assert response.status_code == 400
    assert sim.state.ledger.entries == []


async def test_development_mode_refuses_users_off_the_allow_list_in_plain_text(sim: Sim) -> None:
    make_app(sim, mode="development", allow_list=["ana"])
    response = await sim.client.get(f"{API}/me", headers=bearer(sim, "zoe", []))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "User not registered in the Developer Dashboard"


async def test_development_mode_403_can_be_switched_to_json(sim: Sim) -> None:
    make_app(sim, mode="development", allow_list=["ana"], forbidden_as_json=True)
    response = await sim.client.get(f"{API}/me", headers=bearer(sim, "zoe", []))
    assert response.json() == {
        "error": {"status": 403, "message": "User not registered in the Developer Dashboard"}
    }


async def test_development_mode_me_drops_the_private_fields(sim: Sim) -> None:
    make_app(sim, mode="development", allow_list=["ana"])
    response = await sim.client.get(
        f"{API}/me", headers=bearer(sim, "ana", ["user-read-private", "user-read-email"])
    )
    assert response.status_code == 200
    assert {
        "country",
        "email",
        "product",
        "explicit_content",
        "followers",
    } & response.json().keys() == set()
    assert response.json()["account_id"]


async def test_extended_mode_me_includes_country_and_email(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/me",
        headers=bearer(sim, "ana", ["user-read-private", "user-read-email"], country="SE"),
    )
    assert response.json()["country"] == "SE"
    assert response.json()["email"] == "ana@example.test"


async def test_legacy_save_endpoints_are_forbidden_in_development_mode(sim: Sim) -> None:
    make_app(sim, mode="development", allow_list=["ana"])
    headers = bearer(sim, "ana", LIBRARY_SCOPES)
    album_id = sim.album.ids["spotify"]
    album = await sim.client.put(f"{API}/me/albums", params={"ids": album_id}, headers=headers)
    several = await sim.client.get(f"{API}/albums", params={"ids": album_id}, headers=headers)
    assert (album.status_code, several.status_code) == (403, 403)
    assert sim.state.ledger.entries == []


async def test_legacy_save_album_works_in_extended_mode_and_shares_the_library(sim: Sim) -> None:
    make_app(sim)
    headers = bearer(sim, "ana", LIBRARY_SCOPES)
    album_id = sim.album.ids["spotify"]
    response = await sim.client.put(f"{API}/me/albums", params={"ids": album_id}, headers=headers)
    assert response.status_code == 200
    contains = await sim.client.get(
        f"{API}/me/library/contains", params={"uris": f"spotify:album:{album_id}"}, headers=headers
    )
    assert contains.json() == [True]


async def test_legacy_save_album_refuses_more_than_twenty_ids_in_the_query(sim: Sim) -> None:
    make_app(sim)
    ids = ",".join([sim.album.ids["spotify"]] * 21)
    response = await sim.client.put(
        f"{API}/me/albums", params={"ids": ids}, headers=bearer(sim, "ana", LIBRARY_SCOPES)
    )
    assert response.status_code == 400


async def test_legacy_follow_returns_204(sim: Sim) -> None:
    make_app(sim)
    artist_id = sim.state.catalog.artists["nova"].ids["spotify"]
    response = await sim.client.put(
        f"{API}/me/following",
        params={"type": "artist", "ids": artist_id},
        headers=bearer(sim, "ana", LIBRARY_SCOPES),
    )
    assert response.status_code == 204
    assert sim.state.ledger.query(action="follow_artist")[0].item == f"spotify:artist:{artist_id}"


async def test_rate_limit_answers_429_with_the_natural_retry_after(sim: Sim) -> None:
    make_app(sim, rate_limit={"limit": 2, "window_seconds": 30})
    headers = bearer(sim, "ana", [])
    statuses = [(await sim.client.get(f"{API}/me", headers=headers)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    sim.clock.advance(10)
    response = await sim.client.get(f"{API}/me", headers=headers)
    assert response.headers["retry-after"] == "20"
    assert response.json()["error"]["status"] == 429
    sim.clock.advance(20)
    assert (await sim.client.get(f"{API}/me", headers=headers)).status_code == 200


async def test_rate_limit_retry_after_can_be_missing(sim: Sim) -> None:
    make_app(sim, rate_limit={"limit": 1, "window_seconds": 30})
    sim.state.set_faults("spotify", retry_after_mode="missing")
    headers = bearer(sim, "ana", [])
    await sim.client.get(f"{API}/me", headers=headers)
    response = await sim.client.get(f"{API}/me", headers=headers)
    assert response.status_code == 429
    assert "retry-after" not in response.headers


async def test_rate_limit_retry_after_can_be_huge(sim: Sim) -> None:
    make_app(sim, rate_limit={"limit": 1, "window_seconds": 30})
    sim.state.set_faults("spotify", retry_after_mode="huge")
    headers = bearer(sim, "ana", [])
    await sim.client.get(f"{API}/me", headers=headers)
    response = await sim.client.get(f"{API}/me", headers=headers)
    assert response.headers["retry-after"] == str(HUGE_RETRY_AFTER_SECONDS)


async def test_rate_limit_counts_per_client_id(sim: Sim) -> None:
    make_app(sim, rate_limit={"limit": 1, "window_seconds": 30})
    sim.state.upsert_app("spotify", "app2", client_secret="x", redirect_uris=[REDIRECT])
    await sim.client.get(f"{API}/me", headers=bearer(sim, "ana", []))
    other, _ = sim.state.mint_user_token("spotify", "app2", "ana", [])
    response = await sim.client.get(f"{API}/me", headers={"Authorization": f"Bearer {other.token}"})
    assert response.status_code == 200


async def test_creating_a_playlist_and_adding_a_track_is_ledgered(sim: Sim) -> None:
    make_app(sim)
    headers = bearer(sim, "ana", ["playlist-modify-public"])
    created = await sim.client.post(f"{API}/me/playlists", json={"name": "Mine"}, headers=headers)
    assert created.status_code == 201
    playlist_id = created.json()["id"]
    track_uri = f"spotify:track:{sim.album.tracks[0].ids['spotify']}"
    added = await sim.client.post(
        f"{API}/playlists/{playlist_id}/items", json={"uris": [track_uri]}, headers=headers
    )
    assert added.status_code == 201
    assert "snapshot_id" in added.json()
    items = await sim.client.get(f"{API}/playlists/{playlist_id}/items", headers=headers)
    assert [i["item"]["uri"] for i in items.json()["items"]] == [track_uri]
    (entry,) = sim.state.ledger.query(action="playlist_add")
    assert (entry.item, entry.detail) == (track_uri, f"spotify:playlist:{playlist_id}")


async def test_adding_to_someone_elses_playlist_is_forbidden(sim: Sim) -> None:
    make_app(sim)
    owner = bearer(sim, "ana", ["playlist-modify-public"])
    created = await sim.client.post(f"{API}/me/playlists", json={"name": "Ana's"}, headers=owner)
    response = await sim.client.post(
        f"{API}/playlists/{created.json()['id']}/items",
        json={"uris": [f"spotify:track:{sim.album.tracks[0].ids['spotify']}"]},
        headers=bearer(sim, "ben", ["playlist-modify-public"]),
    )
    assert response.status_code == 403


# -- tokens ---------------------------------------------------------------------------------


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


VERIFIER = "v" * 64


async def authorize(sim: Sim, *, pkce: bool, user: str = "ana") -> str:
    sim.state.set_consent_mode("spotify", "auto_approve", next_user=user)
    params = {
        "client_id": "app1",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "user-library-modify",
        "state": "xyz",
    }
    if pkce:
        params |= {"code_challenge": challenge(VERIFIER), "code_challenge_method": "S256"}
    response = await sim.client.get("/spotify/accounts/authorize", params=params)
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert location.params["state"] == "xyz"
    return location.params["code"]


async def pkce_tokens(sim: Sim) -> dict[str, object]:
    code = await authorize(sim, pkce=True)
    response = await sim.client.post(
        "/spotify/accounts/api/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "app1",
            "code_verifier": VERIFIER,
        },
    )
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def refresh(sim: Sim, token: object, *, secret: bool = False) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": str(token), "client_id": "app1"}
    auth = ("app1", "s3cret") if secret else None
    return await sim.client.post("/spotify/accounts/api/token", data=data, auth=auth)


async def test_an_access_token_expires_after_an_hour(sim: Sim) -> None:
    make_app(sim)
    tokens = await pkce_tokens(sim)
    assert tokens["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    sim.clock.advance(3599)
    assert (await sim.client.get(f"{API}/me", headers=headers)).status_code == 200
    sim.clock.advance(1)
    expired = await sim.client.get(f"{API}/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json() == {"error": {"status": 401, "message": "The access token expired"}}


async def test_pkce_refresh_rotates_and_kills_the_old_refresh_token(sim: Sim) -> None:
    make_app(sim)
    tokens = await pkce_tokens(sim)
    first = await refresh(sim, tokens["refresh_token"])
    assert first.status_code == 200
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    reused = await refresh(sim, tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert (await refresh(sim, first.json()["refresh_token"])).status_code == 200


async def test_a_wrong_pkce_verifier_is_invalid_grant(sim: Sim) -> None:
    make_app(sim)
    code = await authorize(sim, pkce=True)
    response = await sim.client.post(
        "/spotify/accounts/api/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "app1",
            "code_verifier": "w" * 64,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def confidential_refresh_token(sim: Sim) -> str:
    code = await authorize(sim, pkce=False)
    response = await sim.client.post(
        "/spotify/accounts/api/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=("app1", "s3cret"),
    )
    return str(response.json()["refresh_token"])


async def test_confidential_refresh_omits_the_refresh_token_by_default(sim: Sim) -> None:
    make_app(sim)
    token = await confidential_refresh_token(sim)
    response = await refresh(sim, token, secret=True)
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert (await refresh(sim, token, secret=True)).status_code == 200


async def test_confidential_refresh_can_be_switched_to_rotation(sim: Sim) -> None:
    make_app(sim, rotate_refresh_tokens=True)
    token = await confidential_refresh_token(sim)
    response = await refresh(sim, token, secret=True)
    assert response.json()["refresh_token"] != token
    assert (await refresh(sim, token, secret=True)).json()["error"] == "invalid_grant"


async def test_a_confidential_refresh_without_the_secret_is_invalid_client(sim: Sim) -> None:
    make_app(sim)
    token = await confidential_refresh_token(sim)
    response = await refresh(sim, token)
    assert response.json()["error"] == "invalid_client"


async def test_refresh_tokens_die_six_months_after_authorization(sim: Sim) -> None:
    make_app(sim)
    tokens = await pkce_tokens(sim)
    sim.clock.advance(timedelta(days=100))
    rotated = await refresh(sim, tokens["refresh_token"])
    assert rotated.status_code == 200
    sim.clock.advance(timedelta(days=84))
    response = await refresh(sim, rotated.json()["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_revoking_a_user_turns_refresh_into_invalid_grant(sim: Sim) -> None:
    make_app(sim)
    tokens = await pkce_tokens(sim)
    sim.state.revoke_user("spotify", "ana")
    response = await refresh(sim, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token revoked",
    }
    api = await sim.client.get(
        f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert api.status_code == 401


async def test_an_authorization_code_works_once(sim: Sim) -> None:
    make_app(sim)
    code = await authorize(sim, pkce=False)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    first = await sim.client.post("/spotify/accounts/api/token", data=data, auth=("app1", "s3cret"))
    second = await sim.client.post(
        "/spotify/accounts/api/token", data=data, auth=("app1", "s3cret")
    )
    assert first.status_code == 200
    assert second.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid authorization code",
    }
