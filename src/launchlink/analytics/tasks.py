"""The flusher: every ``flush_seconds`` the buffer is written in one batch.

Per tick: swap the buffer out (:meth:`AnalyticsCapture.take`), read the salts of the days
it covers (cached per day), then, in a thread (CPU work must not stall the event loop):

- embedded (the process runs the worker too): anonymise and enrich, then one write
  transaction: raw rows, visitor sightings, returns and rollup increments together, so
  rollups never disagree with the raw events;
- a web process with separate workers (``ship=True``): anonymise only (country, visitor
  hash; the address and cookies stop here), encode, and write one ``analytics_inbox`` row.
  A worker's :class:`InboxDrain` enriches it and stores it in the transaction that
  deletes the row. The web process's analytics cost is then the append and this.

A failed write hands the batch back to the buffer (bounded by ``max_buffered``).

Crash-loss bound: a process killed without its shutdown loses what was captured since
the last flush started plus the batch being written then — at most ``flush_seconds`` of
events plus one batch's write time (docs/analytics.md). A graceful shutdown drains. An
inbox row is durable: a worker killed mid-drain rolls back and the next one takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

from launchlink.analytics import service, shipping
from launchlink.analytics.capture import AnalyticsCapture, Captured
from launchlink.analytics.ingest import BatchSalts, IngestResult, VisitIngest
from launchlink.analytics.settings import AnalyticsSettings
from launchlink.db import Database
from launchlink.kit.clock import Clock
from launchlink.kit.gcpause import collection_paused
from launchlink.ops import metrics

logger = logging.getLogger(__name__)

SALT_CHECK_SECONDS = 60.0
# Events anonymised and encoded per step of a web process's flush (~5 ms of CPU each),
# and so per inbox row.
SHIP_CHUNK = 1000
PRUNE_SECONDS = 3600.0


class AnalyticsFlusher:
    def __init__(
        self,
        capture: AnalyticsCapture,
        database: Database,
        clock: Clock,
        ingest: VisitIngest,
        *,
        settings: AnalyticsSettings | None = None,
        ship: bool = False,
    ) -> None:
        self.capture = capture
        self.database = database
        self.clock = clock
        self.ingest = ingest
        self.settings = settings or AnalyticsSettings()
        self.ship = ship
        # Embedded: this process also drains what other (web) processes shipped.
        self.drain = None if ship else InboxDrain(database, clock, ingest, settings=self.settings)
        self._salts: dict[date, str] = {}
        self.written = 0
        self.dropped_by_steps = 0
        self.failures = 0
        self.last_write_seconds = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._reported = (0, 0)  # the capture's (captured, dropped) already in /metrics

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="analytics-flusher")

    async def stop(self) -> None:
        """Stop the loop and drain the buffer (graceful shutdown)."""
        self._stop.set()
        if self._task is not None:
            task, self._task = self._task, None
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for _ in range(100):
            if not len(self.capture) or not await self.flush():
                break

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.flush_seconds)
            try:
                await self.flush()
                if self.drain is not None:
                    await self.drain.drain()
                await self._housekeeping()
            except Exception:
                logger.exception("analytics flush failed")

    def report_counters(self) -> None:
        """Add what the capture counted since the last report to /metrics.

        Once per tick rather than per request: a Prometheus increment (a lock, and in a
        multi-process server an mmap write) would cost the redirect more than its append.
        """
        captured, dropped = self.capture.captured, self.capture.dropped
        seen_captured, seen_dropped = self._reported
        self._reported = (captured, dropped)
        if captured > seen_captured:
            metrics.events_buffered(captured - seen_captured)
        if dropped > seen_dropped:
            metrics.events_dropped("buffer_full", dropped - seen_dropped)

    async def flush(self) -> int:
        """Write everything buffered now; returns the events written."""
        async with self._lock:
            batch = self.capture.take()
            written = 0
            size = self.settings.batch
            try:
                for start in range(0, len(batch), size):
                    part = batch[start : start + size]
                    try:
                        written += await self._write(part)
                    except Exception:
                        self.failures += 1
                        self.capture.give_back(batch[start:])
                        raise
            finally:
                self.report_counters()
            return written

    async def _salts_for(self, days: list[date], now: datetime) -> dict[date, str]:
        # A day's salt never changes once made (it is only deleted, 48 h on: BatchSalts
        # stops using it then), so each process reads it once.
        missing = [day for day in days if day not in self._salts]
        if missing:
            async with self.database.transaction(write_lock=True) as session:
                self._salts.update(await service.salts_for(session, missing, now))
            oldest = (now - timedelta(days=3)).date()
            for day in [day for day in self._salts if day < oldest]:
                del self._salts[day]
        return self._salts

    async def _write(self, batch: list[Captured]) -> int:
        began = time.perf_counter()
        now = self.clock.now()
        days = sorted(_days_of(batch, self.ingest))
        salts = BatchSalts(dict(await self._salts_for(days, now)), now)
        if self.ship:
            payloads: list[tuple[bytes, int]] = []
            dropped = 0
            for start in range(0, len(batch), SHIP_CHUNK):
                anonymised, lost = self.ingest.anonymise(batch[start : start + SHIP_CHUNK], salts)
                dropped += lost
                if anonymised:
                    payloads.append((shipping.encode(anonymised), len(anonymised)))
                # On the event loop in small steps, not in a thread: a thread running Python
                # makes every request wait for the GIL's switch interval (5 ms) at each
                # I/O call — a convoy that cost the redirect far more than this work.
                await asyncio.sleep(0)
            if payloads:
                async with self.database.transaction(write_lock=True) as session:
                    await service.ship(session, payloads, now=now)
            written = sum(count for _, count in payloads)
        else:
            assert self.drain is not None
            with collection_paused():  # a bounded burst of acyclic rows (kit/gcpause.py)
                result = await asyncio.to_thread(self.ingest.run, batch, salts)
                await self.drain.write(result)
            written, dropped = len(result.rows), result.dropped
        self.written += written
        self.dropped_by_steps += dropped
        # Captured events, not rows (a QR page view writes two): buffered = flushed +
        # dropped + still buffered.
        metrics.events_flushed(len(batch) - dropped)
        if dropped:
            metrics.events_dropped("invalid", dropped)
        self.last_write_seconds = time.perf_counter() - began
        return written

    async def _housekeeping(self) -> None:
        # Salts and retention are the workers' (or the embedded process's) business.
        if self.drain is not None:
            await self.drain.housekeeping()


_TS = itemgetter(1)


def _days_of(batch: list[Captured], ingest: VisitIngest) -> set[date]:
    """The UTC days a batch covers: a flush is nearly always within one day, and then the
    first and last times (``min``/``max``, loops in C) say so without a date per event —
    a few tenths of a microsecond per captured event on the redirect's event loop."""
    if not batch:
        return set()
    try:
        first, last = min(map(_TS, batch)), max(map(_TS, batch))
        low, high = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    except TypeError:  # a naive time among aware ones (the anonymise step drops it)
        return ingest.days_of(batch)
    return {low} if low == high else ingest.days_of(batch)


class InboxDrain:
    """A worker's half of a shipped flush: take inbox rows, enrich, store, delete.

    One transaction per round: the rows are locked (PostgreSQL: ``SKIP LOCKED``, so
    workers share the inbox; SQLite: its one writer), their events enriched and written
    with their rollups, the rows deleted — each shipped event counts once, and a worker
    killed mid-round leaves the rows for the next.
    """

    ROWS_PER_ROUND = 20  # about 20,000 events (SHIP_CHUNK each)

    def __init__(
        self,
        database: Database,
        clock: Clock,
        ingest: VisitIngest,
        *,
        settings: AnalyticsSettings | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.ingest = ingest
        self.settings = settings or AnalyticsSettings()
        self.written = 0
        self.bad_rows = 0
        self.seen = service.SeenVisitors()
        self.shapes = service.ShapeIds()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_salt_check = 0.0
        self._next_prune = 0.0

    async def drain(self) -> int:
        """Enrich and store everything waiting now; returns the rows written."""
        total = 0
        while True:
            written = await self.drain_once()
            if written < 0:
                return total
            total += written

    async def drain_once(self) -> int:
        """One round; -1 when the inbox was empty."""
        async with self.database.transaction() as session:
            if not await service.inbox_waiting(session):
                return -1  # a read, not the write lock, when there is nothing to do
        try:
            with collection_paused():  # a bounded burst of acyclic rows (kit/gcpause.py)
                result = await self._drain_claimed()
        except BaseException:
            self._rolled_back()
            raise
        if result is None:
            return -1
        self._committed()
        self.written += len(result.rows)
        if result.dropped:
            metrics.events_dropped("invalid", result.dropped)
        return len(result.rows)

    async def _drain_claimed(self) -> IngestResult | None:
        """Claim, enrich, store and delete one round of inbox rows (one transaction)."""
        async with self.database.transaction(write_lock=True) as session:
            claimed = await service.take_from_inbox(session, limit=self.ROWS_PER_ROUND)
            if not claimed:
                return None
            batch = []
            for row_id, payload in claimed:
                try:
                    batch.extend(shipping.decode(payload))
                except shipping.BadPayload as error:
                    # Never retried: it would fail the same way and hold the queue up.
                    self.bad_rows += 1
                    metrics.events_dropped("bad_payload")
                    logger.error("analytics inbox row %s set aside: %s", row_id, error)
            result: IngestResult = await asyncio.to_thread(self.ingest.enrich, batch)
            await service.store(
                session, result.rows, result.returns, seen=self.seen, shapes=self.shapes
            )
            await service.remove_from_inbox(session, [row_id for row_id, _ in claimed])
        return result

    async def write(self, result: IngestResult) -> None:
        """Store enriched rows in a transaction of their own (the embedded flusher)."""
        try:
            async with self.database.transaction(write_lock=True) as session:
                await service.store(
                    session, result.rows, result.returns, seen=self.seen, shapes=self.shapes
                )
        except BaseException:
            self._rolled_back()
            raise
        self._committed()

    def _committed(self) -> None:
        self.seen.committed()
        self.shapes.committed()

    def _rolled_back(self) -> None:
        self.seen.rolled_back()
        self.shapes.rolled_back()

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="analytics-inbox")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            task, self._task = self._task, None
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.flush_seconds)
            try:
                await self.drain()
                await self.housekeeping()
            except Exception:
                logger.exception("analytics inbox drain failed")

    async def housekeeping(self) -> None:
        """Delete salts past their 48 h and raw events past retention (when due)."""
        moment = time.monotonic()
        now = self.clock.now()
        if moment >= self._next_salt_check:
            self._next_salt_check = moment + SALT_CHECK_SECONDS
            async with self.database.transaction(write_lock=True) as session:
                await service.forget_expired_salts(session, now)
        if moment >= self._next_prune:
            self._next_prune = moment + PRUNE_SECONDS
            async with self.database.transaction(write_lock=True) as session:
                await service.prune(session, now, self.settings.retention_days)
