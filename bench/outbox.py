"""Outbox benchmark: events emitted and dispatched per second, against a bare insert loop.

For each database: N events (``--aggregates`` aggregates, interleaved) are emitted in
transactions of ``--per-transaction`` through ``launchlink.events.emit_many``, then one
dispatcher delivers them to ``--subscribers`` no-op session subscribers until nothing is
left. The baseline inserts the same number of rows of the same size (a uuid and the JSON
payload) in the same transactions with a plain Core ``INSERT``, in the same script, so the
ratios hold when the machine's load moves the absolute figures. Not a test: run it by hand.

    .venv/bin/python bench/outbox.py --database sqlite --events 20000
    .venv/bin/python bench/outbox.py --database postgresql --events 20000

PostgreSQL runs use a scratch database on 127.0.0.1:5432 that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import JSON, Column, MetaData, Table, Uuid  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402
from tests.outbox.probe import Probe  # noqa: E402

from launchlink.db import Database  # noqa: E402
from launchlink.events import Subscriptions, emit_many  # noqa: E402
from launchlink.kit.clock import SystemClock  # noqa: E402
from launchlink.kit.ids import uuid7  # noqa: E402
from launchlink.migrate import upgrade_to_head  # noqa: E402
from launchlink.outbox.dispatcher import OutboxDispatcher  # noqa: E402
from launchlink.outbox.settings import OutboxSettings  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"

bare_metadata = MetaData()
bare = Table(
    "bench_bare",
    bare_metadata,
    Column("id", Uuid, primary_key=True),
    Column("payload", JSON, nullable=False),
)


def probes(count: int, aggregates: int) -> list[Probe]:
    clock = SystemClock()
    return [
        Probe(occurred_at=clock.now(), workspace_id=None, stream=f"a{i % aggregates}", n=i)
        for i in range(count)
    ]


async def bare_inserts(database: Database, events: list[Probe], per_transaction: int) -> float:
    async with database.engine.begin() as connection:
        await connection.run_sync(bare_metadata.drop_all)
        await connection.run_sync(bare_metadata.create_all)
    rows = [{"id": uuid7(), "payload": event.payload()} for event in events]
    started = time.perf_counter()
    for start in range(0, len(rows), per_transaction):
        async with database.transaction() as session:
            await session.execute(bare.insert(), rows[start : start + per_transaction])
    return time.perf_counter() - started


async def emit_all(database: Database, events: list[Probe], per_transaction: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(events), per_transaction):
        async with database.transaction() as session:
            await emit_many(session, events[start : start + per_transaction])
    return time.perf_counter() - started


async def dispatch_all(database: Database, subscribers: int, settings: OutboxSettings) -> float:
    async def nothing(session: AsyncSession, event: Probe) -> None:
        return None

    subscriptions = Subscriptions()
    for n in range(subscribers):
        subscriptions.subscribe(Probe, nothing, name=f"noop.{n}")
    dispatcher = OutboxDispatcher(database, SystemClock(), subscriptions, settings=settings)
    started = time.perf_counter()
    await dispatcher.drain(max_ticks=1_000_000)
    return time.perf_counter() - started


async def one_round(url: str, args: argparse.Namespace) -> tuple[float, float, float]:
    database = Database(url)
    try:
        events = probes(args.events, args.aggregates)
        baseline = await bare_inserts(database, events, args.per_transaction)
        emitted = await emit_all(database, events, args.per_transaction)
        settings = OutboxSettings(batch=args.batch, per_aggregate=args.per_aggregate)
        dispatched = await dispatch_all(database, args.subscribers, settings)
        return baseline, emitted, dispatched
    finally:
        await database.dispose()


def scratch_url(database: str, tmp: Path, n: int) -> tuple[str, str | None]:
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{(tmp / f'outbox-{n}.sqlite3').as_posix()}", None
    import psycopg

    name = f"launchlink_bench_outbox_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES.replace('+psycopg', '')}/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}", name


def drop(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    with psycopg.connect(f"{POSTGRES.replace('+psycopg', '')}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--aggregates", type=int, default=1_000)
    parser.add_argument("--per-transaction", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=OutboxSettings().batch)
    parser.add_argument("--per-aggregate", type=int, default=OutboxSettings().per_aggregate)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    results: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            url, name = scratch_url(args.database, Path(tmp), n)
            try:
                upgrade_to_head(url)
                results.append(asyncio.run(one_round(url, args)))
            finally:
                drop(name)

    baseline = statistics.median(r[0] for r in results)
    emitted = statistics.median(r[1] for r in results)
    dispatched = statistics.median(r[2] for r in results)
    events, deliveries = args.events, args.events * args.subscribers
    print(
        f"\noutbox benchmark: {events} events over {args.aggregates} aggregates, "
        f"{args.per_transaction} per transaction, {args.subscribers} no-op subscriber(s), "
        f"batch {args.batch} / {args.per_aggregate} per aggregate, {args.database}, "
        f"median of {args.rounds} rounds"
    )
    print(f"  bare insert loop (baseline) {events / baseline:9.0f} rows/s")
    print(
        f"  emit                        {events / emitted:9.0f} events/s   "
        f"ratio to baseline {baseline / emitted:.2f}"
    )
    print(f"  dispatch                    {deliveries / dispatched:9.0f} deliveries/s")
    print(
        f"  emitted + dispatched        {events / (emitted + dispatched):9.0f} events/s   "
        f"ratio to baseline {baseline / (emitted + dispatched):.2f}"
    )


if __name__ == "__main__":
    main()
