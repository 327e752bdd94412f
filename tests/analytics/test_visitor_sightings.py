"""Visitor sightings: one row per scope, day and visitor with its buckets as bits.

The upgrade folds the old four-rows-per-view sightings without losing one, and the
upsert then reports exactly the buckets a batch adds (a visitor counts once per bucket).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import create_engine, text

from launchlink.analytics.repository import AnalyticsRepository
from launchlink.db import Database
from launchlink.migrate import alembic_config
from tests.links.test_domain_migration import empty_database_url  # noqa: F401  (fixture)

DAY = date(2026, 12, 3)
SEEN = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


async def test_the_upgrade_folds_old_sightings_and_the_upsert_adds_only_new_buckets(
    empty_database_url: str,  # noqa: F811
) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0021")
    link, workspace = uuid.uuid4(), uuid.uuid4()
    engine = create_engine(empty_database_url.replace("+aiosqlite", ""))
    sqlite = engine.dialect.name == "sqlite"

    def value(identifier: uuid.UUID) -> object:
        return identifier.hex if sqlite else identifier

    old = [
        (link, "all", "a" * 32), (link, "post", "a" * 32),
        (workspace, "all", "a" * 32), (workspace, "post", "a" * 32),
        (link, "all", "b" * 32), (link, "pre", "b" * 32),
    ]  # fmt: skip
    with engine.begin() as connection:
        for scope, bucket, visitor in old:
            connection.execute(
                text(
                    "INSERT INTO analytics_visitor (scope_id, day, bucket, visitor_hash) "
                    "VALUES (:scope, :day, :bucket, :visitor)"
                ),
                {"scope": value(scope), "day": DAY, "bucket": bucket, "visitor": visitor},
            )
    engine.dispose()
    await asyncio.to_thread(command.upgrade, config, "head")

    database = Database(empty_database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(
                text("SELECT visitor_hash, buckets FROM analytics_visitor_day ORDER BY 1, 2")
            )
            assert [tuple(row) for row in rows] == [("a" * 32, 5), ("a" * 32, 5), ("b" * 32, 3)]
        candidates = {
            (link, DAY, "all", "a" * 32): SEEN,  # known
            (link, DAY, "pre", "a" * 32): SEEN,  # a new bucket of a known visitor
            (workspace, DAY, "post", "a" * 32): SEEN,  # known
            (link, DAY, "all", "c" * 32): SEEN,  # a new visitor
            (link, DAY, "post", "c" * 32): SEEN,
        }
        async with database.transaction(write_lock=True) as session:
            new = await AnalyticsRepository(session).new_visitors(candidates)
        assert sorted(new, key=str) == sorted(
            [
                (link, DAY, "pre", "a" * 32),
                (link, DAY, "all", "c" * 32),
                (link, DAY, "post", "c" * 32),
            ],
            key=str,
        )
        async with database.transaction(write_lock=True) as session:
            # The same batch again (another worker's retry): nothing is new twice.
            assert await AnalyticsRepository(session).new_visitors(candidates) == []
    finally:
        await database.dispose()
