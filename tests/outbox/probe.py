"""A test event, the table its subscriber writes to, and helpers shared by the outbox
tests and the child dispatcher process (``tests/outbox/child.py``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database
from launchlink.events import Event, emit_many
from launchlink.kit.clock import Clock


@dataclass(frozen=True, kw_only=True)
class Probe(Event):
    """Event ``n`` of the stream (aggregate) ``stream``."""

    type = "test.probe"
    aggregate_type = "probe"
    aggregate_field = "stream"
    stream: str
    n: int


probe_metadata = MetaData()
probe_table = Table(
    "outbox_probe",
    probe_metadata,
    Column(
        "rid", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("subscriber", String(100), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("stream", String(100), nullable=False),
    Column("n", Integer, nullable=False),
    Column("handled_by", Integer, nullable=False),
)


async def reset_probe_table(database: Database) -> None:
    """A fresh ``outbox_probe`` (on PostgreSQL the test database outlives one test)."""
    async with database.engine.begin() as connection:
        await connection.run_sync(probe_metadata.drop_all)
        await connection.run_sync(probe_metadata.create_all)


async def record(
    session: AsyncSession, subscriber: str, event: Probe, *, handled_by: int = 0
) -> None:
    """What a session handler writes: one row per handling, no unique key (so a second
    handling would show as a second row); ``handled_by`` names the process."""
    await session.execute(
        probe_table.insert().values(
            subscriber=subscriber,
            event_id=event.id,
            stream=event.stream,
            n=event.n,
            handled_by=handled_by,
        )
    )


async def emit_probes(
    database: Database, clock: Clock, *, streams: int, per_stream: int, per_transaction: int = 100
) -> list[Probe]:
    """Commit ``streams × per_stream`` events, the streams interleaved."""
    probes = [
        Probe(occurred_at=clock.now(), workspace_id=None, stream=f"s{s:03d}", n=n)
        for n in range(per_stream)
        for s in range(streams)
    ]
    for start in range(0, len(probes), per_transaction):
        async with database.transaction() as session:
            await emit_many(session, probes[start : start + per_transaction])
    return probes


@dataclass(frozen=True)
class Recorded:
    rid: int
    subscriber: str
    event_id: UUID
    stream: str
    n: int
    handled_by: int


async def recorded(database: Database) -> list[Recorded]:
    async with database.sessionmaker() as session:
        rows = await session.execute(select(probe_table).order_by(probe_table.c.rid))
        return [Recorded(*row) for row in rows]


async def recorded_count(database: Database) -> int:
    async with database.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(probe_table))
        return int(count or 0)


def out_of_order(rows: Sequence[Recorded]) -> dict[tuple[str, str], list[int]]:
    """(subscriber, stream) → the order ``n`` was handled in, for every stream whose
    handling was not 0, 1, 2, … (empty: every stream in order)."""
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        seen[(row.subscriber, row.stream)].append(row.n)
    return {key: ns for key, ns in seen.items() if ns != list(range(len(ns)))}


def ids(events: Sequence[Any]) -> set[UUID]:
    return {event.id for event in events}
