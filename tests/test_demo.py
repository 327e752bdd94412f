from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.demo import align_simulator_with_demo, embedded_simulator_state, seed_demo
from launchlink.kit.clock import FrozenClock
from launchlink.models import ApiKey, Destination, Link, Release, Workspace

SEEDED_AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def demo_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, var_dir=tmp_path / "var", public_url="http://demo.test"
    )


async def count(database: Database, model: type[object]) -> int:
    async with database.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_the_demo_seeds_two_links_and_seeding_again_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    settings = demo_settings(database_url, tmp_path)
    first = await seed_demo(settings, FrozenClock(SEEDED_AT))
    second = await seed_demo(settings, FrozenClock(SEEDED_AT + timedelta(hours=1)))
    assert first.api_key == second.api_key
    assert first.single_release_date == (SEEDED_AT + timedelta(days=7)).date()
    database = Database(settings.resolved_database_url)
    try:
        assert await count(database, Workspace) == 1
        assert await count(database, Release) == 2
        assert await count(database, Link) == 2
        assert await count(database, ApiKey) == 1
        async with database.sessionmaker() as session:
            demo = (await session.execute(select(Link).where(Link.slug == "demo"))).scalar_one()
            services = (
                (
                    await session.execute(
                        select(Destination.service).where(Destination.link_id == demo.id)
                    )
                )
                .scalars()
                .all()
            )
        assert len(services) >= 8
        assert {"spotify", "apple_music", "deezer", "tidal"} <= set(services)
    finally:
        await database.dispose()


async def test_the_demo_pages_are_served(database_url: str, tmp_path: Path) -> None:
    settings = demo_settings(database_url, tmp_path)
    await seed_demo(settings)
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo.test"
    ) as client:
        live = await client.get("/demo", headers={"user-agent": IPHONE})
        soon = await client.get("/demo-soon", headers={"user-agent": IPHONE})
    await app.context.database.dispose()
    assert live.status_code == 200
    assert "Midnight Cartography" in live.text
    assert soon.status_code == 200
    assert "Lantern Light" in soon.text


async def test_the_embedded_simulator_releases_the_single_with_the_seeded_date(
    database_url: str, tmp_path: Path
) -> None:
    settings = demo_settings(database_url, tmp_path)
    result = await seed_demo(settings, FrozenClock(SEEDED_AT))
    state = embedded_simulator_state(settings)
    database = Database(settings.resolved_database_url)
    try:
        await align_simulator_with_demo(state, database, settings)
    finally:
        await database.dispose()
    single = state.catalog.albums["lantern-light"]
    # Local mode: London goes live at its midnight, the US (reference zone New York) 5 h later.
    london = single.availability["GB"]
    united_states = single.availability["US"]
    assert london is not None
    assert united_states is not None
    assert london.date() == result.single_release_date
    assert united_states - london == timedelta(hours=5)
