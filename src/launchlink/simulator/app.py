"""The simulator as one ASGI app: a path prefix per imitated service, plus ``/_control``.

Every API route of a service runs behind its :class:`~launchlink.simulator.gateway.ServiceApi`
(credentials, app, rate limit, faults, in the service's own error form); OAuth pages and
the control endpoint are never faulted.
``validate_spotify_openapi=True`` additionally checks every Spotify Web API request and
response against the bundled OpenAPI document (off by default: it is slow).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp

from launchlink.simulator import control
from launchlink.simulator.services import apple, deezer, odesli, soundcloud, spotify, tidal, youtube
from launchlink.simulator.state import SimulatorState
from launchlink.simulator.urls import (
    APPLE,
    APPLE_API,
    CONTROL,
    DEEZER_API,
    DEEZER_CONNECT,
    GOOGLE_OAUTH,
    ODESLI,
    SOUNDCLOUD_API,
    SOUNDCLOUD_SECURE,
    SPOTIFY_ACCOUNTS,
    SPOTIFY_API,
    TIDAL_API,
    TIDAL_AUTH,
    TIDAL_LOGIN,
    TWILIO,
    YOUTUBE_API,
)


def create_simulator_app(
    state: SimulatorState | None = None, *, validate_spotify_openapi: bool = False
) -> Starlette:
    """Build the simulator. Pass a :class:`SimulatorState` to drive it from Python."""
    state = state if state is not None else SimulatorState()
    spotify_api: ASGIApp = Router(routes=list(spotify.api_routes()))
    if validate_spotify_openapi:
        from launchlink.simulator.openapi_validation import (
            SpotifyContract,
            SpotifyContractMiddleware,
        )

        spotify_api = SpotifyContractMiddleware(spotify_api, SpotifyContract.load(), state)
    routes: list[BaseRoute] = [
        Mount(TWILIO, app=state.twilio.app()),
        Mount(SPOTIFY_ACCOUNTS, routes=list(spotify.accounts_routes())),
        Mount(SPOTIFY_API, app=spotify_api),
        Route(APPLE + "/authorize", apple.authorize, methods=["GET", "POST"]),
        Mount(APPLE_API, routes=list(apple.api_routes())),
        Mount(DEEZER_CONNECT, routes=list(deezer.connect_routes())),
        Mount(
            DEEZER_API,
            routes=list(deezer.api_routes()),
        ),
        Mount(TIDAL_LOGIN, routes=list(tidal.login_routes())),
        Mount(TIDAL_AUTH, routes=list(tidal.auth_routes())),
        Mount(TIDAL_API, routes=list(tidal.api_routes())),
        Mount(SOUNDCLOUD_SECURE, routes=list(soundcloud.secure_routes())),
        Mount(
            SOUNDCLOUD_API,
            routes=list(soundcloud.api_routes()),
        ),
        Mount(GOOGLE_OAUTH, routes=list(youtube.oauth_routes())),
        Mount(
            YOUTUBE_API,
            routes=list(youtube.api_routes()),
        ),
        Mount(ODESLI, routes=list(odesli.api_routes())),
        Mount(CONTROL, routes=list(control.routes())),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = state
    return app
