"""The flusher: every ``flush_seconds`` the buffer is enriched and written in one batch.

Per tick: swap the buffer out (:meth:`AnalyticsCapture.take`), read the salts of the days
it covers, enrich in a worker thread (the classifier, geo-IP and hashing are CPU work and
must not stall the event loop), then one write transaction: raw rows, visitor sightings,
returns and rollup increments together, so rollups never disagree with the raw events.
A failed write hands the batch back to the buffer (bounded by ``max_buffered``).

Crash-loss bound: a process killed without its shutdown loses what was captured since
the last flush started plus the batch being written then — at most ``flush_seconds`` of
events plus one batch's write time (docs/analytics.md). A graceful shutdown drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from launchlink.analytics import service
from launchlink.analytics.capture import AnalyticsCapture, Captured
from launchlink.analytics.ingest import BatchSalts, VisitIngest
from launchlink.analytics.settings import AnalyticsSettings
from launchlink.db import Database
from launchlink.kit.clock import Clock
from launchlink.ops import metrics

logger = logging.getLogger(__name__)

SALT_CHECK_SECONDS = 60.0
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
    ) -> None:
        self.capture = capture
        self.database = database
        self.clock = clock
        self.ingest = ingest
        self.settings = settings or AnalyticsSettings()
        self.written = 0
        self.dropped_by_steps = 0
        self.failures = 0
        self.last_write_seconds = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._next_salt_check = 0.0
        self._next_prune = 0.0
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

    async def _write(self, batch: list[Captured]) -> int:
        began = time.perf_counter()
        now = self.clock.now()
        days = sorted(self.ingest.days_of(batch))
        async with self.database.transaction(write_lock=True) as session:
            salts = await service.salts_for(session, days, now)
        result = await asyncio.to_thread(self.ingest.run, batch, BatchSalts(salts, now))
        async with self.database.transaction(write_lock=True) as session:
            await service.store(session, result.rows, result.returns)
        self.written += len(result.rows)
        self.dropped_by_steps += result.dropped
        # Captured events, not rows (a QR page view writes two): buffered = flushed +
        # dropped + still buffered.
        metrics.events_flushed(len(batch) - result.dropped)
        if result.dropped:
            metrics.events_dropped("invalid", result.dropped)
        self.last_write_seconds = time.perf_counter() - began
        return len(result.rows)

    async def _housekeeping(self) -> None:
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
