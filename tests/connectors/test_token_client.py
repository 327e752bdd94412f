"""The one OAuth token client, walked against the simulator served over real HTTP.

Spotify, TIDAL, SoundCloud and YouTube share :class:`~launchlink.connectors.oauth.TokenClient`;
each row below is one of them, so a rule of the client is checked in every dialect it speaks
(Basic vs form credentials, rotating vs kept refresh tokens, Google's error wording).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from launchlink.connectors._common import OAuthConnector
from launchlink.connectors.base import TokenSet, run_with_refresh
from launchlink.connectors.errors import (
    AccessTokenExpired,
    AuthRevoked,
    NotAllowed,
    RateLimited,
    Transient,
)
from launchlink.connectors.http import raise_for_status
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.connectors.simulator_profile import DEMO_CLIENT_ID, register_demo_apps
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.state import SimulatorState
from tests.connectors.live import bound_socket, serve_simulator
from tests.connectors.simworld import NOW, REDIRECT_URI, SimClock, apple_key_pair, build_catalog

OAUTH_SERVICES = ("spotify", "tidal", "soundcloud", "youtube")
APP_TOKEN_SERVICES = ("spotify", "tidal", "soundcloud")  # YouTube reads with an API key
ROTATES = {"spotify": False, "tidal": False, "soundcloud": True, "youtube": False}
"""Whether a refresh hands out a new refresh token (Spotify rotates only for PKCE grants;
these tokens are minted for the confidential demo app)."""
SCOPES = {
    "spotify": ["user-library-modify"],
    "tidal": ["user.read", "collection.write"],
    "soundcloud": [],
    "youtube": ["https://www.googleapis.com/auth/youtube"],
}


@dataclass
class Live:
    state: SimulatorState
    registry: ConnectorRegistry

    def oauth(self, service: str) -> OAuthConnector:
        connector = self.registry.get(service)
        assert isinstance(connector, OAuthConnector)
        return connector

    def app_tokens_issued(self, service: str) -> list[str]:
        return [
            token.token
            for token in self.state.access_tokens.values()
            if token.service == service and token.grant is None
        ]

    def fan(self, service: str, user: str, *, ttl_seconds: int = 3600) -> TokenSet:
        access, refresh = self.state.mint_user_token(
            service, DEMO_CLIENT_ID, user, SCOPES[service], ttl_seconds=ttl_seconds
        )
        return TokenSet(
            access_token=access.token,
            refresh_token=refresh.token if refresh else None,
            expires_at=access.expires_at,
            scopes=tuple(SCOPES[service]),
        )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimulatorState, str]]:
    # One server for the module (starting uvicorn is most of a test's time); each test
    # starts from a fresh world on it.
    state = SimulatorState(clock=FrozenClock(NOW), seed=build_catalog())
    with serve_simulator(state, bound_socket()) as root:
        yield state, root


@pytest.fixture
async def live(served: tuple[SimulatorState, str]) -> AsyncIterator[Live]:
    state, root = served
    state.reset()
    state.set_clock(NOW)
    private_pem, public_pem = apple_key_pair()
    register_demo_apps(state, redirect_uris=[REDIRECT_URI], apple_public_key_pem=public_pem)
    settings = ConnectorsSettings.for_simulator(root, apple_private_key_pem=private_pem)
    # One real socket transport for every connector (as the registry shares one in
    # production); building a TLS context per connector would be most of a test's time.
    async with (
        httpx.AsyncHTTPTransport() as transport,
        ConnectorRegistry(settings, clock=SimClock(state), transport=transport) as registry,
    ):
        yield Live(state, registry)


async def _catalogue_read(live: Live, service: str) -> object:
    """One catalogue read with the app's credentials (no fan involved)."""
    connector = live.registry.get(service)
    if service in ("soundcloud", "youtube"):
        return await connector.search(title="Glass Harbour", artists=["Nova Reed"])
    return await connector.find_release_by_upc(live.state.catalog.albums["glass"].upc)


# -- the app token ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", APP_TOKEN_SERVICES)
async def test_the_app_token_is_reused_until_a_minute_before_it_expires(
    live: Live, service: str
) -> None:
    oauth = live.oauth(service).oauth
    first = await oauth.app_token()
    live.state.advance_clock(timedelta(seconds=3600 - 61))
    assert await oauth.app_token() == first
    live.state.advance_clock(timedelta(seconds=2))  # now inside the minute of skew
    second = await oauth.app_token()
    assert second != first
    assert live.app_tokens_issued(service) == [first, second]


@pytest.mark.parametrize("service", APP_TOKEN_SERVICES)
async def test_an_app_token_the_service_dropped_is_renewed_once_and_the_read_succeeds(
    live: Live, service: str
) -> None:
    dropped = await live.oauth(service).oauth.app_token()
    del live.state.access_tokens[dropped]  # a restarted service forgets what it issued
    found = await _catalogue_read(live, service)
    assert found
    issued = live.app_tokens_issued(service)
    assert len(issued) == 1
    assert issued[0] != dropped


CATALOGUE_PATH = {"spotify": "/albums/x", "tidal": "/albums", "soundcloud": "/tracks"}


@pytest.mark.parametrize("service", APP_TOKEN_SERVICES)
async def test_a_second_401_after_renewing_the_app_token_is_not_retried_again(
    live: Live, service: str
) -> None:
    oauth = live.oauth(service).oauth
    url = live.registry.get(service).settings.api_url + CATALOGUE_PATH[service]  # type: ignore[attr-defined]
    sent: list[str] = []

    async def read_with(token: str) -> httpx.Response:
        # The service refuses every app token, however fresh: a real refusal, not a stale cache.
        sent.append(token)
        del live.state.access_tokens[token]
        response = await oauth.http.request(
            "GET", url, headers={"Authorization": f"Bearer {token}"}, retry_safe=True
        )
        raise_for_status(response, service=service, message="")
        return response

    with pytest.raises(AccessTokenExpired):
        await oauth.with_app_token(read_with)
    assert len(sent) == 2
    assert sent[0] != sent[1]


# -- the fan's grant -------------------------------------------------------------------------


@pytest.mark.parametrize("service", OAUTH_SERVICES)
async def test_an_expired_fan_token_is_refreshed_once_persisted_then_used(
    live: Live, service: str
) -> None:
    connector = live.oauth(service)
    tokens = live.fan(service, f"fan-{service}", ttl_seconds=600)
    live.state.advance_clock(timedelta(seconds=601))
    persisted: list[TokenSet] = []

    async def persist(fresh: TokenSet) -> None:
        persisted.append(fresh)

    account = await run_with_refresh(connector, tokens, connector.current_user, persist=persist)
    assert account.service == service
    assert len(persisted) == 1
    fresh = persisted[0]
    assert fresh.access_token != tokens.access_token
    assert fresh.expires_at is not None
    assert fresh.expires_at > live.state.now()
    if ROTATES[service]:
        assert fresh.refresh_token not in (None, tokens.refresh_token)
    else:
        assert fresh.refresh_token == tokens.refresh_token


@pytest.mark.parametrize("service", OAUTH_SERVICES)
async def test_a_refused_refresh_token_means_the_grant_is_revoked(live: Live, service: str) -> None:
    connector = live.oauth(service)
    tokens = live.fan(service, f"fan-{service}")
    live.state.revoke_user(service, f"fan-{service}")
    with pytest.raises(AuthRevoked) as refused:
        await connector.refresh(tokens)
    assert refused.value.service == service
    assert refused.value.status == 400
    assert tokens.refresh_token is not None
    assert tokens.refresh_token not in str(refused.value)


@pytest.mark.parametrize("service", OAUTH_SERVICES)
async def test_a_wrong_client_secret_is_a_setup_fault_not_a_dead_grant(
    live: Live, service: str
) -> None:
    connector = live.oauth(service)
    tokens = live.fan(service, f"fan-{service}")
    live.state.upsert_app(service, DEMO_CLIENT_ID, client_secret="rotated-by-the-operator")
    with pytest.raises(NotAllowed) as refused:
        await connector.refresh(tokens)
    assert refused.value.reason == "invalid_client"


@pytest.mark.parametrize("service", OAUTH_SERVICES)
async def test_a_refresh_without_a_refresh_token_never_reaches_the_service(
    live: Live, service: str
) -> None:
    connector = live.oauth(service)
    issued = dict(live.state.access_tokens)
    with pytest.raises(AccessTokenExpired):
        await connector.refresh(TokenSet(access_token="at-without-refresh"))
    assert live.state.access_tokens == issued


# -- API errors in every dialect -------------------------------------------------------------

ALL = ("spotify", "apple_music", "deezer", "tidal", "soundcloud", "youtube")
SIM_NAME = {"apple_music": "apple"}
RETRY_AFTER = {
    # What each service's 429 says about waiting (platform-apis §1.3, §2.6, §3.3, §4).
    "spotify": 5.0,
    "apple_music": None,
    "deezer": 5.0,
    "tidal": None,
    "soundcloud": None,
    "youtube": None,
}


@pytest.mark.parametrize("service", ALL)
async def test_a_429_in_the_services_own_form_is_rate_limited_with_its_retry_hint(
    live: Live, service: str
) -> None:
    live.state.set_faults(SIM_NAME.get(service, service), burst_429=1)
    with pytest.raises(RateLimited) as limited:
        await _catalogue_read(live, service)
    assert limited.value.service == service
    assert limited.value.retry_after == RETRY_AFTER[service]
    assert await _catalogue_read(live, service)  # the burst is over


@pytest.mark.parametrize("service", ALL)
async def test_an_outage_in_the_services_own_form_is_transient(live: Live, service: str) -> None:
    now = live.state.now()
    live.state.set_faults(
        SIM_NAME.get(service, service),
        outages=[{"start": now.isoformat(), "end": (now + timedelta(hours=1)).isoformat()}],
    )
    with pytest.raises(Transient) as down:
        await _catalogue_read(live, service)
    assert down.value.service == service


FAN_TOKEN_REFUSED = {
    # A fan token the service does not know: refresh-and-retry where refresh exists,
    # a dead grant where it does not (Deezer code 300, Apple 403 code 40300).
    "spotify": AccessTokenExpired,
    "apple_music": AuthRevoked,
    "deezer": AuthRevoked,
    "tidal": AccessTokenExpired,
    "soundcloud": AccessTokenExpired,
    "youtube": AccessTokenExpired,
}


@pytest.mark.parametrize("service", ALL)
async def test_an_unknown_fan_token_maps_to_the_error_its_service_means(
    live: Live, service: str
) -> None:
    connector = live.registry.get(service)
    with pytest.raises(FAN_TOKEN_REFUSED[service]) as refused:
        await connector.current_user(TokenSet(access_token="not-a-token-of-this-service"))
    assert refused.value.service == service
    assert "not-a-token-of-this-service" not in str(refused.value)
