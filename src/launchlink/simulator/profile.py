"""Connector settings that point every service at the platform simulator.

The demo credentials here are the ones the simulator's demo apps are registered with
(see :func:`register_demo_apps`), so ``simulator_connectors(root)`` plus a
simulator started with those apps gives a working, offline set of connectors. It lives
with the simulator, not the connectors: production code never imports its fake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from launchlink.connectors.settings import (
    AppleMusicSettings,
    ConnectorsSettings,
    DeezerSettings,
    OdesliSettings,
    SoundCloudSettings,
    SpotifySettings,
    TidalSettings,
    YouTubeSettings,
)

if TYPE_CHECKING:
    from launchlink.simulator.state import SimulatorState

DEMO_CLIENT_ID = "launchlink-demo"
DEMO_CLIENT_SECRET = "launchlink-demo-secret"  # noqa: S105 - the simulator's public demo secret
DEMO_APPLE_TEAM_ID = "DEMOTEAM01"
DEMO_APPLE_KEY_ID = "DEMOKEY001"
DEMO_ODESLI_KEY = "launchlink-demo-odesli"


def simulator_connectors(
    root_url: str,
    *,
    spotify_quota_mode: Literal["development", "extended"] = "extended",
    apple_private_key_pem: str | None = None,
) -> ConnectorsSettings:
    from launchlink.simulator.urls import SimulatorUrls

    urls = SimulatorUrls(root_url)
    secret = SecretStr(DEMO_CLIENT_SECRET)
    return ConnectorsSettings(
        spotify=SpotifySettings(
            client_id=DEMO_CLIENT_ID,
            client_secret=secret,
            accounts_url=urls.spotify_accounts,
            api_url=urls.spotify_api,
            quota_mode=spotify_quota_mode,
        ),
        apple_music=AppleMusicSettings(
            team_id=DEMO_APPLE_TEAM_ID,
            key_id=DEMO_APPLE_KEY_ID,
            private_key_pem=SecretStr(apple_private_key_pem) if apple_private_key_pem else None,
            api_url=urls.apple_api,
        ),
        deezer=DeezerSettings(
            app_id=DEMO_CLIENT_ID,
            secret=secret,
            api_url=urls.deezer_api,
            connect_url=urls.deezer_connect,
        ),
        tidal=TidalSettings(
            client_id=DEMO_CLIENT_ID,
            client_secret=secret,
            login_url=urls.tidal_login,
            auth_url=urls.tidal_auth + "/v1",
            api_url=urls.tidal_api,
        ),
        soundcloud=SoundCloudSettings(
            client_id=DEMO_CLIENT_ID,
            client_secret=secret,
            secure_url=urls.soundcloud_secure,
            api_url=urls.soundcloud_api,
        ),
        youtube=YouTubeSettings(
            client_id=DEMO_CLIENT_ID,
            client_secret=secret,
            oauth_url=urls.google_oauth + "/auth",
            token_url=urls.google_oauth + "/token",
            api_url=urls.youtube_api,
            # The simulator accepts an app's client id as its API key.
            api_key=SecretStr(DEMO_CLIENT_ID),
        ),
        odesli=OdesliSettings(api_key=SecretStr(DEMO_ODESLI_KEY), url=urls.odesli),
    )


def register_demo_apps(
    state: SimulatorState,
    *,
    redirect_uris: list[str],
    spotify_mode: Literal["development", "extended"] = "extended",
    apple_public_key_pem: str | None = None,
) -> None:
    """Register the demo apps (matching :func:`simulator_connectors`) in a simulator state.

    ``apple_public_key_pem`` registers the MusicKit key whose private half is given to
    :func:`simulator_connectors` as ``apple_private_key_pem``.
    """
    for service in ("spotify", "deezer", "tidal", "soundcloud", "youtube"):
        changes: dict[str, object] = {
            "client_secret": DEMO_CLIENT_SECRET,
            "redirect_uris": redirect_uris,
        }
        if service == "spotify":
            changes["mode"] = spotify_mode
        state.upsert_app(service, DEMO_CLIENT_ID, **changes)
    state.odesli_keys[DEMO_ODESLI_KEY] = 60  # the documented keyed rate, per minute
    if apple_public_key_pem is not None:
        state.register_apple_key(DEMO_APPLE_KEY_ID, DEMO_APPLE_TEAM_ID, apple_public_key_pem)
