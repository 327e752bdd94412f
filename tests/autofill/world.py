"""The demo catalogue in an in-process simulator, with the connectors auto-fill uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx

from launchlink.autofill.sources import LookupSources, sources_from_registry
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.app import create_simulator_app
from launchlink.simulator.catalog import Album, Catalog, Track, upc_check_digit
from launchlink.simulator.demo import DEMO_ALBUM, NOVA, demo_catalog
from launchlink.simulator.profile import register_demo_apps, simulator_connectors
from launchlink.simulator.state import SimulatorState
from tests.connectors.simworld import SimClock, apple_key_pair

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
UPCOMING_AT = datetime(2026, 9, 4, 0, 0, tzinfo=UTC)  # the demo single; the EP 28 days later
SIM_ROOT = "http://sim"
DECOY_UPC = "1902981299" + "9" + upc_check_digit("19029812999")[-1]


def spotify_album_url(release_ids: dict[str, str]) -> str:
    return f"https://open.spotify.com/album/{release_ids['spotify']}"


def _with_decoy(catalog: Catalog) -> Catalog:
    """SoundCloud lacks the real album but has a sequel with nearly the same title."""
    real = catalog.albums["midnight-cartography"]
    real.services = real.services - {"soundcloud"}
    catalog.upsert_album(real)
    catalog.upsert_album(
        Album(
            key="midnight-cartography-ii",
            title="Midnight Cartography II",
            artist_keys=(NOVA.key,),
            upc="19029812999" + upc_check_digit("19029812999"),
            release_date=date(2026, 8, 14),
            available_from=datetime(2026, 8, 14, tzinfo=UTC),
            tracks=[
                Track(f"mc2-{n}", f"Sketch {n}", f"QZNRY2690{n:03d}", 150_000, n, (NOVA.key,))
                for n in range(1, 4)
            ],
            services=frozenset({"soundcloud"}),
        )
    )
    return catalog


@dataclass
class World:
    state: SimulatorState
    transport: httpx.ASGITransport
    settings: ConnectorsSettings
    registry: ConnectorRegistry
    sources: LookupSources

    async def close(self) -> None:
        await self.registry.aclose()


def make_world(
    *,
    decoy: bool = False,
    odesli_key: bool = True,
    timeout_seconds: float = 5.0,
    max_retries: int = 0,
) -> World:
    catalog = demo_catalog(upcoming_release_at=UPCOMING_AT)
    state = SimulatorState(clock=FrozenClock(NOW), seed=_with_decoy(catalog) if decoy else catalog)
    private_pem, public_pem = apple_key_pair()
    register_demo_apps(state, redirect_uris=["http://app.test/cb"], apple_public_key_pem=public_pem)
    transport = httpx.ASGITransport(app=create_simulator_app(state))
    settings = simulator_connectors(SIM_ROOT, apple_private_key_pem=private_pem)
    # Retries with backoff are the connectors' business, tested there; here they only slow.
    for name in ("spotify", "apple_music", "deezer", "tidal", "soundcloud", "youtube", "odesli"):
        getattr(settings, name).max_retries = max_retries
    if not odesli_key:
        settings.odesli.api_key = None
    registry = ConnectorRegistry(settings, clock=SimClock(state), transport=transport)
    return World(
        state=state,
        transport=transport,
        settings=settings,
        registry=registry,
        sources=sources_from_registry(registry, timeout_seconds=timeout_seconds),
    )


DEMO = DEMO_ALBUM
