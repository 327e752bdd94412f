"""The one request wrapper, seen from outside: every service answers an outage, a missing
credential and its own rate limit in its own error form, in the same order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from launchlink.simulator.urls import (
    APPLE_API,
    DEEZER_API,
    ODESLI,
    SOUNDCLOUD_API,
    SPOTIFY_API,
    TIDAL_API,
    YOUTUBE_API,
)
from tests.simulator.conftest import Sim

# service -> (a catalogue path behind the wrapper, what its 503 body looks like)
PATHS = {
    "spotify": f"{SPOTIFY_API}/albums/x",
    "apple": f"{APPLE_API}/catalog/us/albums/x",
    "deezer": f"{DEEZER_API}/album/1",
    "tidal": f"{TIDAL_API}/albums/x",
    "soundcloud": f"{SOUNDCLOUD_API}/tracks/1",
    "youtube": f"{YOUTUBE_API}/videos",
    "odesli": f"{ODESLI}/links",
}


def _envelope(service: str, body: object) -> bool:
    """Whether ``body`` is in ``service``'s own error form (platform-apis §1.3-§5)."""
    assert isinstance(body, dict)
    if service == "spotify":
        return set(body["error"]) == {"status", "message"}
    if service in ("apple", "tidal"):
        return isinstance(body["errors"], list) and "status" in body["errors"][0]
    if service == "deezer":
        return set(body["error"]) == {"type", "message", "code"}
    if service == "soundcloud":
        return {"code", "message", "link"} <= set(body)
    if service == "youtube":
        return "reason" in body["error"]["errors"][0]
    return {"statusCode", "code"} <= set(body)


@pytest.mark.parametrize("service", sorted(PATHS))
async def test_an_outage_answers_503_before_any_credential_is_looked_at(
    sim: Sim, service: str
) -> None:
    now = sim.state.now()
    sim.state.set_faults(
        service,
        outages=[{"start": now.isoformat(), "end": (now + timedelta(minutes=5)).isoformat()}],
    )
    response = await sim.client.get(PATHS[service])  # no credential at all
    assert response.status_code == 503
    assert _envelope(service, response.json())
    assert sim.state.limiters == {}  # a faulted request is not counted against any app


@pytest.mark.parametrize("service", ["spotify", "tidal", "soundcloud", "youtube"])
async def test_a_request_without_a_token_is_refused_with_401_in_the_services_form(
    sim: Sim, service: str
) -> None:
    response = await sim.client.get(PATHS[service])
    assert response.status_code == 401
    assert _envelope(service, response.json())


@pytest.mark.parametrize("service", ["deezer", "odesli"])
async def test_keyless_callers_are_counted_and_refused_in_the_services_form(
    sim: Sim, service: str
) -> None:
    first = (await sim.client.get(PATHS[service])).json()
    for _ in range(80):  # past Deezer's 50 per 5 s and Odesli's 10 per minute
        limited = await sim.client.get(PATHS[service])
    # Deezer says "quota exceeded" inside an HTTP 200 (code 4); Odesli with a 429.
    if service == "deezer":
        assert first.get("error", {}).get("code") != 4
        assert limited.status_code == 200
        assert limited.json()["error"]["code"] == 4
    else:
        assert first.get("code") != "too_many_requests"
        assert limited.status_code == 429
        assert limited.json()["code"] == "too_many_requests"
    assert _envelope(service, limited.json())
