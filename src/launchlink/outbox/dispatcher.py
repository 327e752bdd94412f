"""The outbox dispatcher: deliver committed events to subscribers, at least once, in order
per aggregate, under leases (docs/architecture.md, "The road of one event").

One tick (:meth:`OutboxDispatcher.run_once`):

1. A write transaction fans new events out into deliveries (one per subscription that
   wants the type, whichever dispatcher registered it) and claims a batch: the head of
   each subscriber × aggregate stream that is due, with the due deliveries that follow it
   (``outbox/repository.py``).
2. Outside-effect handlers run, concurrently across streams and in order within one,
   while a heartbeat extends their leases.
3. One write transaction re-checks the leases, runs the session handlers — each in a
   savepoint, so a failing one rolls back only its own writes — and records every
   outcome: handled, retried later (exponential backoff with jitter) or parked with its
   error after ``max_attempts``. The rest of a stream after a failure is handed back and
   waits: order per aggregate is kept.

A dispatcher killed at any point loses nothing: events and deliveries are rows, and its
leases run out (``lease_seconds``) for another dispatcher — or its own restart — to
re-claim. What it had done in a transaction that did not commit is done again: session
handlers' writes were rolled back with it, outside effects happen twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from launchlink import events
from launchlink.db import Database
from launchlink.fulfilment.gate import WriteGate
from launchlink.kit.backoff import backoff_delay
from launchlink.kit.clock import Clock
from launchlink.kit.leases import worker_name
from launchlink.kit.pglisten import listen_forever
from launchlink.ops import metrics
from launchlink.outbox.repository import (
    NOTIFY_CHANNEL,
    ClaimedDelivery,
    Failure,
    OutboxRepository,
)
from launchlink.outbox.settings import OutboxSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
PRUNE_CHUNK = 5000

_SECRET_PAIR = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|client_secret|code_verifier|password|"
    r"passwd|secret|token|api_key|apikey|key|code|signature|sig)=([^&\s'\"]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")
_URL_USERINFO = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def describe_error(error: BaseException) -> str:
    """``Type: message`` for the delivery's ``last_error``, with credentials masked.

    Handlers should not put secrets into exceptions; this is the second line of defence
    for the common shapes (``token=…`` in a URL, an ``Authorization`` value, a password
    in a URL), because the error is stored and shown to operators.
    """
    message = str(error)
    message = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}=***", message)
    message = _AUTH_HEADER.sub(lambda m: f"{m.group(1)} ***", message)
    message = _URL_USERINFO.sub("://***@", message)
    described = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return described[:500]


class OutboxDispatcher:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        subscribers: events.Subscriptions,
        *,
        settings: OutboxSettings | None = None,
        owner: str | None = None,
        gate: WriteGate | None = None,
        registry: events.EventRegistry | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings or OutboxSettings()
        self.owner = owner or worker_name()
        # Share the fulfilment engine's gate when both run in one process (SQLite).
        self.gate = gate or WriteGate(database)
        self.registry = registry or events.registry
        self._subscribers = {s.name: s for s in subscribers.subscribers()}
        self._handles = [(s.name, t) for s in self._subscribers.values() for t in s.handlers]
        self._registered = False
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._effect_slots = asyncio.Semaphore(self.settings.concurrency)
        self.handled = 0
        self.failed = 0
        self.parked = 0

    @property
    def bind(self) -> Engine:
        """The engine whose commits wake this dispatcher in-process."""
        return self.database.engine.sync_engine

    # -- one tick ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Fan out, claim one batch and deliver it; returns the deliveries finished or
        failed (0: nothing was due)."""
        if not self._subscribers:
            return 0
        settings = self.settings
        now = self.clock.now()
        async with self.gate.transaction() as session:
            repository = OutboxRepository(session)
            if not self._registered:
                # Before the first fan-out: from now on every event of these types gets a
                # delivery for these subscribers, whichever dispatcher fans it out.
                await repository.register(self._handles, now)
            await repository.fan_out(now=now, limit=settings.fan_out_batch)
            claimed = await repository.claim(
                handles=self._handles,
                owner=self.owner,
                now=now,
                lease_until=now + timedelta(seconds=settings.lease_seconds),
                limit=settings.batch,
                per_aggregate=settings.per_aggregate,
            )
        self._registered = True
        if not claimed:
            return 0
        try:
            return await self._deliver(claimed)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._give_back(claimed))
            raise

    async def drain(self, *, max_ticks: int = 10_000) -> int:
        """Run ticks until nothing is due (tests, the CLI); returns deliveries processed."""
        total = 0
        for _ in range(max_ticks):
            done = await self.run_once()
            if done == 0:
                break
            total += done
        return total

    async def _deliver(self, claimed: Sequence[ClaimedDelivery]) -> int:
        streams: dict[tuple[str, str], list[ClaimedDelivery]] = {}
        for delivery in claimed:
            streams.setdefault((delivery.subscriber, delivery.aggregate_key), []).append(delivery)
        outcomes: dict[int, Exception | None] = {}
        effects = [s for (name, _key), s in streams.items() if self._subscribers[name].effect]
        if effects:
            async with self._heartbeat([d.id for d in claimed]):
                await asyncio.gather(*(self._run_effects(stream, outcomes) for stream in effects))

        async with self.gate.transaction() as session:
            repository = OutboxRepository(session)
            held = await repository.hold([d.id for d in claimed], self.owner)
            for (name, _key), stream in streams.items():
                subscriber = self._subscribers[name]
                if subscriber.effect:
                    continue
                for delivery in stream:
                    if delivery.id not in held:
                        break  # re-claimed elsewhere: the rest of the stream is theirs
                    try:
                        event = self._decode(delivery)
                        async with session.begin_nested():
                            await subscriber.handler_for(event.type)(session, event)
                    except Exception as error:
                        outcomes[delivery.id] = error
                        break
                    outcomes[delivery.id] = None
            now = self.clock.now()
            handled = [i for i, outcome in outcomes.items() if outcome is None and i in held]
            failures = [
                self._failure(d, failed, now)
                for d in claimed
                if d.id in held and (failed := outcomes.get(d.id)) is not None
            ]
            untouched = [d.id for d in claimed if d.id in held and d.id not in outcomes]
            await repository.mark_handled(handled, self.owner, now)
            await repository.record_failures(failures, self.owner, now)
            await repository.release(untouched, self.owner, now)
        self._count(handled, failures, claimed)
        return len(handled) + len(failures)

    async def _run_effects(
        self, stream: Sequence[ClaimedDelivery], outcomes: dict[int, Exception | None]
    ) -> None:
        subscriber = self._subscribers[stream[0].subscriber]
        for delivery in stream:
            async with self._effect_slots:
                try:
                    event = self._decode(delivery)
                    await asyncio.wait_for(
                        subscriber.handler_for(event.type)(event),
                        timeout=self.settings.effect_timeout_seconds,
                    )
                except Exception as error:
                    outcomes[delivery.id] = error
                    return
            outcomes[delivery.id] = None

    def _decode(self, delivery: ClaimedDelivery) -> events.Event:
        stored = delivery.event
        return self.registry.decode(
            event_type=stored.type,
            version=stored.version,
            id=stored.id,
            occurred_at=stored.occurred_at,
            workspace_id=stored.workspace_id,
            payload=stored.payload,
        )

    def _failure(self, delivery: ClaimedDelivery, error: Exception, now: datetime) -> Failure:
        attempts = delivery.attempts + 1
        settings = self.settings
        retry_at = None
        if attempts < settings.max_attempts:
            retry_at = now + backoff_delay(
                attempts,
                base_seconds=settings.backoff_base_seconds,
                cap_seconds=settings.backoff_cap_seconds,
            )
        return Failure(
            delivery_id=delivery.id,
            attempts=attempts,
            error=describe_error(error),
            retry_at=retry_at,
        )

    def _count(
        self,
        handled: Sequence[int],
        failures: Sequence[Failure],
        claimed: Sequence[ClaimedDelivery],
    ) -> None:
        self.handled += len(handled)
        by_id = {d.id: d for d in claimed}
        for delivery_id in handled:
            metrics.outbox_handled(by_id[delivery_id].subscriber, "handled")
        for failure in failures:
            delivery = by_id[failure.delivery_id]
            metrics.outbox_handled(
                delivery.subscriber, "parked" if failure.retry_at is None else "retried"
            )
            if failure.retry_at is None:
                self.parked += 1
                logger.error(
                    "outbox: %s parked %s %s after %d attempts: %s",
                    delivery.subscriber,
                    delivery.event.type,
                    delivery.event.id,
                    failure.attempts,
                    failure.error,
                )
            else:
                self.failed += 1
                logger.warning(
                    "outbox: %s failed on %s %s (attempt %d, retrying): %s",
                    delivery.subscriber,
                    delivery.event.type,
                    delivery.event.id,
                    failure.attempts,
                    failure.error,
                )

    async def _give_back(self, claimed: Sequence[ClaimedDelivery]) -> None:
        async with self.gate.transaction() as session:
            await OutboxRepository(session).release(
                [d.id for d in claimed], self.owner, self.clock.now()
            )

    @asynccontextmanager
    async def _heartbeat(self, ids: Sequence[int]) -> AsyncIterator[None]:
        """Keep the batch's leases while slow outside effects run."""

        async def beat() -> None:
            lease = timedelta(seconds=self.settings.lease_seconds)
            while True:
                await asyncio.sleep(max(0.5, self.settings.lease_seconds / 3))
                try:
                    async with self.gate.transaction() as session:
                        await OutboxRepository(session).extend_leases(
                            ids, self.owner, self.clock.now() + lease
                        )
                except Exception:
                    logger.exception("outbox: extending leases failed")

        task = asyncio.create_task(beat(), name="outbox lease heartbeat")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- retention --------------------------------------------------------------------------

    async def prune(self) -> tuple[int, int]:
        """Delete handled deliveries and spent events older than ``retention_days``."""
        cutoff = self.clock.now() - timedelta(days=self.settings.retention_days)
        deliveries = events_deleted = 0
        while True:
            async with self.gate.transaction() as session:
                gone, spent = await OutboxRepository(session).prune(cutoff, PRUNE_CHUNK)
            deliveries += gone
            events_deleted += spent
            if gone < PRUNE_CHUNK and spent < PRUNE_CHUNK:
                return deliveries, events_deleted

    # -- the loop ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Run the next tick now (called after a commit that emitted, or on NOTIFY)."""
        self._wake.set()

    async def start(self) -> None:
        """Run in the background of the current loop (embedded mode)."""
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=f"outbox dispatcher {self.owner}")

    async def stop(self) -> None:
        """Finish the current tick, then stop."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        logger.info("outbox dispatcher %s started", self.owner)
        events.listen_locally(self)
        listener = None
        if self.database.dialect == "postgresql":
            listener = asyncio.create_task(
                listen_forever(self.database.url, NOTIFY_CHANNEL, self.wake, what="outbox events"),
                name="outbox listen",
            )
        pruned_at = -PRUNE_EVERY_SECONDS
        try:
            while not self._stop.is_set():
                if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                    pruned_at = time.monotonic()
                    try:
                        await self.prune()
                    except Exception:
                        logger.exception("outbox: pruning old rows failed")
                self._wake.clear()
                try:
                    done = await self.run_once()
                except Exception:
                    logger.exception("outbox: a dispatch tick failed; retrying")
                    done = 0
                if done == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), timeout=self.settings.poll_seconds
                        )
        finally:
            events.stop_listening_locally(self)
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            logger.info("outbox dispatcher %s stopped", self.owner)
