"""Re-plan benchmark: how long moving a release takes with N waiting pre-saves.

Seeds one local-mode release with N fans spread over the territory table's countries (a
tenth with a chosen zone, a third with an email reminder: a queued release-day message),
then moves its date once and times ``replan_release`` (the work ``PATCH /releases/{id}``
adds, in its transaction).
Not a test: run it by hand.

    .venv/bin/python bench/replan.py --presaves 100000 --database sqlite
    .venv/bin/python bench/replan.py --presaves 100000 --database postgresql

PostgreSQL runs use a scratch database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert, text

import launchlink.models  # noqa: F401  (registers the tables)
from launchlink.db import Database
from launchlink.kit.clock import FrozenClock
from launchlink.kit.ids import uuid7
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.migrate import upgrade_to_head
from launchlink.models import Fan, Link, Message, Presave, Release, Workspace
from launchlink.models.accounts import WorkspaceKind
from launchlink.models.catalog import ReleaseMode, ReleaseType
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.models.presave import PresaveState, ServiceMode
from launchlink.presave.replan import replan_release

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ZONES = ("Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin")


async def seed(database: Database, count: int, table: TerritoryTimeZones) -> uuid.UUID:
    rng = random.Random(8)
    countries = sorted(table.entries)
    async with database.transaction() as session:
        workspace = Workspace(name="Bench Records", kind=WorkspaceKind.label)
        session.add(workspace)
        await session.flush()
        release = Release(
            workspace_id=workspace.id,
            title="Bench",
            type=ReleaseType.album,
            release_mode=ReleaseMode.local,
            release_date=date(2026, 3, 6),
            time_zone="UTC",
        )
        session.add(release)
        await session.flush()
        link = Link(workspace_id=workspace.id, release_id=release.id, slug="bench")
        session.add(link)
        await session.flush()
        ids = workspace.id, release.id, link.id
    workspace_id, release_id, link_id = ids
    for start in range(0, count, 5000):
        fans, presaves, reminders = [], [], []
        for n in range(start, min(count, start + 5000)):
            fan_id, presave_id = uuid7(), uuid7()
            country = countries[n % len(countries)]
            chosen = rng.choice(ZONES) if n % 10 == 0 else None
            reminder = n % 3 == 0
            fans.append(
                {
                    "id": fan_id,
                    "workspace_id": workspace_id,
                    "email": f"fan-{n}@example.test",
                    "country": country,
                    "time_zone": chosen,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            presaves.append(
                {
                    "id": presave_id,
                    "workspace_id": workspace_id,
                    "link_id": link_id,
                    "release_id": release_id,
                    "fan_id": fan_id,
                    "service": "deezer" if reminder else "spotify",
                    "mode": ServiceMode.reminder if reminder else ServiceMode.direct_save,
                    "state": PresaveState.waiting,
                    "country": country,
                    "time_zone": chosen or "UTC",
                    "due_at": NOW,
                    "actions": {},
                    "outcome": {},
                    "standing": False,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            if reminder:
                reminders.append(
                    {
                        "id": uuid7(),
                        "workspace_id": workspace_id,
                        "fan_id": fan_id,
                        "link_id": link_id,
                        "release_id": release_id,
                        "presave_id": presave_id,
                        "channel": MessageChannel.email,
                        "kind": MessageKind.release_day,
                        "dedupe_key": f"release_day:{link_id}:{fan_id}:email",
                        "variables": {"service": "deezer"},
                        "send_at": NOW,
                        "next_attempt_at": NOW,
                        "state": MessageState.queued,
                        "attempts": 0,
                        "claims": 0,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        async with database.transaction() as session:
            await session.execute(insert(Fan), fans)
            await session.execute(insert(Presave), presaves)
            if reminders:
                await session.execute(insert(Message), reminders)
    return release_id


async def run(url: str, count: int) -> None:
    database = Database(url)
    table = TerritoryTimeZones.load()
    clock = FrozenClock(NOW)
    try:
        release_id = await seed(database, count, table)
        if database.dialect == "postgresql":
            # Fresh tables have no statistics yet; production ones do (autovacuum).
            async with database.transaction() as session:
                await session.execute(text("ANALYZE"))
        for day in (13, 20):
            async with database.transaction(write_lock=True) as session:
                release = await session.get(Release, release_id, with_for_update=True)
                assert release is not None
                release.release_date = date(2026, 3, day)
                await session.flush()
                started = time.perf_counter()
                result = await replan_release(session, release, territories=table, clock=clock)
                elapsed = time.perf_counter() - started
            print(
                f"{database.dialect}: {count} pre-saves, moved to 2026-03-{day}: "
                f"{result.moved} pre-saves and {result.messages} messages re-planned in "
                f"{elapsed:.2f} s ({result.moved / elapsed:,.0f} pre-saves/s)"
            )
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presaves", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
            upgrade_to_head(url)
            asyncio.run(run(url, args.presaves))
        return
    import psycopg

    name = f"launchlink_bench_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade_to_head(url)
        asyncio.run(run(url, args.presaves))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
