"""Deezer: connect flow, token in the query, errors inside HTTP 200, quota code 4."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx

from launchlink.simulator.faults import RateLimit
from tests.simulator.conftest import ALBUM_UPC, TRACK_ISRC, Sim

API = "/deezer/api"
REDIRECT = "https://client.test/deezer/callback"


def make_app(sim: Sim) -> None:
    sim.state.upsert_app("deezer", "123456", client_secret="dz-secret", redirect_uris=[REDIRECT])


def token(sim: Sim, user: str = "ana", *, country: str = "US") -> str:
    sim.state.create_user("deezer", user, country=country)
    access, _ = sim.state.mint_user_token(
        "deezer",
        "123456",
        user,
        ["basic_access", "offline_access", "manage_library"],
        ttl_seconds=None,
    )
    return access.token


async def test_upc_lookup_before_release_is_code_800_in_a_200(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/album/upc:{ALBUM_UPC}", params={"access_token": token(sim, country="GB")}
    )
    assert response.status_code == 200
    assert response.json() == {
        "error": {"type": "DataException", "message": "no data", "code": 800}
    }


async def test_upc_lookup_after_release_returns_the_album(sim: Sim) -> None:
    make_app(sim)
    response = await sim.client.get(
        f"{API}/album/upc:{ALBUM_UPC}", params={"access_token": token(sim)}
    )
    assert response.json()["upc"] == ALBUM_UPC
    assert response.json()["id"] == int(sim.album.ids["deezer"])


async def test_isrc_lookup_returns_the_track(sim: Sim) -> None:
    response = await sim.client.get(f"{API}/track/isrc:{TRACK_ISRC}")
    assert response.json()["isrc"] == TRACK_ISRC


async def test_saving_an_album_answers_true_and_is_ledgered(sim: Sim) -> None:
    make_app(sim)
    params = {"album_id": sim.album.ids["deezer"], "access_token": token(sim)}
    first = await sim.client.post(f"{API}/user/me/albums", params=params)
    second = await sim.client.post(f"{API}/user/me/albums", params=params)
    assert (first.json(), second.json()) == (True, True)
    assert [e.outcome for e in sim.state.ledger.query(service="deezer")] == ["added", "already"]


async def test_request_method_turns_a_get_into_a_post(sim: Sim) -> None:
    make_app(sim)
    artist_id = sim.state.catalog.artists["nova"].ids["deezer"]
    response = await sim.client.get(
        f"{API}/user/me/artists",
        params={"artist_id": artist_id, "access_token": token(sim), "request_method": "POST"},
    )
    assert response.json() is True
    assert sim.state.ledger.query(action="follow_artist")[0].item == f"artist:{artist_id}"


async def test_the_quota_answers_code_4_inside_a_200(sim: Sim) -> None:
    make_app(sim)
    sim.state.upsert_app("deezer", "123456", rate_limit=RateLimit(3, 5.0))
    params = {"access_token": token(sim)}
    bodies = [(await sim.client.get(f"{API}/user/me", params=params)) for _ in range(4)]
    assert [b.status_code for b in bodies] == [200] * 4
    assert bodies[3].json() == {
        "error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}
    }
    sim.clock.advance(5)
    assert "id" in (await sim.client.get(f"{API}/user/me", params=params)).json()


async def test_a_revoked_token_is_code_300(sim: Sim) -> None:
    make_app(sim)
    raw = token(sim)
    sim.state.revoke_user("deezer", "ana")
    response = await sim.client.get(f"{API}/user/me", params={"access_token": raw})
    assert response.json()["error"]["code"] == 300


async def test_connect_flow_gives_a_plain_text_non_expiring_token(sim: Sim) -> None:
    make_app(sim)
    sim.state.set_consent_mode("deezer", "auto_approve", next_user="ana")
    authorize = await sim.client.get(
        "/deezer/connect/oauth/auth.php",
        params={
            "app_id": "123456",
            "redirect_uri": REDIRECT,
            "perms": "basic_access,offline_access",
        },
    )
    code = httpx.URL(authorize.headers["location"]).params["code"]
    response = await sim.client.get(
        "/deezer/connect/oauth/access_token.php",
        params={"app_id": "123456", "secret": "dz-secret", "code": code},
    )
    assert response.headers["content-type"].startswith("text/plain")
    answer = parse_qs(response.text)
    assert answer["expires"] == ["0"]
    me = await sim.client.get(f"{API}/user/me", params={"access_token": answer["access_token"][0]})
    assert me.json()["type"] == "user"


async def test_connect_token_can_be_json(sim: Sim) -> None:
    make_app(sim)
    sim.state.set_consent_mode("deezer", "auto_approve")
    authorize = await sim.client.get(
        "/deezer/connect/oauth/auth.php",
        params={"app_id": "123456", "redirect_uri": REDIRECT, "perms": "basic_access"},
    )
    code = httpx.URL(authorize.headers["location"]).params["code"]
    response = await sim.client.get(
        "/deezer/connect/oauth/access_token.php",
        params={"app_id": "123456", "secret": "dz-secret", "code": code, "output": "json"},
    )
    assert response.json()["expires"] == 3600


async def test_denied_consent_redirects_with_error_reason(sim: Sim) -> None:
    make_app(sim)
    sim.state.set_consent_mode("deezer", "deny")
    response = await sim.client.get(
        "/deezer/connect/oauth/auth.php",
        params={
            "app_id": "123456",
            "redirect_uri": REDIRECT,
            "perms": "basic_access",
            "state": "s",
        },
    )
    assert httpx.URL(response.headers["location"]).params["error_reason"] == "user_denied"
