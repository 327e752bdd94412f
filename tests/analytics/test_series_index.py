"""The series index (migration 0030): only the cells a time series reads, in time order.

A series must be read through it on both databases — the query repeats the index's
condition word for word, else neither planner can use a partial index — and the
migration keeps every rollup and goes back to the full index.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from launchlink.analytics import queries
from launchlink.analytics.repository import AnalyticsRepository
from launchlink.analytics.rollups import RollupKey
from launchlink.db import Base, Database
from launchlink.migrate import alembic_config
from tests.links.test_domain_migration import empty_database_url  # noqa: F401  (fixture)

START = datetime(2027, 3, 1, tzinfo=UTC)


async def _fill(database: Database, scope: uuid.UUID) -> None:
    counts: Counter[RollupKey] = Counter()
    for hour in range(3):
        at = START + timedelta(hours=hour)
        for metric, dimension, value, count in (
            ("view", "all", "", 10 + hour),
            ("view", "source", "instagram", 7),
            ("click", "all", "", 3 * hour),
            ("visitor", "bucket", "all", 4),
            ("visitor", "bucket", "pre", 2),
        ):
            counts[(scope, "h", at, metric, dimension, value)] += count
            counts[(scope, "d", START, metric, dimension, value)] += count
    async with database.transaction(write_lock=True) as session:
        await AnalyticsRepository(session).add_rollups(counts)


async def test_an_hourly_series_is_one_point_per_hour_from_the_series_cells(
    db: Database,
) -> None:
    scope = uuid.uuid4()
    await _fill(db, scope)
    async with db.sessionmaker() as session:
        points = await queries.series(
            session, scope, START, START + timedelta(hours=4), "hour", ("view", "visitor")
        )
        days = await queries.series(session, scope, START, START + timedelta(days=1), "day")
    assert points == [
        {"start": START, "views": 10, "visitors": 4},
        {"start": START + timedelta(hours=1), "views": 11, "visitors": 4},
        {"start": START + timedelta(hours=2), "views": 12, "visitors": 4},
        {"start": START + timedelta(hours=3), "views": 0, "visitors": 0},
    ]
    assert days == [
        {"start": START, "views": 33, "clicks": 9, "visitors": 12, "bot_views": 0,
         "presaves": 0, "presavers_returned": 0},
    ]  # fmt: skip


def _plan_sql(postgres: bool) -> str:
    # The statement rollup_series sends, with its parameters written in.
    moment = "CAST(EXTRACT(EPOCH FROM start) AS BIGINT)" if postgres else "start"
    scope = "'00000000-0000-0000-0000-000000000001'" if postgres else "'0' "
    return (
        f"SELECT {moment}, CAST(SUM(CASE WHEN metric = 'view' THEN count ELSE 0 END) AS "
        f"BIGINT) FROM analytics_rollup WHERE scope_id = {scope} AND period = 'h' AND start "
        ">= '2027-03-01 00:00:00' AND start < '2027-03-02 00:00:00' AND metric IN ('view') "
        "AND dimension IN ('all', 'bucket') AND value IN ('', 'all') GROUP BY start"
    )


async def test_the_series_query_reads_the_series_index(db: Database) -> None:
    postgres = db.dialect == "postgresql"
    async with db.sessionmaker() as session:
        if postgres:
            # A test's table is tiny: without these the planner would rather scan it.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        result = await session.execute(text(explain + _plan_sql(postgres)))
        plan = " ".join(str(part) for row in result for part in row)
    assert "ix_analytics_rollup_series" in plan
    assert ("Index Only Scan" if postgres else "COVERING INDEX") in plan


def _rollup_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        change
        for change in compare_metadata(context, Base.metadata)
        if "analytics_rollup" in repr(change)
    ]


async def test_the_rollup_table_matches_its_migration(db: Database) -> None:
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_rollup_diff) == []


async def test_the_migration_keeps_the_rollups_and_goes_back(
    empty_database_url: str,  # noqa: F811
) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0030")
    scope = uuid.uuid4()
    database = Database(empty_database_url)
    try:
        await _fill(database, scope)
    finally:
        await database.dispose()
    before = ScriptDirectory.from_config(config).get_revision("0030").down_revision
    assert isinstance(before, str)
    await asyncio.to_thread(command.downgrade, config, before)
    engine = create_engine(empty_database_url.replace("+aiosqlite", ""))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*), sum(count) FROM analytics_rollup"))
        assert tuple(rows.one()) == (20, 162)
        names = connection.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'index'"
                if engine.dialect.name == "sqlite"
                else "SELECT indexname FROM pg_indexes WHERE tablename = 'analytics_rollup'"
            )
        )
        assert "ix_analytics_rollup_series" in {name for (name,) in names}
    engine.dispose()
    await asyncio.to_thread(command.upgrade, config, "head")
    database = Database(empty_database_url)
    try:
        async with database.sessionmaker() as session:
            hour = START + timedelta(hours=2)
            points = await queries.series(
                session, scope, hour, hour + timedelta(hours=1), "hour", ("click",)
            )
        assert points == [{"start": hour, "clicks": 6}]
    finally:
        await database.dispose()
