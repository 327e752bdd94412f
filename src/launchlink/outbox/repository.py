"""All outbox SQL: appending events, fan-out, claims and leases, outcomes, retention.

Claims work like the fulfilment queue's (``fulfilment/repository.py``): ``SELECT … FOR
UPDATE SKIP LOCKED`` on PostgreSQL, where any number of dispatchers take disjoint batches,
inside a ``BEGIN IMMEDIATE`` transaction on SQLite (one writer; SQLAlchemy leaves the
``FOR UPDATE`` out). What is added is order: a delivery is claimable only when no earlier
delivery of the same aggregate is still open for the same subscriber, so a subscriber never
sees event N+1 of an aggregate before N is handled or parked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from launchlink.db import UTCDateTime
from launchlink.models.outbox import (
    DeliveryState,
    OutboxDelivery,
    OutboxEvent,
    OutboxSubscription,
)

NOTIFY_CHANNEL = "launchlink_outbox"
ANY_TYPE = "*"
_FAN_OUT_LOCK = "launchlink.outbox.fan_out"
_AGGREGATE_LOCK = "launchlink.outbox.aggregate:"
_APPEND = insert(cast(Table, OutboxEvent.__table__))


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


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def append_rows(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """:meth:`OutboxRepository.append` on a connection the caller holds in a transaction
    (the messaging delivery's group commits run on one, without a session)."""
    if connection.dialect.name == "postgresql":
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
    # The table, not the mapped class: the statement is built once and no mapper pass runs.
    await connection.execute(_APPEND, [dict(row) for row in rows])


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
        await append_rows(await self.session.connection(), rows)

    # -- subscriptions and fan-out ---------------------------------------------------------

    async def register(self, pairs: Sequence[tuple[str, str]], now: datetime) -> None:
        """Record (subscriber, event type) subscriptions; existing ones are kept as they are."""
        if not pairs:
            return
        connection, postgresql = await self._connection()
        upsert = postgresql_insert if postgresql else sqlite_insert
        await connection.execute(
            upsert(OutboxSubscription).on_conflict_do_nothing(),
            [
                {"subscriber": subscriber, "event_type": event_type, "registered_at": now}
                for subscriber, event_type in pairs
            ],
        )

    async def retire(self, subscriber: str) -> tuple[int, int]:
        """Forget a subscriber: its subscriptions and its open deliveries (returns both
        counts); what it handled stays until retention."""
        connection, _postgresql = await self._connection()
        s, d = OutboxSubscription, OutboxDelivery
        subscriptions = await connection.execute(delete(s).where(s.subscriber == subscriber))
        deliveries = await connection.execute(
            delete(d).where(d.subscriber == subscriber, d.state != DeliveryState.handled)
        )
        return _rowcount(subscriptions), _rowcount(deliveries)

    async def fan_out(self, *, now: datetime, limit: int) -> int:
        """Turn up to ``limit`` new events, oldest first, into one delivery per subscription
        that wants them; returns how many events were fanned out.

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
        e, s, d = OutboxEvent, OutboxSubscription, OutboxDelivery
        seqs = list(
            (
                await connection.scalars(
                    select(e.seq).where(e.fanned_out_at.is_(None)).order_by(e.seq).limit(limit)
                )
            ).all()
        )
        if not seqs:
            return 0
        wanted = (
            select(
                e.seq,
                s.subscriber,
                e.type,
                e.aggregate_type + literal(":") + e.aggregate_id,
                literal(DeliveryState.pending.value),
                literal(0),
                literal(0),
                literal(now, UTCDateTime),
                literal(now, UTCDateTime),
            )
            .join(s, or_(s.event_type == e.type, s.event_type == ANY_TYPE))
            .where(e.seq.in_(seqs))
        )
        upsert = postgresql_insert if postgresql else sqlite_insert
        await connection.execute(
            upsert(d)
            .from_select(
                [
                    d.event_seq,
                    d.subscriber,
                    d.event_type,
                    d.aggregate_key,
                    d.state,
                    d.attempts,
                    d.claims,
                    d.next_attempt_at,
                    d.created_at,
                ],
                wanted,
            )
            .on_conflict_do_nothing(index_elements=[d.event_seq, d.subscriber])
        )
        await connection.execute(update(e).where(e.seq.in_(seqs)).values(fanned_out_at=now))
        return len(seqs)

    # -- claims and leases ------------------------------------------------------------------

    async def claim(
        self,
        *,
        handles: Sequence[tuple[str, str]],
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        per_aggregate: int,
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` deliveries: heads (the oldest open delivery of a subscriber ×
        aggregate stream, when it is due), then the due deliveries that follow them, up to
        ``per_aggregate`` per stream. ``handles`` is what the caller's code can handle:
        (subscriber, event type) pairs, ``*`` for every type. A stream whose first open
        delivery is of a type the caller cannot handle waits for a dispatcher that can.

        Followers need no lock of their own: while their head is open nobody else can
        claim them. A follower that is not due (another dispatcher's lease that has not
        run out) ends its run, so a run is always a gap-free prefix of the stream.
        """
        connection, _postgresql = await self._connection()
        wanted: dict[str, set[str]] = {}
        for subscriber, event_type in handles:
            wanted.setdefault(subscriber, set()).add(event_type)
        # Each subscriber is its own queue with its share of the batch, and its own
        # statements: ``subscriber = :s … ORDER BY event_seq LIMIT n`` matches the index
        # (subscriber, event_seq) exactly, so a planner without statistics cannot pick a
        # plan that reads every open delivery and sorts them (one did, with ``IN``).
        share = max(1, limit // max(1, len(wanted)))
        ids: list[int] = []
        for subscriber, types in wanted.items():
            heads = await self._heads(subscriber, types, now, share)
            # Room left in the share goes to the deliveries that follow the heads in their
            # streams; a stream never needs more than that room plus its head.
            run = min(per_aggregate, share - len(heads) + 1)
            if heads and run > 1:
                ids += await self._runs(subscriber, types, heads, now, run, share)
            else:
                ids += heads.values()
        if not ids:
            return []
        d = OutboxDelivery
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

    async def _heads(
        self, subscriber: str, types: set[str], now: datetime, limit: int
    ) -> dict[str, int]:
        """aggregate key → id of the first open delivery of each of the subscriber's streams
        that is due and of a type in ``types``, oldest first, locked (SKIP LOCKED)."""
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        earlier = aliased(OutboxDelivery, name="earlier")
        # "The first open delivery of its stream" as a correlated subquery: one index probe
        # per candidate (an anti-join was planned as a scan of the stream per candidate).
        first_open = (
            select(func.min(earlier.event_seq))
            .where(
                earlier.finished_at.is_(None),
                earlier.aggregate_key == d.aggregate_key,
                earlier.subscriber == d.subscriber,
            )
            .scalar_subquery()
        )
        query = (
            select(d.id, d.aggregate_key)
            .where(
                d.subscriber == subscriber,
                d.finished_at.is_(None),
                d.next_attempt_at <= now,
                d.event_seq == first_open,
            )
            .order_by(d.event_seq)
            .limit(limit)
            .with_for_update(skip_locked=True, of=d)
        )
        if ANY_TYPE not in types:
            query = query.where(d.event_type.in_(sorted(types)))
        return {row.aggregate_key: row.id for row in await connection.execute(query)}

    async def _runs(
        self,
        subscriber: str,
        types: set[str],
        heads: Mapping[str, int],
        now: datetime,
        per_aggregate: int,
        limit: int,
    ) -> list[int]:
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        ranked = (
            select(
                d.id,
                d.aggregate_key,
                d.event_type,
                d.next_attempt_at,
                func.row_number()
                .over(partition_by=d.aggregate_key, order_by=d.event_seq)
                .label("n"),
            )
            .where(
                d.aggregate_key.in_(list(heads)),
                d.subscriber == subscriber,
                d.finished_at.is_(None),
            )
            .subquery()
        )
        rows = await connection.execute(
            select(
                ranked.c.id, ranked.c.aggregate_key, ranked.c.event_type, ranked.c.next_attempt_at
            )
            .where(ranked.c.n <= per_aggregate)
            .order_by(ranked.c.aggregate_key, ranked.c.n)
        )
        every_type = ANY_TYPE in types
        runs: dict[str, list[int]] = {}
        taking = False
        for row in rows:
            if row.aggregate_key not in runs:
                # A retried parked delivery may have slipped in before the head meanwhile:
                # then this stream is left for the next claim.
                taking = row.id == heads[row.aggregate_key]
                runs[row.aggregate_key] = []
            elif taking and (
                row.next_attempt_at > now or not (every_type or row.event_type in types)
            ):
                taking = False
            if taking:
                runs[row.aggregate_key].append(row.id)
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

    async def _fenced(self, ids: Sequence[int], owner: str, **values: Any) -> None:
        """Update open deliveries this owner holds; a lease lost to another is untouched."""
        if not ids:
            return
        connection, _postgresql = await self._connection()
        d = OutboxDelivery
        await connection.execute(
            update(d)
            .where(d.id.in_(list(ids)), d.lease_owner == owner, d.finished_at.is_(None))
            .values(**values)
        )

    async def extend_leases(self, ids: Sequence[int], owner: str, until: datetime) -> None:
        await self._fenced(ids, owner, next_attempt_at=until)

    async def release(self, ids: Sequence[int], owner: str, at: datetime) -> None:
        """Hand leased deliveries back untouched (after a failure earlier in their run)."""
        await self._fenced(ids, owner, next_attempt_at=at, lease_owner=None)

    # -- outcomes ---------------------------------------------------------------------------

    async def mark_handled(self, ids: Sequence[int], owner: str, now: datetime) -> None:
        await self._fenced(
            ids, owner, state=DeliveryState.handled, finished_at=now, lease_owner=None
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
        return _rowcount(result)

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
        return _rowcount(deliveries), _rowcount(events)
