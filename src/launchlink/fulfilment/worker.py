"""The worker: one lane per service, a scheduler and a lease heartbeat, in one event loop.

Each lane claims at most as many jobs as it can run (``concurrency``) and never more than
it can do within half a lease at the service's rate, so leases do not run out while jobs
wait for the limiter. A heartbeat extends the leases of every job the worker holds. A lane
whose service is paused (a huge ``Retry-After``) sleeps; the other lanes carry on.

Stopping: lanes stop claiming, running jobs get ``grace_seconds`` to finish, the rest are
cancelled and their jobs handed back. A worker killed outright (SIGKILL) hands back
nothing: its leases expire and other workers re-claim the jobs, skipping every action
already recorded as done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from uuid import UUID

from launchlink.connectors.base import SERVICES
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.repository import ClaimedJob
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.kit.leases import worker_name
from launchlink.ops import metrics

__all__ = ["Worker", "worker_name"]

logger = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        engine: FulfilmentEngine,
        *,
        services: Sequence[str] = SERVICES,
        run_scheduler: bool = True,
        owner: str | None = None,
        grace_seconds: float = 10.0,
    ) -> None:
        self.engine = engine
        self.services = tuple(services)
        self.run_scheduler = run_scheduler
        self.owner = owner or worker_name()
        self.grace_seconds = grace_seconds
        self._held: dict[UUID, ClaimedJob] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.processed = 0

    @property
    def settings(self) -> FulfilmentSettings:
        return self.engine.settings

    async def start(self) -> None:
        """Run in the background of the current loop (embedded mode)."""
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=f"fulfilment-worker {self.owner}")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        logger.info("fulfilment worker %s started", self.owner)
        loops = [asyncio.create_task(self._lane(s), name=f"lane {s}") for s in self.services]
        loops.append(asyncio.create_task(self._heartbeat(), name="lease heartbeat"))
        if self.run_scheduler:
            loops.append(asyncio.create_task(self._scheduler(), name="scheduler"))
        try:
            await self._stop.wait()
        finally:
            self._stop.set()
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            logger.info("fulfilment worker %s stopped", self.owner)

    async def _scheduler(self) -> None:
        while not self._stop.is_set():
            try:
                await self.engine.schedule()
            except Exception:
                logger.exception("scheduling due pre-saves failed")
            await self._sleep(self.settings.scheduler_seconds)

    async def _heartbeat(self) -> None:
        period = max(0.5, self.settings.lease_seconds / 3)
        while not self._stop.is_set():
            await self._sleep(period)
            held = list(self._held)
            if held:
                try:
                    await self.engine.extend_leases(held, self.owner)
                except Exception:
                    logger.exception("extending leases failed")

    async def _lane(self, service: str) -> None:
        settings = self.settings
        running: set[asyncio.Task[None]] = set()
        rate = self.engine.rate(service)
        per_lease = max(1, int(rate * settings.lease_seconds / 2))
        # Claim in batches: refill once half a batch of slots is free, not per finished job
        # (one claim per job was most of the claim cost at full speed).
        refill = max(1, min(settings.claim_batch, settings.concurrency, per_lease) // 2)
        try:
            while not self._stop.is_set():
                free = settings.concurrency - len(running)
                if free <= 0 or (running and free < refill):
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                pause = await self.engine.limiter.pause_of(service)
                if pause is not None:
                    await self._sleep(min(pause.until - time.time(), settings.idle_poll_seconds))
                    continue
                try:
                    jobs = await self.engine.claim(
                        service, self.owner, min(settings.claim_batch, free, per_lease)
                    )
                except Exception:
                    logger.exception("claiming %s jobs failed", service)
                    jobs = []
                if not jobs:
                    await self._sleep(settings.idle_poll_seconds)
                    continue
                for job in jobs:
                    self._held[job.job_id] = job
                    task = asyncio.create_task(self._run(job))
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            if running:
                _done, pending = await asyncio.wait(running, timeout=self.grace_seconds)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self, job: ClaimedJob) -> None:
        try:
            await self.engine.process(job, self.owner)
            self.processed += 1
            metrics.fulfilment_processed(job.service)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.engine.give_back(job, self.owner))
            raise
        finally:
            self._held.pop(job.job_id, None)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, seconds))
