"""Rollup increments as written: one upsert per batch on PostgreSQL (arrays), so keys that
meet once their value is cut to the column's length are summed first."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import text

from launchlink.analytics.repository import AnalyticsRepository
from launchlink.analytics.rollups import RollupKey
from launchlink.db import Database

HOUR = datetime(2026, 12, 4, 9, tzinfo=UTC)


async def test_values_cut_to_the_same_text_are_counted_in_one_row(db: Database) -> None:
    scope = uuid.uuid4()
    long = "x" * 120
    counts: Counter[RollupKey] = Counter(
        {
            (scope, "h", HOUR, "view", "source", long + "a"): 2,
            (scope, "h", HOUR, "view", "source", long + "b"): 3,
            (scope, "h", HOUR, "view", "all", ""): 5,
        }
    )
    for _ in range(2):  # the second batch adds to the rows the first wrote
        async with db.transaction(write_lock=True) as session:
            await AnalyticsRepository(session).add_rollups(counts)
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT dimension, value, count FROM analytics_rollup ORDER BY dimension")
        )
        assert [tuple(row) for row in rows] == [("all", "", 10), ("source", long, 10)]


async def test_sightings_keyed_by_the_scopes_hex_come_back_as_given(db: Database) -> None:
    link = uuid.uuid4()
    day = HOUR.date()
    candidates = {
        (link.hex, day, "all", "a" * 32): HOUR,  # as visitor_candidates makes them
        (link.hex, day, "post", "a" * 32): HOUR,
    }
    async with db.transaction(write_lock=True) as session:
        new = await AnalyticsRepository(session).new_visitors(candidates)
    assert sorted(new) == sorted(candidates)
    async with db.transaction(write_lock=True) as session:
        # The same visitor keyed by the UUID (replay's and older callers' form): known.
        again = {(link, day, "all", "a" * 32): HOUR}
        assert await AnalyticsRepository(session).new_visitors(again) == []
