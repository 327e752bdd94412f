"""The simulator over real HTTP: Spotify authorize, consent, token, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from launchlink.simulator import SimulatorState, SimulatorUrls, create_simulator_app

REDIRECT = "http://127.0.0.1:9/callback"
VERIFIER = "k" * 64


@pytest.fixture
def served() -> Iterator[SimulatorUrls]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = SimulatorState()
    state.upsert_app("spotify", "http-app", redirect_uris=[REDIRECT])  # public PKCE client
    config = uvicorn.Config(
        create_simulator_app(state),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("simulator did not start")
        time.sleep(0.02)
    yield SimulatorUrls(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


def test_spotify_authorize_consent_token_refresh_revoke_over_http(served: SimulatorUrls) -> None:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    )
    with httpx.Client(timeout=10) as client:
        page = client.get(
            f"{served.spotify_accounts}/authorize",
            params={
                "client_id": "http-app",
                "response_type": "code",
                "redirect_uri": REDIRECT,
                "scope": "user-library-modify",
                "state": "st8",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        consent_id = re.search(r'name="consent_id" value="([^"]+)"', page.text)
        action = re.search(r'action="([^"]+)"', page.text)
        assert consent_id is not None
        assert action is not None
        approved = client.post(
            served.root + action.group(1),
            data={"consent_id": consent_id.group(1), "username": "hana", "decision": "approve"},
        )
        assert approved.status_code == 302
        code = httpx.URL(approved.headers["location"]).params["code"]
        tokens = client.post(
            f"{served.spotify_accounts}/api/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": "http-app",
                "code_verifier": VERIFIER,
            },
        ).json()
        me = client.get(
            f"{served.spotify_api}/me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert me.json()["id"] == "hana"
        refreshed = client.post(
            f"{served.spotify_accounts}/api/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "http-app",
            },
        ).json()
        assert refreshed["refresh_token"] != tokens["refresh_token"]
        client.post(f"{served.control}/users/revoke", json={"service": "spotify", "id": "hana"})
        dead = client.post(
            f"{served.spotify_accounts}/api/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refreshed["refresh_token"],
                "client_id": "http-app",
            },
        )
        assert dead.status_code == 400
        assert dead.json()["error"] == "invalid_grant"
