"""Totals over any range of hours equal the sum of its hourly cells.

A range's totals read whole days from the daily rows and ragged ends from the hourly
rows, or, for an end of more than half a day, its whole day less the hours outside
(queries.TimeRange.spans): every way must give what adding up the hours gives, cells
seen only outside the range included (they must not show up as zeros). It relies on
the writer counting each daily cell as the sum of its hours, checked last.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from launchlink.analytics import queries
from launchlink.analytics.repository import AnalyticsRepository
from launchlink.analytics.rollups import RollupKey, day_of, rollup_counts
from launchlink.db import Database

DAY_ONE = datetime(2027, 3, 1, tzinfo=UTC)
HOURS = 3 * 24 - 6  # the last six hours of the third day have no rows yet ("now")
CELLS = (
    ("view", "all", ""),
    ("view", "source", "instagram"),
    ("view", "source", "tiktok"),
    ("view", "country", "GB"),
    ("click", "service", "spotify"),
    ("visitor", "bucket", "all"),
)


def _hourly_counts(scope: uuid.UUID) -> Counter[RollupKey]:
    pick = random.Random(7)
    counts: Counter[RollupKey] = Counter()
    for hour in range(HOURS):
        start = DAY_ONE + timedelta(hours=hour)
        for metric, dimension, value in CELLS:
            if pick.random() < 0.6:  # cells come and go: some only in a few hours
                counts[(scope, "h", start, metric, dimension, value)] += pick.randint(1, 9)
    # One fan from Nigeria, early on the first day: outside every range from 05:00 on.
    counts[(scope, "h", DAY_ONE + timedelta(hours=2), "view", "country", "NG")] = 1
    return counts


def _with_days(hourly: Counter[RollupKey]) -> Counter[RollupKey]:
    """The daily rows as the writer leaves them: each the sum of its hours."""
    counts = Counter(hourly)
    for (scope, _, start, metric, dimension, value), count in hourly.items():
        counts[(scope, "d", day_of(start), metric, dimension, value)] += count
    return counts


def _expected(hourly: Counter[RollupKey], start: datetime, end: datetime) -> queries.Totals:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (_, _, at, metric, dimension, value), count in hourly.items():
        if start <= at < end:
            cell = out.setdefault(metric, {}).setdefault(dimension, {})
            cell[value] = cell.get(value, 0) + count
    return out


def _plain(found: queries.Totals) -> queries.Totals:
    return {
        metric: {d: dict(values) for d, values in dims.items()} for metric, dims in found.items()
    }


async def test_totals_over_ragged_ranges_add_up_their_hours(db: Database) -> None:
    scope = uuid.uuid4()
    hourly = _hourly_counts(scope)
    async with db.transaction(write_lock=True) as session:
        await AnalyticsRepository(session).add_rollups(_with_days(hourly))
    offsets = (0, 1, 5, 11, 12, 13, 20, 23)
    ranges = [
        (DAY_ONE + timedelta(hours=first), DAY_ONE + timedelta(days=2, hours=last))
        for first in offsets
        for last in (*offsets, 24)
    ]
    ranges += [  # within a day, across one midnight, and the whole of it
        (DAY_ONE + timedelta(hours=3), DAY_ONE + timedelta(hours=20)),
        (DAY_ONE + timedelta(hours=20), DAY_ONE + timedelta(hours=30)),
        (DAY_ONE, DAY_ONE + timedelta(days=3)),
    ]
    async with db.sessionmaker() as session:
        for start, end in ranges:
            found = await queries.totals(session, scope, queries.TimeRange(start, end))
            assert _plain(found) == _expected(hourly, start, end), (start, end)


def test_an_end_of_more_than_half_a_day_reads_its_day_less_the_other_hours() -> None:
    start = DAY_ONE + timedelta(hours=5)
    end = DAY_ONE + timedelta(days=2, hours=3)
    spans = queries.TimeRange(start, end).spans()
    assert spans.days == (DAY_ONE, DAY_ONE + timedelta(days=2))
    assert spans.less_hours == [(DAY_ONE, start)]
    assert spans.hours == [(DAY_ONE + timedelta(days=2), end)]


def test_the_writer_counts_every_daily_cell_as_the_sum_of_its_hours() -> None:
    """What the day-less-hours reading relies on (rollups.rollup_counts)."""
    link, workspace = uuid.uuid4(), uuid.uuid4()
    pick = random.Random(3)
    rows = [
        {
            "ts": DAY_ONE + timedelta(minutes=pick.randint(0, 2 * 24 * 60 - 1)),
            "link_id": link, "workspace_id": workspace,
            "kind": pick.choice(["page_view", "service_click", "presave_start"]),
            "service": pick.choice(["spotify", "deezer"]), "reason": None,
            "source": pick.choice(["instagram", "direct"]), "channel": "",
            "bot_class": pick.choice(["human", "human", "preview"]), "device_class": "mobile",
            "in_app": "", "phase": pick.choice(["presave", "live"]), "os": "iOS",
            "automatic": False, "country": pick.choice(["GB", "US", None]),
        }
        for _ in range(400)
    ]  # fmt: skip
    seen = [(workspace, "all", row["ts"]) for row in rows[:50]]
    came_back = [(link, workspace, row["ts"]) for row in rows[50:60]]
    counts = rollup_counts(rows, new_visitors=seen, returns=came_back)
    summed: Counter[RollupKey] = Counter()
    for (scope, period, start, metric, dimension, value), count in counts.items():
        if period == "h":
            summed[(scope, "d", day_of(start), metric, dimension, value)] += count
    daily = {key: count for key, count in counts.items() if key[1] == "d"}
    assert daily == dict(summed)
    assert len(daily) > 50
