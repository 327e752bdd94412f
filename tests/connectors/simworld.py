"""A small simulator world for connector contract tests: a fixed clock, a catalogue, apps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launchlink.connectors.settings import ConnectorsSettings
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.app import create_simulator_app
from launchlink.simulator.catalog import Album, Artist, Catalog, Track, upc_check_digit
from launchlink.simulator.profile import DEMO_CLIENT_ID, register_demo_apps, simulator_connectors
from launchlink.simulator.state import SimulatorState

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
RELEASE_DAY = datetime(2026, 9, 4, 0, 0, tzinfo=UTC)
REDIRECT_URI = "http://app.test/oauth/callback"
SIM_ROOT = "http://sim"


def upc(body: str) -> str:
    return body + upc_check_digit(body)


RELEASED_UPC = upc("60244586816")  # stored as 12-digit UPC-A
PADDED_UPC = "00" + upc("19658123456")  # stored as a 14-digit GTIN
UPCOMING_UPC = upc("19029512345")
BIG_UPC = upc("88888888888")


def _tracks(prefix: str, count: int, artist: str, isrc_base: int) -> list[Track]:
    return [
        Track(
            key=f"{prefix}-t{n}",
            title=f"{prefix.title()} Song {n}",
            isrc=f"USLL1{isrc_base + n:07d}",
            duration_ms=180_000 + n * 1000,
            track_number=n,
            artist_keys=(artist,),
        )
        for n in range(1, count + 1)
    ]


def build_catalog() -> Catalog:
    catalog = Catalog()
    catalog.add_artist(Artist(key="nova", name="Nova Reed"))
    catalog.add_artist(Artist(key="luma", name="Luma Vale"))
    catalog.upsert_album(
        Album(
            key="glass",
            title="Glass Harbour",
            artist_keys=("nova",),
            upc=RELEASED_UPC,
            release_date=date(2026, 6, 5),
            available_from=datetime(2026, 6, 5, tzinfo=UTC),
            tracks=_tracks("glass", 3, "nova", 2600000),
        )
    )
    catalog.upsert_album(
        Album(
            key="ember",
            title="Ember Lines",
            artist_keys=("luma",),
            upc=PADDED_UPC,
            release_date=date(2026, 5, 1),
            available_from=datetime(2026, 5, 1, tzinfo=UTC),
            tracks=_tracks("ember", 1, "luma", 2610000),
            album_type="single",
        )
    )
    catalog.upsert_album(
        Album(
            key="tide",
            title="Night Tide",
            artist_keys=("nova",),
            upc=UPCOMING_UPC,
            release_date=RELEASE_DAY.date(),
            available_from=RELEASE_DAY,
            tracks=_tracks("tide", 4, "nova", 2620000),
            apple_preorder=True,
        )
    )
    catalog.upsert_album(
        Album(
            key="big",
            title="Complete Sessions",
            artist_keys=("luma",),
            upc=BIG_UPC,
            release_date=date(2026, 1, 9),
            available_from=datetime(2026, 1, 9, tzinfo=UTC),
            tracks=_tracks("big", 45, "luma", 2630000),
            album_type="compilation",
        )
    )
    return catalog


@cache
def apple_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a P-256 MusicKit key made for the tests."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class SimClock:
    """The simulator's own notion of now, so tokens expire for both sides together."""

    def __init__(self, state: SimulatorState) -> None:
        self._state = state

    def now(self) -> datetime:
        return self._state.now()


@dataclass
class SimWorld:
    state: SimulatorState
    transport: httpx.ASGITransport
    settings: ConnectorsSettings
    clock: SimClock

    def album(self, key: str) -> Album:
        return self.state.catalog.albums[key]

    def advance(self, seconds: float) -> None:
        self.state.advance_clock(timedelta(seconds=seconds))

    def user_token(
        self, service: str, user: str, scopes: list[str], *, ttl_seconds: int | None = 3600
    ) -> tuple[str, str | None]:
        access, refresh = self.state.mint_user_token(
            service, DEMO_CLIENT_ID, user, scopes, ttl_seconds=ttl_seconds
        )
        return access.token, refresh.token if refresh else None


def make_world(
    *, spotify_mode: str = "extended", validate_spotify_openapi: bool = False
) -> SimWorld:
    state = SimulatorState(clock=FrozenClock(NOW), seed=build_catalog())
    private_pem, public_pem = apple_key_pair()
    register_demo_apps(
        state,
        redirect_uris=[REDIRECT_URI],
        spotify_mode=spotify_mode,  # type: ignore[arg-type]
        apple_public_key_pem=public_pem,
    )
    app = create_simulator_app(state, validate_spotify_openapi=validate_spotify_openapi)
    transport = httpx.ASGITransport(app=app)
    return SimWorld(
        state=state,
        transport=transport,
        settings=simulator_connectors(SIM_ROOT, apple_private_key_pem=private_pem),
        clock=SimClock(state),
    )
