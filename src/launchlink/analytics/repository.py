"""All of analytics' SQL: raw events, rollups, visitor sightings, returns, salts."""

# ruff: noqa: S608  (the statements are built from this module's own column names only)

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.analytics.ingest import SHAPE_FIELDS
from launchlink.analytics.rollups import RollupKey, VisitorKey
from launchlink.models.analytics import (
    SERIES_CELLS,
    VISITOR_BUCKET_BITS,
    AnalyticsEvent,
    AnalyticsInbox,
    AnalyticsReturn,
    AnalyticsRollup,
    AnalyticsSalt,
    AnalyticsShape,
    AnalyticsVisitor,
)
from launchlink.models.catalog import Release
from launchlink.models.links import Link
from launchlink.models.presave import Presave

# SQLite allows 32,766 bound parameters per statement; stay well under it.
_CHUNK_PARAMETERS = 30_000
# Flushes take this lock shared, a rebuild of rollups exclusively (PostgreSQL only;
# SQLite's single writer already serialises them).
_ROLLUP_LOCK = 0x4C4C_414E  # "LLAN"

# The narrow raw row as written (the shape is ``analytics_shape``, by ``shape_id``).
EVENT_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in AnalyticsEvent.__table__.columns if column.name != "id"
)
_EVENT_MIDDLE = operator.itemgetter("kind", "service", "phase")
_EVENT_END = operator.itemgetter("reason", "country", "visitor_hash")
ShapeKey = tuple[str, int]  # digest, classifier version
_Returned = tuple[Any, Any, str, int]  # scope, day, visitor hash, bits added
_ROLLUP_VALUE_LENGTH = 120  # AnalyticsRollup.value
_BUCKET_OF_BIT = tuple((bit, name) for name, bit in VISITOR_BUCKET_BITS.items())
ROLLUP_DIMENSIONS_OF_SUMMARY = (
    "all",
    "service",
    "source",
    "channel",
    "country",
    "device",
)


def _sqlite_time(value: datetime) -> str:
    """A time as SQLAlchemy's DateTime stores it on SQLite (UTC, microseconds always)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_times() -> Callable[[datetime], str]:
    """:func:`_sqlite_time` for many times: the text up to the second is formatted once per
    second (a batch's events share a few seconds), the microseconds per time."""
    seconds: dict[tuple[int, int, int, int, int, int], str] = {}

    def convert(value: datetime) -> str:
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        second = (value.year, value.month, value.day, value.hour, value.minute, value.second)
        prefix = seconds.get(second)
        if prefix is None:
            prefix = seconds[second] = value.isoformat(" ", "seconds")[:19]
        return f"{prefix}.{value.microsecond:06d}"

    return convert


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _chunks(rows: Sequence[Any], width: int) -> list[Sequence[Any]]:
    size = max(1, _CHUNK_PARAMETERS // max(1, width))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._is_postgres: bool | None = None
        self._hexes: dict[UUID, str] = {}

    @property
    def _postgres(self) -> bool:
        postgres = self._is_postgres
        if postgres is None:
            postgres = self._is_postgres = self.session.get_bind().dialect.name == "postgresql"
        return postgres

    def _insert(self, table: Any) -> Any:
        return postgresql_insert(table) if self._postgres else sqlite_insert(table)

    # -- writing --------------------------------------------------------------------------

    async def lock_rollups(self, *, exclusive: bool = False) -> None:
        if self._postgres:
            function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            await self.session.execute(text(f"SELECT {function}({_ROLLUP_LOCK})"))

    async def shape_ids(self, wanted: Mapping[ShapeKey, Mapping[str, Any]]) -> dict[ShapeKey, int]:
        """The ids of the shapes ``wanted`` (key → a row of that shape), stored if new."""
        if not wanted:
            return {}
        found = await self._stored_shapes(list(wanted))
        missing = [key for key in wanted if key not in found]
        if missing:
            columns = ("digest", *SHAPE_FIELDS)
            # In key order: two PostgreSQL writers adding the same shapes cannot deadlock.
            missing.sort()
            await self._insert_returning(
                "analytics_shape",
                columns,
                [(key[0], *(wanted[key][name] for name in SHAPE_FIELDS)) for key in missing],
                ("id",),
            )
            # Another writer may have stored some first (DO NOTHING returns nothing then).
            found.update(await self._stored_shapes(missing))
        return found

    async def _stored_shapes(self, keys: Sequence[ShapeKey]) -> dict[ShapeKey, int]:
        found: dict[ShapeKey, int] = {}
        wanted = set(keys)
        connection = await self.session.connection()
        mark = self._placeholder()
        for chunk in _chunks(sorted({digest for digest, _ in keys}), 1):
            result = await connection.exec_driver_sql(
                "SELECT digest, classifier_version, id FROM analytics_shape WHERE digest IN ("
                + ", ".join([mark] * len(chunk))
                + ")",
                tuple(chunk),
            )
            for row in result:
                digest, version, shape_id = tuple(row)
                key = (str(digest), int(version))
                if key in wanted:
                    found[key] = int(shape_id)
        return found

    async def insert_events(
        self, rows: Sequence[Mapping[str, Any]], shape_ids: Mapping[ShapeKey, int]
    ) -> None:
        """Narrow raw rows, each referring to its shape (``shape_ids``: every row's).

        Straight to the driver: SQLAlchemy's per-value processing costs more than the
        insert itself at these rates (bench/analytics.py). PostgreSQL: COPY.
        """
        if not rows:
            return
        middle, end = _EVENT_MIDDLE, _EVENT_END
        if self._postgres:
            await self._copy(
                "analytics_event",
                EVENT_COLUMNS,
                [
                    (row["ts"], row["workspace_id"], row["link_id"], *middle(row),
                     row["automatic"], *end(row),
                     shape_ids[(row["shape"], row["classifier_version"])])
                    for row in rows
                ],
            )  # fmt: skip
            return
        # A batch has a few ids, each converted once; the dict first (a method call per
        # value cost more than the conversion), the method when it misses.
        hexes, uuid, time = self._hexes.get, self._sqlite_uuid, _sqlite_times()
        values = [
            (time(row["ts"]), hexes(row["workspace_id"]) or uuid(row["workspace_id"]),
             hexes(row["link_id"]) or uuid(row["link_id"]), *middle(row),
             1 if row["automatic"] else 0, *end(row),
             shape_ids[(row["shape"], row["classifier_version"])])
            for row in rows
        ]  # fmt: skip
        marks = ", ".join(["?"] * len(EVENT_COLUMNS))
        await self._executemany(
            f"INSERT INTO analytics_event ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})",
            values,
        )

    async def new_visitors(self, candidates: Mapping[VisitorKey, datetime]) -> list[VisitorKey]:
        """Record the sightings not yet known; returns the keys that were new.

        One row per (scope, day, visitor) with the buckets as bits: the upsert adds the
        missing bits and says which it added (``added``); rows with nothing to add are
        neither written nor returned.
        """
        if not candidates:
            return []
        bits = VISITOR_BUCKET_BITS
        wanted: dict[tuple[Any, Any, str], int] = {}
        for scope, day, bucket, visitor in candidates:
            key = (scope, day, visitor)
            wanted[key] = wanted.get(key, 0) | bits[bucket]
        sql = (
            "INSERT INTO analytics_visitor_day AS v (scope_id, day, visitor_hash, buckets, "
            "added) {values} ON CONFLICT (scope_id, day, visitor_hash) DO UPDATE SET "
            "added = excluded.buckets & ~v.buckets, buckets = v.buckets | excluded.buckets "
            "WHERE (v.buckets & excluded.buckets) != excluded.buckets "
            "RETURNING {scope}, day, visitor_hash, added"
        )
        returned: list[_Returned] = []
        # The keys as the statement hands them back (the scope's hex, the day as stored
        # on SQLite) → the caller's keys.
        back: dict[tuple[Any, ...], tuple[Any, Any, str]] = {}
        connection = await self.session.connection()
        if self._postgres:
            for key in wanted:
                scope = key[0]
                back[(scope if isinstance(scope, str) else scope.hex, key[1], key[2])] = key
            # One statement of five array parameters, in key order (two writers upserting
            # the same rows cannot deadlock; the hex sorts as the UUID does): parsing and
            # binding 30,000 placeholders cost PostgreSQL more than the inserts.
            ordered = sorted(back)
            result = await connection.exec_driver_sql(
                sql.format(values="SELECT *, b FROM unnest(%s::text[]::uuid[], %s::date[], "
                           "%s::text[], %s::smallint[]) AS u(s, d, h, b)",
                           scope="replace(CAST(scope_id AS TEXT), '-', '')"),
                ([k[0] for k in ordered], [k[1] for k in ordered], [k[2] for k in ordered],
                 [wanted[back[k]] for k in ordered]),
            )  # fmt: skip
            returned = [cast(_Returned, tuple(row)) for row in result]
        else:
            uuid = self._sqlite_uuid
            days: dict[Any, str] = {}
            for key in wanted:
                scope, day, visitor = key
                stored_day = days.get(day)
                if stored_day is None:
                    stored_day = days[day] = day.isoformat()
                stored_scope = scope if isinstance(scope, str) else uuid(scope)
                back[(stored_scope, stored_day, visitor)] = key
            # In key order: neighbouring keys share the b-tree's pages (random order cost
            # 40 % more per row on the bench's sightings).
            flat: list[Any] = []
            for stored in sorted(back):
                value = wanted[back[stored]]
                flat.extend((*stored, value, value))
            width = 5
            size = _CHUNK_PARAMETERS // width
            for begin in range(0, len(flat), size * width):
                chunk = flat[begin : begin + size * width]
                rows = len(chunk) // width
                statement = sql.format(
                    values="VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * rows), scope="scope_id"
                )
                result = await connection.exec_driver_sql(statement, tuple(chunk))
                returned.extend(cast(_Returned, tuple(row)) for row in result)
        names = _BUCKET_OF_BIT
        new: list[VisitorKey] = []
        for scope, day, visitor, added in returned:
            key = back[(scope, day, visitor)]
            for bit, name in names:
                if added & bit:
                    new.append((key[0], key[1], name, key[2]))
        return new

    async def add_rollups(self, counts: Counter[RollupKey]) -> None:
        if not counts:
            return
        if any(len(key[5]) > _ROLLUP_VALUE_LENGTH for key in counts):
            # Values cut to the column's length may meet: one row each (PostgreSQL's
            # single upsert below may not touch a row twice).
            merged: Counter[RollupKey] = Counter()
            for (s, p, t, m, d, v), total in counts.items():
                merged[(s, p, t, m, d, v[:_ROLLUP_VALUE_LENGTH])] += total
            counts = merged
        # A fixed order: two PostgreSQL writers upserting the same rows cannot deadlock.
        keys = sorted(counts, key=lambda k: (k[0].int, k[1], k[2], k[3], k[4], k[5]))
        upsert = (
            "INSERT INTO analytics_rollup AS r (scope_id, period, start, metric, dimension, "
            "value, count) {values} ON CONFLICT (scope_id, period, start, metric, dimension, "
            "value) DO UPDATE SET count = r.count + excluded.count"
        )
        if self._postgres:
            # One statement of seven array parameters: an executemany of thousands of rows
            # is a round of parse-bind-execute per row on the server (bench/analytics.py).
            connection = await self.session.connection()
            await connection.exec_driver_sql(
                upsert.format(values="SELECT * FROM unnest(%s::uuid[], %s::text[], "
                              "%s::timestamptz[], %s::text[], %s::text[], %s::text[], "
                              "%s::bigint[])"),
                ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                 [k[3] for k in keys], [k[4] for k in keys], [k[5] for k in keys],
                 [counts[k] for k in keys]),
            )  # fmt: skip
            return
        uuid = self._sqlite_uuid
        times: dict[datetime, str] = {}
        values: list[tuple[Any, ...]] = []
        for s, p, t, m, d, v in keys:
            start = times.get(t)
            if start is None:
                start = times[t] = _sqlite_time(t)
            values.append((uuid(s), p, start, m, d, v, counts[(s, p, t, m, d, v)]))
        await self._executemany(upsert.format(values="VALUES (?, ?, ?, ?, ?, ?, ?)"), values)

    def _sqlite_uuid(self, value: UUID | None) -> str | None:
        # A batch has a few distinct ids, each converted once.
        if value is None:
            return None
        stored = self._hexes.get(value)
        if stored is None:
            stored = self._hexes[value] = value.hex
        return stored

    async def presaver_browsers(self, wanted: Sequence[tuple[UUID, str]]) -> set[tuple[UUID, str]]:
        """Which (link, browser hash) pairs belong to a pre-save of that link."""
        if not wanted:
            return set()
        found: set[tuple[UUID, str]] = set()
        for chunk in _chunks(list(wanted), 2):
            condition = or_(
                *(and_(Presave.link_id == link, Presave.browser_hash == h) for link, h in chunk)
            )
            result = await self.session.execute(
                select(Presave.link_id, Presave.browser_hash).where(condition).distinct()
            )
            found.update((row[0], str(row[1])) for row in result)
        return found

    async def new_returns(
        self, candidates: Mapping[tuple[UUID, str], datetime]
    ) -> list[tuple[UUID, str]]:
        if not candidates:
            return []
        param = self._param
        keys = sorted(candidates, key=lambda k: (str(k[0]), k[1]))
        by_stored = {(param(link), h): (link, h) for link, h in keys}
        returned = await self._insert_returning(
            "analytics_return",
            ("link_id", "browser_hash", "first_seen"),
            [(param(link), h, param(candidates[(link, h)])) for link, h in keys],
            ("link_id", "browser_hash"),
        )
        return [by_stored[(self._param(row[0]), row[1])] for row in returned]

    # -- the driver-level fast path ---------------------------------------------------------

    def _param(self, value: Any) -> Any:
        """A value as the driver takes it, in the form SQLAlchemy's types store it."""
        if self._postgres:
            return value
        if isinstance(value, UUID):
            return value.hex
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value

    async def _copy(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL ``COPY … FROM STDIN`` on the session's connection (its transaction)."""
        if not rows:
            return
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        async with driver.cursor() as cursor:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            async with cursor.copy(statement) as copy:
                for row in rows:
                    await copy.write_row(row)

    def _placeholder(self) -> str:
        return "%s" if self._postgres else "?"

    async def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            connection = await self.session.connection()
            await connection.exec_driver_sql(sql, rows)

    async def _insert_returning(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]],
        returning: Sequence[str],
    ) -> list[tuple[Any, ...]]:  # fmt: skip
        """Multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` in chunks (no compile)."""
        found: list[tuple[Any, ...]] = []
        connection = await self.session.connection()
        mark = self._placeholder()
        one = "(" + ", ".join([mark] * len(columns)) + ")"
        for chunk in _chunks(rows, len(columns)):
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join([one] * len(chunk))
                + f" ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
            )
            flat = tuple(value for row in chunk for value in row)
            result = await connection.exec_driver_sql(sql, flat)
            found.extend(tuple(row) for row in result)
        return found

    # -- the inbox (web processes' anonymised flushes) ------------------------------------

    async def add_to_inbox(self, payloads: Sequence[tuple[bytes, int]], *, now: datetime) -> None:
        await self.session.execute(
            insert(AnalyticsInbox),
            [{"created_at": now, "events": n, "payload": payload} for payload, n in payloads],
        )

    async def claim_inbox(self, *, limit: int) -> list[tuple[int, bytes]]:
        """The oldest waiting flushes, locked for this transaction; on PostgreSQL rows
        another worker holds are skipped (SQLite's one writer already serialises)."""
        statement = (
            select(AnalyticsInbox.id, AnalyticsInbox.payload)
            .order_by(AnalyticsInbox.id)
            .limit(limit)
        )
        if self._postgres:
            statement = statement.with_for_update(skip_locked=True)
        return [(int(row[0]), bytes(row[1])) for row in await self.session.execute(statement)]

    async def delete_from_inbox(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(delete(AnalyticsInbox).where(AnalyticsInbox.id.in_(ids)))

    async def inbox_waiting(self) -> int:
        """Events in the inbox not yet enriched (for /metrics and tests)."""
        result = await self.session.execute(
            select(func.coalesce(func.sum(AnalyticsInbox.events), 0))
        )
        return int(result.scalar_one())

    # -- salts ----------------------------------------------------------------------------

    async def salts(self, days: Sequence[date]) -> dict[date, str]:
        if not days:
            return {}
        result = await self.session.execute(
            select(AnalyticsSalt.day, AnalyticsSalt.salt).where(AnalyticsSalt.day.in_(days))
        )
        return {row[0]: str(row[1]) for row in result}

    async def create_salt(self, day: date, salt: str, now: datetime) -> None:
        statement = (
            self._insert(AnalyticsSalt.__table__)
            .values(day=day, salt=salt, created_at=now)
            .on_conflict_do_nothing()
        )
        await self.session.execute(statement)

    async def delete_salts_before(self, day: date) -> int:
        result = await self.session.execute(delete(AnalyticsSalt).where(AnalyticsSalt.day < day))
        return int(getattr(result, "rowcount", 0) or 0)

    async def salt_days(self) -> list[date]:
        result = await self.session.execute(select(AnalyticsSalt.day).order_by(AnalyticsSalt.day))
        return list(result.scalars())

    # -- retention ------------------------------------------------------------------------

    async def prune_events_before(self, cutoff: datetime, *, limit: int = 50_000) -> int:
        """Delete up to ``limit`` raw events older than ``cutoff``; returns how many."""
        ids = select(AnalyticsEvent.id).where(AnalyticsEvent.ts < cutoff).limit(limit)
        result = await self.session.execute(
            delete(AnalyticsEvent).where(AnalyticsEvent.id.in_(ids.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def prune_visitors_before(self, day: date) -> int:
        result = await self.session.execute(
            delete(AnalyticsVisitor).where(AnalyticsVisitor.day < day)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- reading --------------------------------------------------------------------------

    async def link_of_workspace(self, workspace_id: UUID, link_id: UUID) -> Link | None:
        result = await self.session.execute(
            select(Link).where(Link.id == link_id, Link.workspace_id == workspace_id)
        )
        return result.scalar_one_or_none()

    async def release_of(self, release_id: UUID) -> Release | None:
        return await self.session.get(Release, release_id)

    async def rollup_totals(
        self,
        scope_id: UUID,
        *,
        days: tuple[datetime, datetime] | None,
        hours: Sequence[tuple[datetime, datetime]],
        less_hours: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[tuple[str, str, str, int]]:
        """Sums per (metric, dimension, value) over whole days ``[d0, d1)`` and hour spans,
        minus the hour spans ``less_hours`` (hours of a day counted whole); cells that
        sum to nothing are left out, as cells never counted are."""
        table = AnalyticsRollup
        spans: list[tuple[str, datetime, datetime, ColumnElement[int]]] = []
        added, taken = table.count.expression, -table.count
        if days is not None and days[0] < days[1]:
            spans.append(("d", days[0], days[1], added))
        spans.extend(("h", start, end, added) for start, end in hours if start < end)
        spans.extend(("h", start, end, taken) for start, end in less_hours if start < end)
        if not spans:
            return []
        # One SELECT per span, each a primary-key range (scope, period, start): with the
        # spans OR-ed together SQLite walked every row of the scope.
        parts = [
            select(table.metric, table.dimension, table.value, count.label("count")).where(
                table.scope_id == scope_id,
                table.period == period,
                table.start >= start,
                table.start < end,
            )
            for period, start, end, count in spans
        ]
        cells = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        total = func.sum(cells.c.count)
        statement = (
            select(cells.c.metric, cells.c.dimension, cells.c.value, total)
            .group_by(cells.c.metric, cells.c.dimension, cells.c.value)
            .having(total != 0)
        )
        result = await self.session.execute(statement)
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in result]

    async def rollup_series(
        self,
        scope_id: UUID,
        *,
        period: str,
        start: datetime,
        end: datetime,
        metrics: Sequence[str],
    ) -> list[tuple[datetime, tuple[int, ...]]]:
        """Per period start with any count: (start, the count of each of ``metrics``) from
        the series cells — a metric's ``all`` cell, and the visitors' ``bucket``/``all``
        (every visitor; the ``pre`` and ``post`` buckets are not read).

        Pivoted in SQL over the series index, which is in time order: an hourly month is
        744 rows rather than one per metric and hour (4,464), and building those rows in
        Python was most of the query's time. At the driver: SQLAlchemy's processing of
        every row cost more than the query (bench/analytics.py).
        """
        if not metrics:
            return []
        mark = self._placeholder()
        # PostgreSQL: the hour as epoch seconds — psycopg's timestamptz parsing of every
        # row was a third of an hourly month's time.
        moment_sql = "CAST(EXTRACT(EPOCH FROM start) AS BIGINT)" if self._postgres else "start"
        columns = ", ".join(
            [f"CAST(SUM(CASE WHEN metric = {mark} THEN count ELSE 0 END) AS BIGINT)"] * len(metrics)
        )
        sql = (
            f"SELECT {moment_sql}, {columns} FROM analytics_rollup WHERE scope_id = {mark} "
            f"AND period = {mark} AND start >= {mark} AND start < {mark} AND metric IN "
            f"({', '.join([mark] * len(metrics))}) AND {SERIES_CELLS} GROUP BY start"
        )
        parameters = (*metrics, self._param(scope_id), period, self._param(start),
                      self._param(end), *metrics)  # fmt: skip
        connection = await self.session.connection()
        result = await connection.exec_driver_sql(sql, parameters)
        rows = cast(list[tuple[Any, ...]], result.all())
        if self._postgres:
            return [(datetime.fromtimestamp(row[0], UTC), tuple(row[1:])) for row in rows]
        return [
            (datetime.fromisoformat(row[0]).replace(tzinfo=UTC), tuple(row[1:])) for row in rows
        ]

    @staticmethod
    def _events_with_shapes() -> Select[Any]:
        """Raw events with their shape's fields: the wide row as readers know it."""
        event, shape = AnalyticsEvent, AnalyticsShape
        return select(
            event.id,
            *(getattr(event, name) for name in EVENT_COLUMNS),
            shape.digest.label("shape"),
            *(getattr(shape, name) for name in SHAPE_FIELDS),
        ).join(shape, shape.id == event.shape_id)

    async def stream_events(
        self, link_id: UUID, start: datetime, end: datetime, *, chunk: int = 5000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw events of a link in a time range, in chunks (keyset pagination on id)."""
        after = 0
        while True:
            statement = (
                self._events_with_shapes()
                .where(
                    AnalyticsEvent.link_id == link_id,
                    AnalyticsEvent.ts >= start,
                    AnalyticsEvent.ts < end,
                    AnalyticsEvent.id > after,
                )
                .order_by(AnalyticsEvent.id)
                .limit(chunk)
            )
            rows = [dict(row._mapping) for row in await self.session.execute(statement)]
            if not rows:
                return
            after = rows[-1]["id"]
            yield rows

    # -- replay ---------------------------------------------------------------------------

    async def events_after(
        self, after: int, *, limit: int, start: datetime | None = None
    ) -> list[dict[str, Any]]:
        statement = (
            self._events_with_shapes()
            .where(AnalyticsEvent.id > after)
            .order_by(AnalyticsEvent.id)
            .limit(limit)
        )
        if start is not None:
            statement = statement.where(AnalyticsEvent.ts >= start)
        return [dict(row._mapping) for row in await self.session.execute(statement)]

    async def shapes_of_events_since(self, start: datetime) -> list[dict[str, Any]]:
        """Every shape an event at or after ``start`` refers to (facts' shapes left out)."""
        shape = AnalyticsShape
        used = select(AnalyticsEvent.shape_id).where(AnalyticsEvent.ts >= start).distinct()
        statement = (
            select(shape.id, shape.digest, *(getattr(shape, name) for name in SHAPE_FIELDS))
            .where(shape.id.in_(used.scalar_subquery()), shape.digest != "fact")
            .order_by(shape.id)
        )
        return [dict(row._mapping) for row in await self.session.execute(statement)]

    async def relabel_shape(self, shape_id: int, labels: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(AnalyticsShape).where(AnalyticsShape.id == shape_id).values(dict(labels))
        )

    async def repoint_events(self, old_shape: int, new_shape: int, start: datetime) -> int:
        """Events of ``old_shape`` at or after ``start`` now refer to ``new_shape``."""
        result = await self.session.execute(
            update(AnalyticsEvent)
            .where(AnalyticsEvent.shape_id == old_shape, AnalyticsEvent.ts >= start)
            .values(shape_id=new_shape)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def count_events_of_shape(self, shape_id: int, start: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(AnalyticsEvent)
            .where(AnalyticsEvent.shape_id == shape_id, AnalyticsEvent.ts >= start)
        )
        return int(result.scalar_one())

    async def oldest_event(self) -> datetime | None:
        result = await self.session.execute(select(func.min(AnalyticsEvent.ts)))
        value = result.scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def clear_rollups_from(self, day: datetime, visitor_day: date) -> None:
        """Drop rollups and visitor sightings of ``day`` and later: replay rebuilds them."""
        await self.session.execute(delete(AnalyticsRollup).where(AnalyticsRollup.start >= day))
        await self.session.execute(
            delete(AnalyticsVisitor).where(AnalyticsVisitor.day >= visitor_day)
        )

    async def returns_since(self, day: datetime) -> list[tuple[UUID, UUID, datetime]]:
        """(link, workspace, first seen) of the pre-savers who came back since ``day``."""
        result = await self.session.execute(
            select(AnalyticsReturn.link_id, Link.workspace_id, AnalyticsReturn.first_seen)
            .join(Link, Link.id == AnalyticsReturn.link_id)
            .where(AnalyticsReturn.first_seen >= day)
        )
        return [(row[0], row[1], row[2]) for row in result]
