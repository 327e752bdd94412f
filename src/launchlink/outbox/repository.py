"""All outbox SQL: appending events, fan-out, claims and leases, outcomes, retention.

Claims work like the fulfilment queue's (``fulfilment/repository.py``): ``SELECT … FOR
UPDATE SKIP LOCKED`` on PostgreSQL, where any number of dispatchers take disjoint batches,
inside a ``BEGIN IMMEDIATE`` transaction on SQLite (one writer; SQLAlchemy leaves the
``FOR UPDATE`` out). What is added is order: a delivery is claimable only when no earlier
delivery of the same aggregate is still open for the same subscriber, so a subscriber never
sees event N+1 of an aggregate before N is handled or parked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, delete, exists, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from launchlink.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent

NOTIFY_CHANNEL = "launchlink_outbox"
_FAN_OUT_LOCK = "launchlink.outbox.fan_out"
_AGGREGATE_LOCK = "launchlink.outbox.aggregate:"


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    id: UUID
    type: str
    version: int
    occurred_at: datetime
    workspace_id: UUID | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    subscriber: str
    aggregate_key: str
    attempts: int
    """Failures before this claim."""
    event: StoredEvent


@dataclass(frozen=True)
class Failure:
    delivery_id: int
    attempts: int
    """Failures including this one."""
    error: str
    retry_at: datetime | None
    """None: parked."""


@dataclass(frozen=True)
class DeliveryView:
    """What an operator sees of one delivery (the parked list, an event's deliveries)."""

    delivery_id: int
    subscriber: str
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    finished_at: datetime | None
    event_id: UUID
    event_type: str
    aggregate_key: str
    workspace_id: UUID | None
    occurred_at: datetime


def aggregate_key(aggregate_type: str, aggregate_id: str) -> str:
    return f"{aggregate_type}:{aggregate_id}"


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _connection(self) -> tuple[AsyncConnection, bool]:
        connection = await self.session.connection()
        return connection, connection.dialect.name == "postgresql"

    # -- emitting ---------------------------------------------------------------------------

    async def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert outbox rows (``OutboxEvent`` columns) in the caller's transaction.

        On PostgreSQL the emitting transaction first takes a transaction-scoped advisory
        lock per aggregate (sorted: one order, no deadlock between emitters), so two
        transactions emitting about one aggregate commit in the order of their ``seq`` —
        without it a smaller ``seq`` could commit after a larger one had been delivered.
        The same statement queues a NOTIFY that wakes idle dispatchers at commit.
        """
        connection, postgresql = await self._connection()
        if postgresql:
            keys = sorted(
                {
                    _AGGREGATE_LOCK + aggregate_key(row["aggregate_type"], row["aggregate_id"])
                    for row in rows
                }
            )
            await connection.execute(
                text(
                    "SELECT pg_notify(:channel, ''), pg_advisory_xact_lock(hashtextextended(k, 0))"
                    " FROM unnest(CAST(:keys AS text[])) AS k"
                ),
                {"channel": NOTIFY_CHANNEL, "keys": keys},
            )
        await connection.execute(insert(OutboxEvent), [dict(row) for row in rows])

    # -- fan-out ----------------------------------------------------------------------------

    async def fan_out(
        self, interested: Callable[[str], Sequence[str]], *, now: datetime, limit: int
    ) -> int:
        """Turn up to ``limit`` new events, oldest first, into one delivery per interested
        subscriber; returns how many events were fanned out.

        One fan-out at a time (PostgreSQL: a try-lock, a busy one is skipped; SQLite: the
        write lock), so the deliveries of one aggregate are created in ``seq`` order.
        """
        connection, postgresql = await self._connection()
        if postgresql:
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": _FAN_OUT_LOCK},
            )
            if not taken:
                return 0
        e = OutboxEvent
        rows = (
            await connection.execute(
                select(e.seq, e.type, e.aggregate_type, e.aggregate_id)
                .where(e.fanned_out_at.is_(None))
                .order_by(e.seq)
                .limit(limit)
            )
        ).all()
        if not rows:
            return 0
        deliveries = [
            {
                "event_seq": row.seq,
                "subscriber": name,
                "aggregate_key": aggregate_key(row.aggregate_type, row.aggregate_id),
                "state": DeliveryState.pending,
                "attempts": 0,
                "claims": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for row in rows
            for name in interested(row.type)
        ]
        if deliveries:
            upsert = postgresql_insert if postgresql else sqlite_insert
            await connection.execute(
                upsert(OutboxDelivery).on_conflict_do_nothing(
                    index_elements=[OutboxDelivery.event_seq, OutboxDelivery.subscriber]
                ),
                deliveries,
            )
        await connection.execute(
            update(e).where(e.seq.in_([row.seq for row in rows])).values(fanned_out_at=now)
        )
        return len(rows)

    # -- claims and leases ------------------------------------------------------------------

    async def claim(
        self,
        *,
        subscribers: Sequence[str],
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        per_aggregate: int,
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` deliveries: heads (the oldest open delivery of a subscriber ×
        aggregate stream, when it is due), then the due deliveries that follow them, up to
        ``per_aggregate`` per stream.

        Followers need no lock of their own: while their head is open nobody else can
        claim them. A follower that is not due (another dispatcher's lease that has not
        run out) ends its run, so a run is always a gap-free prefix of the stream.
        """
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        earlier = aliased(OutboxDelivery, name="earlier")
        # "The first open delivery of its stream", as a correlated subquery: one index probe
        # per candidate on both databases, whatever the planner's statistics say (an
        # anti-join was planned as a scan of the whole stream per candidate).
        first_open = (
            select(func.min(earlier.event_seq))
            .where(
                earlier.finished_at.is_(None),
                earlier.subscriber == d.subscriber,
                earlier.aggregate_key == d.aggregate_key,
            )
            .scalar_subquery()
        )
        heads = (
            await connection.execute(
                select(d.id, d.subscriber, d.aggregate_key)
                .where(
                    d.finished_at.is_(None),
                    d.subscriber.in_(list(subscribers)),
                    d.next_attempt_at <= now,
                    d.event_seq == first_open,
                )
                .order_by(d.event_seq)
                .limit(limit)
                .with_for_update(skip_locked=True, of=d)
            )
        ).all()
        if not heads:
            return []
        ids = [head.id for head in heads]
        # Room left in the batch goes to the deliveries that follow the heads in their
        # streams; a stream never needs more than that room plus its head.
        run = min(per_aggregate, limit - len(heads) + 1)
        if run > 1:
            ids = await self._runs(
                {(head.subscriber, head.aggregate_key): head.id for head in heads},
                now,
                run,
                limit,
            )
        leased = (
            await connection.execute(
                update(d)
                .where(d.id.in_(ids))
                .values(next_attempt_at=lease_until, lease_owner=owner, claims=d.claims + 1)
                .returning(d.id, d.event_seq, d.subscriber, d.aggregate_key, d.attempts)
            )
        ).all()
        events = await self._events({row.event_seq for row in leased})
        return sorted(
            (
                ClaimedDelivery(
                    id=row.id,
                    subscriber=row.subscriber,
                    aggregate_key=row.aggregate_key,
                    attempts=row.attempts,
                    event=events[row.event_seq],
                )
                for row in leased
            ),
            key=lambda claimed: claimed.event.seq,
        )

    async def _runs(
        self,
        heads: Mapping[tuple[str, str], int],
        now: datetime,
        per_aggregate: int,
        limit: int,
    ) -> list[int]:
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        ranked = (
            select(
                d.id,
                d.subscriber,
                d.aggregate_key,
                d.next_attempt_at,
                func.row_number()
                .over(partition_by=(d.subscriber, d.aggregate_key), order_by=d.event_seq)
                .label("n"),
            )
            .where(tuple_(d.subscriber, d.aggregate_key).in_(list(heads)), d.finished_at.is_(None))
            .subquery()
        )
        rows = await connection.execute(
            select(
                ranked.c.id, ranked.c.subscriber, ranked.c.aggregate_key, ranked.c.next_attempt_at
            )
            .where(ranked.c.n <= per_aggregate)
            .order_by(ranked.c.subscriber, ranked.c.aggregate_key, ranked.c.n)
        )
        runs: dict[tuple[str, str], list[int]] = {}
        taking = False
        for row in rows:
            stream = (row.subscriber, row.aggregate_key)
            if stream not in runs:
                # A retried parked delivery may have slipped in before the head meanwhile:
                # then this stream is left for the next claim.
                taking = row.id == heads[stream]
                runs[stream] = []
            elif taking and row.next_attempt_at > now:
                taking = False
            if taking:
                runs[stream].append(row.id)
        # Every head first, then the second of each stream, and so on, up to ``limit``.
        ids: list[int] = []
        for level in range(per_aggregate):
            for run in runs.values():
                if level < len(run) and len(ids) < limit:
                    ids.append(run[level])
        return ids

    async def _events(self, seqs: set[int]) -> dict[int, StoredEvent]:
        connection, _postgresql = await self._connection()
        e = OutboxEvent
        rows = await connection.execute(
            select(e.seq, e.id, e.type, e.version, e.occurred_at, e.workspace_id, e.payload).where(
                e.seq.in_(list(seqs))
            )
        )
        return {
            row.seq: StoredEvent(
                seq=row.seq,
                id=row.id,
                type=row.type,
                version=row.version,
                occurred_at=row.occurred_at,
                workspace_id=row.workspace_id,
                payload=dict(row.payload or {}),
            )
            for row in rows
        }

    async def hold(self, ids: Sequence[int], owner: str) -> set[int]:
        """The deliveries of ``ids`` this owner still holds, locked until commit.

        Taken at the start of the transaction that records outcomes: past this point a
        lease that runs out changes nothing (PostgreSQL: the row lock makes other claims
        skip the row; SQLite: nobody else writes until we commit). One that was already
        re-claimed by another dispatcher is simply not returned.
        """
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        rows = await connection.scalars(
            select(d.id)
            .where(d.id.in_(list(ids)), d.lease_owner == owner, d.finished_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        return set(rows.all())

    async def extend_leases(self, ids: Sequence[int], owner: str, until: datetime) -> None:
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        await connection.execute(
            update(d)
            .where(d.id.in_(list(ids)), d.lease_owner == owner, d.finished_at.is_(None))
            .values(next_attempt_at=until)
        )

    async def release(self, ids: Sequence[int], owner: str, at: datetime) -> None:
        """Hand leased deliveries back untouched (after a failure earlier in their run)."""
        if not ids:
            return
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        await connection.execute(
            update(d)
            .where(d.id.in_(list(ids)), d.lease_owner == owner, d.finished_at.is_(None))
            .values(next_attempt_at=at, lease_owner=None)
        )

    # -- outcomes ---------------------------------------------------------------------------

    async def mark_handled(self, ids: Sequence[int], owner: str, now: datetime) -> None:
        if not ids:
            return
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        await connection.execute(
            update(d)
            .where(d.id.in_(list(ids)), d.lease_owner == owner, d.finished_at.is_(None))
            .values(state=DeliveryState.handled, finished_at=now, lease_owner=None)
        )

    async def record_failures(self, failures: Sequence[Failure], owner: str, now: datetime) -> None:
        """Back off (``retry_at``) or park each failed delivery, with its error."""
        if not failures:
            return
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        await connection.execute(
            update(d)
            .where(d.id == bindparam("failed_id"), d.lease_owner == owner)
            .values(
                state=bindparam("new_state"),
                attempts=bindparam("new_attempts"),
                next_attempt_at=bindparam("retry_at"),
                last_error=bindparam("error"),
                finished_at=bindparam("parked_at"),
                lease_owner=None,
            ),
            [
                {
                    "failed_id": failure.delivery_id,
                    "new_state": DeliveryState.pending
                    if failure.retry_at is not None
                    else DeliveryState.parked,
                    "new_attempts": failure.attempts,
                    "retry_at": failure.retry_at or now,
                    "error": failure.error[:500],
                    "parked_at": None if failure.retry_at is not None else now,
                }
                for failure in failures
            ],
        )

    # -- operators --------------------------------------------------------------------------

    async def deliveries(
        self,
        *,
        state: DeliveryState | None = None,
        subscriber: str | None = None,
        workspace_id: UUID | None = None,
        event_id: UUID | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[DeliveryView]:
        """Deliveries by id, filtered (e.g. ``state=parked`` is the parked list)."""
        d, e = OutboxDelivery, OutboxEvent
        query = (
            select(
                d.id,
                d.subscriber,
                d.state,
                d.attempts,
                d.last_error,
                d.next_attempt_at,
                d.finished_at,
                e.id.label("event_id"),
                e.type,
                d.aggregate_key,
                e.workspace_id,
                e.occurred_at,
            )
            .join(e, e.seq == d.event_seq)
            .order_by(d.id)
            .limit(limit)
        )
        if state is not None:
            query = query.where(d.state == state)
        if subscriber is not None:
            query = query.where(d.subscriber == subscriber)
        if workspace_id is not None:
            query = query.where(e.workspace_id == workspace_id)
        if event_id is not None:
            query = query.where(e.id == event_id)
        if after is not None:
            query = query.where(d.id > after)
        return [
            DeliveryView(
                delivery_id=row.id,
                subscriber=row.subscriber,
                state=row.state,
                attempts=row.attempts,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                finished_at=row.finished_at,
                event_id=row.event_id,
                event_type=row.type,
                aggregate_key=row.aggregate_key,
                workspace_id=row.workspace_id,
                occurred_at=row.occurred_at,
            )
            for row in await self.session.execute(query)
        ]

    async def retry_parked(
        self,
        *,
        now: datetime,
        subscriber: str | None = None,
        delivery_ids: Sequence[int] | None = None,
    ) -> int:
        """Parked deliveries become pending again, with a fresh attempt budget."""
        d = OutboxDelivery
        query = update(d).where(d.state == DeliveryState.parked)
        if subscriber is not None:
            query = query.where(d.subscriber == subscriber)
        if delivery_ids is not None:
            query = query.where(d.id.in_(list(delivery_ids)))
        result = await self.session.execute(
            query.values(
                state=DeliveryState.pending,
                attempts=0,
                next_attempt_at=now,
                finished_at=None,
                lease_owner=None,
            ).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self) -> dict[tuple[str, str], int]:
        """(subscriber, state) → deliveries."""
        d = OutboxDelivery
        rows = await self.session.execute(
            select(d.subscriber, d.state, func.count()).group_by(d.subscriber, d.state)
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def unfanned(self) -> int:
        """Events no dispatcher has fanned out yet."""
        e = OutboxEvent
        count = await self.session.scalar(
            select(func.count()).select_from(e).where(e.fanned_out_at.is_(None))
        )
        return int(count or 0)

    # -- retention --------------------------------------------------------------------------

    async def prune(self, cutoff: datetime, limit: int) -> tuple[int, int]:
        """Delete up to ``limit`` handled deliveries finished before ``cutoff``, and as many
        fanned-out events older than it with no delivery left; returns both counts."""
        connection, _postgresql = await self._connection()
        d, e = OutboxDelivery, OutboxEvent
        old_deliveries = (
            select(d.id)
            .where(d.state == DeliveryState.handled, d.finished_at < cutoff)
            .limit(limit)
            .scalar_subquery()
        )
        deliveries = await connection.execute(delete(d).where(d.id.in_(old_deliveries)))
        old_events = (
            select(e.seq)
            .where(
                e.fanned_out_at.is_not(None),
                e.occurred_at < cutoff,
                ~exists().where(d.event_seq == e.seq),
            )
            .limit(limit)
            .scalar_subquery()
        )
        events = await connection.execute(delete(e).where(e.seq.in_(old_events)))
        return (
            int(getattr(deliveries, "rowcount", 0) or 0),
            int(getattr(events, "rowcount", 0) or 0),
        )
