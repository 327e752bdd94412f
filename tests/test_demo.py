from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.demo import (
    align_simulator_with_demo,
    embedded_simulator_state,
    parse_duration,
    seed_demo,
)
from launchlink.kit.clock import FrozenClock
from launchlink.models import ApiKey, Destination, Fan, Link, Presave, Release, Workspace
from launchlink.models.presave import PresaveState, ServiceMode

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
    await app.shutdown()
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


def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from launchlink.cli import app as cli

    result = CliRunner().invoke(cli, ["demo", *args], env=env)
    return result.exit_code, result.output


async def _single(database_url: str) -> Release:
    database = Database(database_url)
    try:
        async with database.sessionmaker() as session:
            return (
                await session.execute(select(Release).where(Release.title == "Lantern Light"))
            ).scalar_one()
    finally:
        await database.dispose()


async def _versions(database_url: str) -> dict[str, int]:
    database = Database(database_url)
    try:
        async with database.sessionmaker() as session:
            return {
                link.slug: link.version for link in (await session.execute(select(Link))).scalars()
            }
    finally:
        await database.dispose()


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_PUBLIC_URL": "http://demo.test",
    }


async def test_release_in_moves_the_single_to_one_instant_soon_and_says_when(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    assert (await asyncio.to_thread(_cli, env))[0] == 0
    before_versions = await _versions(database_url)
    before = datetime.now(UTC)
    code, output = await asyncio.to_thread(_cli, env, "--release-in", "2m")
    after = datetime.now(UTC)
    assert code == 0, output
    single = await _single(database_url)
    assert single.release_mode.value == "global"
    assert single.release_instant is not None
    assert before + timedelta(minutes=2) <= single.release_instant <= after + timedelta(minutes=2)
    assert single.release_date is None
    said = " ".join(output.split())  # the console wraps long lines
    assert "now releases at" in said
    assert single.release_instant.strftime("%Y-%m-%d %H:%M:%S UTC") in said
    assert f"launchlink fulfil --release {single.id} --watch" in said
    # Through the catalogue's release update: the single's link changed, the album's did not.
    versions = await _versions(database_url)
    assert versions["demo-soon"] > before_versions["demo-soon"]
    assert versions["demo"] == before_versions["demo"]


@pytest.mark.parametrize("delay", ["soon", "2", "-1m", "0s", "31d", "2m30"])
def test_release_in_refuses_what_is_not_a_duration(
    database_url: str, tmp_path: Path, delay: str
) -> None:
    code, output = _cli(_env(database_url, tmp_path), "--release-in", delay)
    assert code == 2
    assert "--release-in" in output


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1h", 3600), ("1h30m", 5400), ("2d", 172800)]
)
def test_durations_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


async def test_a_serving_instance_moves_its_simulator_when_another_process_moves_the_release(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    settings = demo_settings(database_url, tmp_path).model_copy(
        update={"simulator_embedded": True, "environment": "test"}
    )
    await seed_demo(settings)
    app = create_app(settings)
    try:
        assert app.simulator_state is not None
        assert app.simulator_aligner is not None
        await align_simulator_with_demo(app.simulator_state, app.context.database, settings)
        feed = app.context.link_changes
        assert feed is not None
        feed.last_seen = await _last_change(app.context.database)
        # Another process (the CLI) moves the release...
        launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
        moved = await asyncio.to_thread(
            subprocess.run,
            [launchlink, "demo", "--release-in", "90s"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert moved.returncode == 0, moved.stderr
        # ...and this process's change feed carries it to the simulated services.
        assert await feed.poll_once()
        await app.simulator_aligner.idle()
    finally:
        await app.shutdown()
    single = await _single(database_url)
    album = app.simulator_state.catalog.albums["lantern-light"]
    assert album.available_from == single.release_instant
    assert album.availability["GB"] == single.release_instant
    assert album.availability["US"] == single.release_instant


async def _last_change(database: Database) -> int:
    from launchlink.links.repository import LinkRepository

    async with database.sessionmaker() as session:
        return await LinkRepository(session).last_change_id()


async def test_a_moved_release_long_past_goes_back_to_a_week_ahead(
    database_url: str, tmp_path: Path
) -> None:
    settings = demo_settings(database_url, tmp_path)
    moved = await seed_demo(settings, FrozenClock(SEEDED_AT), release_in=timedelta(minutes=2))
    assert moved.moved_to == SEEDED_AT + timedelta(minutes=2)
    later = SEEDED_AT + timedelta(days=1)
    again = await seed_demo(settings, FrozenClock(later))
    single = await _single(settings.resolved_database_url)
    assert single.release_mode.value == "local"
    assert single.release_date == (later + timedelta(days=7)).date()
    assert again.single_release_date == single.release_date


async def _waiting_presave_on_the_single(database_url: str) -> None:
    """A fan who pre-saved the demo single from London, waiting for its local midnight."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            single = (
                await session.execute(select(Release).where(Release.title == "Lantern Light"))
            ).scalar_one()
            link = (
                await session.execute(select(Link).where(Link.slug == "demo-soon"))
            ).scalar_one()
            fan = Fan(workspace_id=single.workspace_id)
            session.add(fan)
            await session.flush()
            session.add(
                Presave(
                    workspace_id=single.workspace_id,
                    link_id=link.id,
                    release_id=single.id,
                    fan_id=fan.id,
                    service="deezer",
                    mode=ServiceMode.reminder,
                    state=PresaveState.waiting,
                    country="GB",
                    time_zone="Europe/London",
                    due_at=datetime.now(UTC) + timedelta(days=7),
                    actions={"remind": True},
                    outcome={},
                )
            )
    finally:
        await database.dispose()


async def test_release_in_brings_every_waiting_presave_to_the_new_moment(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    assert (await asyncio.to_thread(_cli, env))[0] == 0
    await _waiting_presave_on_the_single(database_url)

    code, output = await asyncio.to_thread(_cli, env, "--release-in", "2m")

    assert code == 0, output
    single = await _single(database_url)
    database = Database(database_url)
    try:
        async with database.sessionmaker() as session:
            presave = (await session.execute(select(Presave))).scalar_one()
    finally:
        await database.dispose()
    # One global instant now: the London fan is due two minutes from the command, not next week.
    assert presave.due_at == single.release_instant
    assert presave.state.value == "waiting"
