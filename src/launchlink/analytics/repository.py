"""All of analytics' SQL: raw events, rollups, visitor sightings, returns, salts."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.analytics.rollups import RollupKey, VisitorKey
from launchlink.models.analytics import (
    AnalyticsEvent,
    AnalyticsReturn,
    AnalyticsRollup,
    AnalyticsSalt,
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

EVENT_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in AnalyticsEvent.__table__.columns if column.name != "id"
)
ROLLUP_DIMENSIONS_OF_SUMMARY = ("all", "service", "source", "channel", "country", "device")


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _chunks(rows: Sequence[Any], width: int) -> list[Sequence[Any]]:
    size = max(1, _CHUNK_PARAMETERS // max(1, width))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _insert(self, table: Any) -> Any:
        return postgresql_insert(table) if self._postgres else sqlite_insert(table)

    # -- writing --------------------------------------------------------------------------

    async def lock_rollups(self, *, exclusive: bool = False) -> None:
        if self._postgres:
            function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            await self.session.execute(text(f"SELECT {function}({_ROLLUP_LOCK})"))

    async def insert_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            # One cached single-row statement, executed many times: the driver batches it
            # (SQLAlchemy's insertmanyvalues); a multi-VALUES statement would be compiled
            # anew for every batch.
            await self.session.execute(_table(AnalyticsEvent).insert(), list(rows))

    async def new_visitors(self, candidates: Mapping[VisitorKey, datetime]) -> list[VisitorKey]:
        """Insert the sightings not yet known; returns the keys that were new."""
        if not candidates:
            return []
        table = _table(AnalyticsVisitor)
        keys = sorted(candidates, key=lambda k: (str(k[0]), k[1], k[2], k[3]))
        values = [{"scope_id": s, "day": d, "bucket": b, "visitor_hash": h} for s, d, b, h in keys]
        statement = (
            self._insert(table)
            .on_conflict_do_nothing()
            .returning(table.c.scope_id, table.c.day, table.c.bucket, table.c.visitor_hash)
        )
        result = await self.session.execute(statement, values)
        return [(row[0], row[1], row[2], row[3]) for row in result]

    async def add_rollups(self, counts: Counter[RollupKey]) -> None:
        if not counts:
            return
        table = _table(AnalyticsRollup)
        # A fixed order: two PostgreSQL writers upserting the same rows cannot deadlock.
        keys = sorted(counts, key=lambda k: (str(k[0]), k[1], k[2], k[3], k[4], k[5]))
        values = [
            {"scope_id": s, "period": p, "start": t, "metric": m, "dimension": d,
             "value": v[:120], "n": counts[(s, p, t, m, d, v)]}
            for s, p, t, m, d, v in keys
        ]  # fmt: skip
        statement = self._insert(table).values(
            scope_id=bindparam("scope_id"),
            period=bindparam("period"),
            start=bindparam("start"),
            metric=bindparam("metric"),
            dimension=bindparam("dimension"),
            value=bindparam("value"),
            count=bindparam("n"),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[
                table.c.scope_id,
                table.c.period,
                table.c.start,
                table.c.metric,
                table.c.dimension,
                table.c.value,
            ],
            set_={"count": table.c.count + statement.excluded.count},
        )
        await self.session.execute(statement, values)

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
        table = _table(AnalyticsReturn)
        keys = sorted(candidates, key=lambda k: (str(k[0]), k[1]))
        values = [
            {"link_id": link, "browser_hash": h, "first_seen": candidates[(link, h)]}
            for link, h in keys
        ]
        statement = (
            self._insert(table)
            .on_conflict_do_nothing()
            .returning(table.c.link_id, table.c.browser_hash)
        )
        result = await self.session.execute(statement, values)
        return [(row[0], str(row[1])) for row in result]

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
    ) -> list[tuple[str, str, str, int]]:
        """Sums per (metric, dimension, value) over whole days ``[d0, d1)`` and hour spans."""
        table = AnalyticsRollup
        spans = []
        if days is not None and days[0] < days[1]:
            spans.append(and_(table.period == "d", table.start >= days[0], table.start < days[1]))
        for start, end in hours:
            if start < end:
                spans.append(and_(table.period == "h", table.start >= start, table.start < end))
        if not spans:
            return []
        statement = (
            select(table.metric, table.dimension, table.value, func.sum(table.count))
            .where(table.scope_id == scope_id, or_(*spans))
            .group_by(table.metric, table.dimension, table.value)
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
    ) -> list[tuple[datetime, str, str, int]]:
        """Per period start: (start, metric, value, count) of the ``all``/``bucket`` cells."""
        table = AnalyticsRollup
        statement = (
            select(table.start, table.metric, table.value, table.count)
            .where(
                table.scope_id == scope_id,
                table.period == period,
                table.start >= start,
                table.start < end,
                table.metric.in_(metrics),
                table.dimension.in_(("all", "bucket")),
            )
            .order_by(table.start)
        )
        result = await self.session.execute(statement)
        return [(r[0], str(r[1]), str(r[2]), int(r[3])) for r in result]

    def events_query(self, link_id: UUID, start: datetime, end: datetime) -> Select[Any]:
        return (
            select(*(getattr(AnalyticsEvent, name) for name in ("id", *EVENT_COLUMNS)))
            .where(AnalyticsEvent.link_id == link_id)
            .where(AnalyticsEvent.ts >= start, AnalyticsEvent.ts < end)
            .order_by(AnalyticsEvent.ts, AnalyticsEvent.id)
        )

    async def stream_events(
        self, link_id: UUID, start: datetime, end: datetime, *, chunk: int = 5000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw events of a link in a time range, in chunks (keyset pagination on id)."""
        after = 0
        while True:
            statement = (
                select(*(getattr(AnalyticsEvent, n) for n in ("id", *EVENT_COLUMNS)))
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
            select(*(getattr(AnalyticsEvent, n) for n in ("id", *EVENT_COLUMNS)))
            .where(AnalyticsEvent.id > after)
            .order_by(AnalyticsEvent.id)
            .limit(limit)
        )
        if start is not None:
            statement = statement.where(AnalyticsEvent.ts >= start)
        return [dict(row._mapping) for row in await self.session.execute(statement)]

    async def update_classification(self, changes: Sequence[Mapping[str, Any]]) -> None:
        for change in changes:
            await self.session.execute(
                update(AnalyticsEvent)
                .where(AnalyticsEvent.id == change["id"])
                .values({k: v for k, v in change.items() if k != "id"})
            )

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
