"""A release-day world for fulfilment tests: the simulator in-process, a workspace with a
release, fans with encrypted grants and pre-saves, and an engine wired to all of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import httpx
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from launchlink.accounts import service as accounts
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.db import Database
from launchlink.events import ANY, Event, Subscriptions
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.limiter import MemoryLimiter, RateLimiter
from launchlink.fulfilment.service import engine_connectors
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.kit.clock import FrozenClock
from launchlink.kit.crypto import TokenCipher
from launchlink.models.catalog import (
    Artist,
    Release,
    ReleaseArtist,
    ReleaseMode,
    ReleaseType,
    Track,
)
from launchlink.models.links import Destination, Link
from launchlink.models.presave import Fan, Presave, PresaveState, ServiceGrant, ServiceMode
from launchlink.outbox.dispatcher import OutboxDispatcher
from launchlink.simulator.app import create_simulator_app
from launchlink.simulator.catalog import Album, Catalog, upc_check_digit
from launchlink.simulator.catalog import Artist as SimArtist
from launchlink.simulator.catalog import Track as SimTrack
from launchlink.simulator.profile import DEMO_CLIENT_ID, register_demo_apps, simulator_connectors
from launchlink.simulator.state import SimulatorState

NOW = datetime(2026, 9, 3, 23, 0, tzinfo=UTC)
RELEASE_AT = datetime(2026, 9, 4, 0, 0, tzinfo=UTC)
UPC = "19029512345" + upc_check_digit("19029512345")
ISRCS = ("USLL12620001", "USLL12620002")
SIM_SERVICE = {
    "spotify": "spotify",
    "apple_music": "apple",
    "deezer": "deezer",
    "tidal": "tidal",
    "soundcloud": "soundcloud",
    "youtube": "youtube",
}
SCOPES = {
    "spotify": ["user-library-modify", "user-library-read", "user-follow-modify"],
    "deezer": ["basic_access", "manage_library", "offline_access"],
    "tidal": ["collection.read", "collection.write"],
    "youtube": ["https://www.googleapis.com/auth/youtube"],
}


@cache
def apple_key_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def sim_catalog(*, upc: str = UPC, available_from: datetime = RELEASE_AT) -> Catalog:
    catalog = Catalog()
    catalog.add_artist(SimArtist(key="nova", name="Nova Reed"))
    catalog.upsert_album(
        Album(
            key="tide",
            title="Night Tide",
            artist_keys=("nova",),
            upc=upc,
            release_date=available_from.date(),
            available_from=available_from,
            tracks=[
                SimTrack(
                    key=f"tide-t{n}",
                    title=f"Tide {n}",
                    isrc=isrc,
                    duration_ms=180_000,
                    track_number=n,
                    artist_keys=("nova",),
                )
                for n, isrc in enumerate(ISRCS, start=1)
            ],
        )
    )
    return catalog


class SimClock:
    """The simulator's clock, shared by the engine so both sides agree on now."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def now(self) -> datetime:
        return self.state.now()


def fast_settings(**changes: Any) -> FulfilmentSettings:
    base: dict[str, Any] = {
        "rate_limits": dict.fromkeys(SIM_SERVICE, 1000.0),
        "lease_seconds": 30,
        "idle_poll_seconds": 0.05,
        "scheduler_seconds": 0.2,
        "backoff_base_seconds": 1,
        "early_probe_hours": 12,
    }
    return FulfilmentSettings(**(base | changes))


@dataclass
class World:
    database: Database
    state: SimulatorState
    clock: SimClock
    cipher: TokenCipher
    registry: ConnectorRegistry
    workspace_id: UUID
    release_id: UUID
    link_id: UUID
    artist_id: UUID
    settings: ConnectorsSettings
    transport: httpx.AsyncBaseTransport
    events: list[Event] = field(default_factory=list)
    sim_users: dict[UUID, tuple[str, str]] = field(default_factory=dict)

    def reconfigured(self, change: Callable[[ConnectorsSettings], None]) -> ConnectorRegistry:
        """The same connectors with one setting changed (an operator's edit and restart)."""
        settings = self.settings.model_copy(deep=True)
        change(settings)
        return ConnectorRegistry(
            engine_connectors(settings), clock=self.clock, transport=self.transport
        )

    def engine(
        self,
        settings: FulfilmentSettings | None = None,
        limiter: RateLimiter | None = None,
        *,
        registry: ConnectorRegistry | None = None,
    ) -> FulfilmentEngine:
        return FulfilmentEngine(
            database=self.database,
            connectors=(registry or self.registry).get,
            limiter=limiter or MemoryLimiter(),
            cipher=self.cipher,
            settings=settings or fast_settings(),
            clock=self.clock,
        )

    async def emitted(self) -> list[Event]:
        """Every event the engines emitted so far, as a subscriber of the outbox gets them."""
        subscriptions = Subscriptions()

        async def collect(_session: Any, event: Event) -> None:
            self.events.append(event)

        subscriptions.subscribe(ANY, collect, name="tests.fulfilment")
        await OutboxDispatcher(self.database, self.clock, subscriptions).drain()
        return self.events

    def advance(self, seconds: float) -> None:
        self.state.advance_clock(timedelta(seconds=seconds))

    async def add_fan(
        self,
        service: str,
        *,
        user: str,
        country: str | None = "US",
        email: str | None = None,
        due_at: datetime = RELEASE_AT,
        actions: dict[str, Any] | None = None,
        standing: bool = False,
        ttl_seconds: int | None = 3600,
        access_expires_at: datetime | None = None,
        scopes: list[str] | None = None,
    ) -> UUID:
        """A fan with a live grant on ``service`` (minted in the simulator) and a pre-save."""
        granted = scopes if scopes is not None else SCOPES.get(service, [])
        sim = SIM_SERVICE[service]
        if service == "apple_music":
            access = self.state.issue_music_user_token(user, country=country or "US")
            refresh = None
            expires = None
        else:
            self.state.create_user(sim, user, country=country or "US")
            # Deezer's offline_access tokens do not expire and come without refresh token.
            deezer = service == "deezer"
            minted, minted_refresh = self.state.mint_user_token(
                sim,
                DEMO_CLIENT_ID,
                user,
                granted,
                ttl_seconds=None if deezer else ttl_seconds,
                with_refresh_token=not deezer,
            )
            access, refresh = minted.token, minted_refresh.token if minted_refresh else None
            expires = minted.expires_at
        async with self.database.transaction() as session:
            fan = Fan(workspace_id=self.workspace_id, email=email, country=country)
            session.add(fan)
            await session.flush()
            grant = ServiceGrant(
                workspace_id=self.workspace_id,
                fan_id=fan.id,
                service=service,
                account_id=user,
                access_token=self.cipher.encrypt(access),
                refresh_token=self.cipher.encrypt(refresh) if refresh else None,
                access_expires_at=access_expires_at or expires,
                scopes=granted,
                standing=standing,
            )
            session.add(grant)
            await session.flush()
            presave = Presave(
                workspace_id=self.workspace_id,
                link_id=self.link_id,
                release_id=self.release_id,
                fan_id=fan.id,
                service=service,
                mode=ServiceMode.direct_save,
                grant_id=grant.id,
                state=PresaveState.waiting,
                country=country,
                time_zone="UTC",
                due_at=due_at,
                actions=actions if actions is not None else {"save_release": True},
            )
            session.add(presave)
            await session.flush()
            self.sim_users[presave.id] = (sim, user)
            return presave.id

    async def add_destination(self, service: str, url: str) -> None:
        """A destination of the release's link (how SoundCloud and YouTube find it)."""
        async with self.database.transaction() as session:
            count = await session.scalar(
                select(func.count()).where(Destination.link_id == self.link_id)
            )
            session.add(
                Destination(link_id=self.link_id, service=service, url=url, position=count or 0)
            )

    async def presave(self, presave_id: UUID) -> Presave:
        async with self.database.transaction() as session:
            found = await session.get(Presave, presave_id)
            assert found is not None
            return found

    async def grant_of(self, presave_id: UUID) -> ServiceGrant:
        async with self.database.transaction() as session:
            presave = await session.get(Presave, presave_id)
            assert presave is not None
            assert presave.grant_id is not None
            grant = await session.get(ServiceGrant, presave.grant_id)
            assert grant is not None
            return grant

    async def states(self) -> dict[UUID, PresaveState]:
        async with self.database.transaction() as session:
            rows = (await session.execute(select(Presave.id, Presave.state))).all()
        return {row[0]: row[1] for row in rows}

    def ledger_adds(self, presave_id: UUID) -> list[str]:
        sim, user = self.sim_users[presave_id]
        return [e.outcome for e in self.state.ledger.query(service=sim, user=user)]


async def make_world(
    database: Database,
    *,
    spotify_mode: str = "extended",
    available_from: datetime = RELEASE_AT,
) -> World:
    state = SimulatorState(clock=FrozenClock(NOW), seed=sim_catalog(available_from=available_from))
    private_pem, public_pem = apple_key_pair()
    register_demo_apps(
        state,
        redirect_uris=["http://app.test/cb"],
        spotify_mode=spotify_mode,  # type: ignore[arg-type]
        apple_public_key_pem=public_pem,
    )
    clock = SimClock(state)
    transport = httpx.ASGITransport(app=create_simulator_app(state))
    settings = simulator_connectors("http://sim", apple_private_key_pem=private_pem)
    registry = ConnectorRegistry(engine_connectors(settings), clock=clock, transport=transport)
    async with database.transaction() as session:
        workspace = await accounts.create_workspace(session, name="Tide Records")
        artist = Artist(
            workspace_id=workspace.id,
            name="Nova Reed",
            service_ids={"spotify": state.catalog.artists["nova"].ids["spotify"]},
        )
        session.add(artist)
        await session.flush()
        release = Release(
            workspace_id=workspace.id,
            title="Night Tide",
            type=ReleaseType.album,
            upc=UPC,
            release_mode=ReleaseMode.local,
            release_date=date(2026, 9, 4),
            time_zone="UTC",
        )
        session.add(release)
        await session.flush()
        session.add(ReleaseArtist(release_id=release.id, artist_id=artist.id, position=0))
        for n, isrc in enumerate(ISRCS, start=1):
            session.add(Track(release_id=release.id, position=n, title=f"Tide {n}", isrc=isrc))
        link = Link(workspace_id=workspace.id, release_id=release.id, slug="night-tide")
        session.add(link)
        await session.flush()
        ids = (workspace.id, release.id, link.id, artist.id)
    return World(
        database=database,
        state=state,
        clock=clock,
        cipher=TokenCipher([Fernet.generate_key().decode()]),
        registry=registry,
        workspace_id=ids[0],
        release_id=ids[1],
        link_id=ids[2],
        artist_id=ids[3],
        settings=settings,
        transport=transport,
    )


async def drain(engine: FulfilmentEngine, *, owner: str = "test-worker", rounds: int = 20) -> int:
    """Schedule, then claim and process until no job is claimable now; returns jobs run."""
    await engine.schedule()
    processed = 0
    for _ in range(rounds):
        claimed = 0
        for service in SIM_SERVICE:
            jobs = await engine.claim(service, owner, 100)
            for job in jobs:
                await engine.process(job, owner)
            claimed += len(jobs)
        processed += claimed
        if not claimed:
            break
    return processed
