"""The control endpoint, the failure knobs and the consent page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from tests.simulator.conftest import ALBUM_UPC, REDIRECT, Sim

API = "/spotify/api/v1"


async def spotify_headers(sim: Sim, user: str = "ana") -> dict[str, str]:
    await sim.client.post(
        "/_control/apps",
        json={
            "service": "spotify",
            "client_id": "app1",
            "client_secret": "s",
            "redirect_uris": [REDIRECT],
        },
    )
    minted = await sim.client.post(
        "/_control/tokens",
        json={
            "service": "spotify",
            "client_id": "app1",
            "user": user,
            "scopes": ["user-library-modify"],
        },
    )
    return {"Authorization": f"Bearer {minted.json()['access_token']}"}


async def test_control_apps_round_trip(sim: Sim) -> None:
    created = await sim.client.post(
        "/_control/apps",
        json={
            "service": "spotify",
            "client_id": "c1",
            "mode": "development",
            "allow_list": ["a", "b"],
            "rate_limit": {"limit": 5, "window_seconds": 30},
            "redirect_uris": [REDIRECT],
        },
    )
    listed = await sim.client.get("/_control/apps")
    assert created.json()["mode"] == "development"
    assert listed.json()["apps"] == [created.json()]
    assert created.json()["rate_limit"] == {"limit": 5, "window_seconds": 30.0}


async def test_control_refuses_a_sixth_allow_listed_user(sim: Sim) -> None:
    response = await sim.client.post(
        "/_control/apps",
        json={"service": "spotify", "client_id": "c1", "allow_list": list("abcdef")},
    )
    assert response.status_code == 400


async def test_control_clock_set_and_advance(sim: Sim) -> None:
    target = datetime(2026, 5, 1, tzinfo=UTC)
    await sim.client.post("/_control/clock", json={"set": target.isoformat()})
    advanced = await sim.client.post("/_control/clock", json={"advance_seconds": 90})
    assert datetime.fromisoformat(advanced.json()["now"]) == target + timedelta(seconds=90)
    assert sim.state.now() == target + timedelta(seconds=90)


async def test_control_availability_makes_a_release_appear_late(sim: Sim) -> None:
    headers = await spotify_headers(sim)
    late = (sim.state.now() + timedelta(hours=2)).isoformat()
    await sim.client.post(
        "/_control/catalog/availability",
        json={"album": "record", "country": "US", "available_from": late},
    )
    params = {"q": f"upc:{ALBUM_UPC}", "type": "album"}
    assert (await sim.client.get(f"{API}/search", params=params, headers=headers)).json()["albums"][
        "total"
    ] == 0
    sim.clock.advance(timedelta(hours=2))
    headers = await spotify_headers(sim)
    assert (await sim.client.get(f"{API}/search", params=params, headers=headers)).json()["albums"][
        "total"
    ] == 1


async def test_control_catalogue_upsert_adds_an_album(sim: Sim) -> None:
    response = await sim.client.post(
        "/_control/catalog/albums",
        json={
            "key": "new",
            "title": "Brand New",
            "artist_keys": ["nova"],
            "upc": "036000291452",
            "release_date": "2026-03-01",
            "available_from": "2026-03-01T00:00:00+00:00",
            "tracks": [{"title": "Only", "isrc": "QZABC2600009", "duration_ms": 100000}],
        },
    )
    assert response.status_code == 200
    headers = await spotify_headers(sim)
    found = await sim.client.get(
        f"{API}/search", params={"q": "upc:036000291452", "type": "album"}, headers=headers
    )
    assert found.json()["albums"]["items"][0]["name"] == "Brand New"


async def test_control_ledger_filters_by_service_user_and_action(sim: Sim) -> None:
    headers = await spotify_headers(sim)
    uri = f"spotify:album:{sim.album.ids['spotify']}"
    await sim.client.put(f"{API}/me/library", params={"uris": uri}, headers=headers)
    await sim.client.put(f"{API}/me/library", params={"uris": uri}, headers=headers)
    ledger = await sim.client.get(
        "/_control/ledger", params={"service": "spotify", "user": "ana", "action": "save_album"}
    )
    assert ledger.json()["count"] == 2
    assert [e["outcome"] for e in ledger.json()["entries"]] == ["added", "already"]
    assert (await sim.client.get("/_control/ledger", params={"user": "zoe"})).json()["count"] == 0


async def test_control_revoke_user_kills_the_token(sim: Sim) -> None:
    headers = await spotify_headers(sim)
    revoked = await sim.client.post(
        "/_control/users/revoke", json={"service": "spotify", "id": "ana"}
    )
    assert revoked.json() == {"revoked": 1}
    assert (await sim.client.get(f"{API}/me", headers=headers)).status_code == 401


async def test_control_reset_forgets_everything_but_the_seed(sim: Sim) -> None:
    await spotify_headers(sim)
    await sim.client.post("/_control/reset")
    assert sim.state.apps == {}
    assert "record" in sim.state.catalog.albums


async def test_latency_knob_delays_responses(sim: Sim) -> None:
    import time

    headers = await spotify_headers(sim)
    await sim.client.post("/_control/faults", json={"service": "spotify", "latency_ms": 120})
    started = time.perf_counter()
    await sim.client.get(f"{API}/me", headers=headers)
    assert time.perf_counter() - started >= 0.12


async def test_error_rate_knob_answers_5xx(sim: Sim) -> None:
    headers = await spotify_headers(sim)
    sim.state.set_faults("spotify", error_rate=1.0, error_status=502)
    response = await sim.client.get(f"{API}/me", headers=headers)
    assert response.status_code == 502
    sim.state.set_faults("spotify", error_rate=0.5)
    statuses = {(await sim.client.get(f"{API}/me", headers=headers)).status_code for _ in range(40)}
    assert statuses == {200, 502}


async def test_outage_window_answers_503_only_inside_it(sim: Sim) -> None:
    headers = await spotify_headers(sim)
    now = sim.state.now()
    await sim.client.post(
        "/_control/faults",
        json={
            "service": "spotify",
            "outages": [
                {"start": now.isoformat(), "end": (now + timedelta(minutes=10)).isoformat()}
            ],
        },
    )
    assert (await sim.client.get(f"{API}/me", headers=headers)).status_code == 503
    sim.clock.advance(timedelta(minutes=10))
    headers = await spotify_headers(sim)
    assert (await sim.client.get(f"{API}/me", headers=headers)).status_code == 200


async def test_a_burst_of_429s_then_normal_service(sim: Sim) -> None:
    headers = await spotify_headers(sim)
    sim.state.set_faults("spotify", burst_429=2, retry_after_seconds=7)
    first = await sim.client.get(f"{API}/me", headers=headers)
    second = await sim.client.get(f"{API}/me", headers=headers)
    third = await sim.client.get(f"{API}/me", headers=headers)
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "7"


async def test_faults_do_not_touch_the_oauth_pages(sim: Sim) -> None:
    await spotify_headers(sim)
    sim.state.set_faults("spotify", error_rate=1.0)
    response = await sim.client.get(
        "/spotify/accounts/authorize",
        params={"client_id": "app1", "response_type": "code", "redirect_uri": REDIRECT},
    )
    assert response.status_code == 200


async def consent_page(sim: Sim) -> tuple[str, str]:
    await spotify_headers(sim)
    page = await sim.client.get(
        "/spotify/accounts/authorize",
        params={
            "client_id": "app1",
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "user-library-modify",
            "state": "st",
        },
    )
    assert "user-library-modify" in page.text
    match = re.search(r'name="consent_id" value="([^"]+)"', page.text)
    assert match is not None
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    return match.group(1), action.group(1)


async def test_the_consent_page_approve_button_redirects_with_a_code(sim: Sim) -> None:
    consent_id, action = await consent_page(sim)
    response = await sim.client.post(
        action,
        data={
            "consent_id": consent_id,
            "username": "carla",
            "country": "SE",
            "decision": "approve",
        },
    )
    location = httpx.URL(response.headers["location"])
    assert response.status_code == 302
    assert location.params["state"] == "st"
    assert sim.state.codes[location.params["code"]].user_id == "carla"
    assert sim.state.users[("spotify", "carla")].country == "SE"


async def test_the_consent_page_deny_button_redirects_with_access_denied(sim: Sim) -> None:
    consent_id, action = await consent_page(sim)
    response = await sim.client.post(
        action, data={"consent_id": consent_id, "username": "", "decision": "deny"}
    )
    location = httpx.URL(response.headers["location"])
    assert location.params["error"] == "access_denied"
    assert location.params["state"] == "st"


async def test_deny_mode_redirects_without_a_page(sim: Sim) -> None:
    await spotify_headers(sim)
    await sim.client.post("/_control/consent", json={"service": "spotify", "mode": "deny"})
    response = await sim.client.get(
        "/spotify/accounts/authorize",
        params={"client_id": "app1", "response_type": "code", "redirect_uri": REDIRECT},
    )
    assert httpx.URL(response.headers["location"]).params["error"] == "access_denied"


async def test_auto_approve_honours_login_hint(sim: Sim) -> None:
    await spotify_headers(sim)
    sim.state.set_consent_mode("spotify", "auto_approve")
    response = await sim.client.get(
        "/spotify/accounts/authorize",
        params={
            "client_id": "app1",
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "login_hint": "dora",
        },
    )
    code = httpx.URL(response.headers["location"]).params["code"]
    assert sim.state.codes[code].user_id == "dora"


async def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(sim: Sim) -> None:
    await spotify_headers(sim)
    response = await sim.client.get(
        "/spotify/accounts/authorize",
        params={
            "client_id": "app1",
            "response_type": "code",
            "redirect_uri": "https://evil.test/cb",
        },
    )
    assert response.status_code == 400
    assert "location" not in response.headers
