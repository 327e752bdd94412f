"""Fixtures for simulator tests: a small catalogue, a frozen clock, an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest

from launchlink.kit.clock import FrozenClock
from launchlink.simulator import SimulatorState, create_simulator_app
from launchlink.simulator.catalog import Album, Artist, Catalog, Track

RELEASE_AT = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
GB_RELEASE_AT = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
ALBUM_UPC = "012345678905"
TRACK_ISRC = "QZABC2600001"
REDIRECT = "http://client.test/callback"


def small_catalog() -> Catalog:
    catalog = Catalog()
    catalog.add_artist(Artist(key="nova", name="Nova Reyes"))
    catalog.upsert_album(
        Album(
            key="record",
            title="Test Record",
            artist_keys=("nova",),
            upc=ALBUM_UPC,
            release_date=date(2026, 3, 6),
            available_from=RELEASE_AT,
            availability={"GB": GB_RELEASE_AT},
            tracks=[
                Track("record-1", "First Light", TRACK_ISRC, 201_000, 1, ("nova",)),
                Track("record-2", "Second Wind", "QZABC2600002", 187_000, 2, ("nova",)),
            ],
            apple_preorder=False,
        )
    )
    return catalog


@dataclass
class Sim:
    state: SimulatorState
    clock: FrozenClock
    client: httpx.AsyncClient

    @property
    def album(self) -> Album:
        return self.state.catalog.albums["record"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 6, 6, 0, tzinfo=UTC))


@pytest.fixture
async def sim(clock: FrozenClock) -> AsyncIterator[Sim]:
    state = SimulatorState(clock=clock, seed=small_catalog())
    app = create_simulator_app(state)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://sim.test"
    ) as client:
        yield Sim(state, clock, client)


@pytest.fixture
async def validating_sim(clock: FrozenClock) -> AsyncIterator[Sim]:
    state = SimulatorState(clock=clock, seed=small_catalog())
    app = create_simulator_app(state, validate_spotify_openapi=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://sim.test"
    ) as client:
        yield Sim(state, clock, client)


APPLE_KID = "KID1234567"
APPLE_TEAM = "TEAM123456"


def apple_developer_token(
    state: SimulatorState,
    *,
    lifetime_seconds: int = 3600,
    issuer: str = APPLE_TEAM,
    kid: str = APPLE_KID,
) -> str:
    """Register a fresh ES256 key for the team and sign a developer token with it."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private_key = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    state.register_apple_key(kid, APPLE_TEAM, public_pem)
    issued_at = int(state.now().timestamp())
    claims = {"iss": issuer, "iat": issued_at, "exp": issued_at + lifetime_seconds}
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": kid})
