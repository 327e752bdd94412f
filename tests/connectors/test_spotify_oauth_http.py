"""The whole Spotify OAuth dance over real HTTP: authorize → consent page → callback →
token → API call → refresh (rotation) → revoke."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from launchlink.connectors.base import Capability, TokenSet, run_with_refresh
from launchlink.connectors.errors import AccessTokenExpired, AuthRevoked
from launchlink.connectors.oauth import new_pkce_pair
from launchlink.connectors.spotify import SpotifyConnector
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.profile import register_demo_apps, simulator_connectors
from launchlink.simulator.state import SimulatorState
from tests.connectors.live import bound_socket, serve_simulator
from tests.connectors.simworld import NOW, SimClock, build_catalog

CONSENT_ID = re.compile(r'name="consent_id" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


async def approve_in_browser(browser: httpx.AsyncClient, url: str, username: str) -> httpx.URL:
    page = await browser.get(url)
    assert page.status_code == 200
    assert "user-library-modify" in page.text
    consent_id = CONSENT_ID.search(page.text)
    action = FORM_ACTION.search(page.text)
    assert consent_id is not None
    assert action is not None
    landed = await browser.post(
        urljoin(str(page.url), action.group(1)),
        data={
            "consent_id": consent_id.group(1),
            "username": username,
            "country": "GB",
            "decision": "approve",
        },
    )
    assert landed.history
    assert landed.history[0].status_code == 302
    return landed.url


async def test_the_spotify_oauth_dance_over_real_http() -> None:
    state = SimulatorState(clock=FrozenClock(NOW), seed=build_catalog())
    sock = bound_socket()
    host, port = sock.getsockname()[:2]
    root = f"http://{host}:{port}"
    redirect_uri = f"{root}/app/oauth/callback"
    register_demo_apps(state, redirect_uris=[redirect_uri])
    with serve_simulator(state, sock):
        settings = simulator_connectors(root).spotify
        spotify = SpotifyConnector(settings, clock=SimClock(state))
        pkce = new_pkce_pair()
        scopes = spotify.scopes_for([Capability.SAVE_RELEASE, Capability.FOLLOW_ARTIST])
        url = spotify.authorization_url(
            state="csrf-123",
            code_challenge=pkce.challenge,
            redirect_uri=redirect_uri,
            scopes=scopes,
        )
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
            callback = await approve_in_browser(browser, url, "fan-http")
            assert str(callback).startswith(redirect_uri)
            query = parse_qs(urlsplit(str(callback)).query)
            assert query["state"] == ["csrf-123"]

            tokens = await spotify.exchange_code(
                code=query["code"][0], code_verifier=pkce.verifier, redirect_uri=redirect_uri
            )
            assert set(tokens.scopes) == set(scopes)
            assert tokens.refresh_token
            assert tokens.expires_at == NOW + timedelta(seconds=3600)

            account = await spotify.current_user(tokens)
            assert account.id is not None
            assert account.id.startswith("acc")

            album_id = state.catalog.albums["glass"].ids["spotify"]
            await spotify.save_release(tokens, album_id=album_id)
            ledger = (
                await browser.get(f"{root}/_control/ledger", params={"user": "fan-http"})
            ).json()
            assert [(e["action"], e["outcome"]) for e in ledger["entries"]] == [
                ("save_album", "added")
            ]

            # A PKCE grant rotates its refresh token: the old one is single-use.
            await browser.post(f"{root}/_control/clock", json={"advance_seconds": 3601})
            persisted: list[TokenSet] = []

            async def persist(fresh: TokenSet) -> None:
                persisted.append(fresh)

            await run_with_refresh(
                spotify,
                tokens,
                lambda t: spotify.save_release(t, album_id=album_id),
                persist=persist,
            )
            assert len(persisted) == 1
            fresh = persisted[0]
            assert fresh.refresh_token
            assert fresh.refresh_token != tokens.refresh_token

            revoked = await browser.post(
                f"{root}/_control/users/revoke", json={"service": "spotify", "id": "fan-http"}
            )
            assert revoked.json() == {"revoked": 1}
            with pytest.raises(AccessTokenExpired):
                await spotify.current_user(fresh)
            with pytest.raises(AuthRevoked):
                await run_with_refresh(spotify, fresh, spotify.current_user, persist=persist)
            assert len(persisted) == 1
        await spotify.aclose()


async def test_a_denied_consent_comes_back_with_access_denied() -> None:
    state = SimulatorState(clock=FrozenClock(NOW), seed=build_catalog())
    sock = bound_socket()
    host, port = sock.getsockname()[:2]
    root = f"http://{host}:{port}"
    redirect_uri = f"{root}/app/oauth/callback"
    register_demo_apps(state, redirect_uris=[redirect_uri])
    state.set_consent_mode("spotify", "deny")
    with serve_simulator(state, sock):
        spotify = SpotifyConnector(simulator_connectors(root).spotify)
        url = spotify.authorization_url(
            state="s1",
            code_challenge=new_pkce_pair().challenge,
            redirect_uri=redirect_uri,
            scopes=["user-library-modify"],
        )
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
            landed = await browser.get(url)
        query = parse_qs(urlsplit(str(landed.url)).query)
        assert query == {"error": ["access_denied"], "state": ["s1"]}
        await spotify.aclose()
