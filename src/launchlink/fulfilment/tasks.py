"""Thin entry points: run a worker process, run the embedded worker, run one release.

``run_worker`` is what ``launchlink worker`` runs: it builds the engine from settings,
stops cleanly on SIGTERM/SIGINT (a second signal, or SIGKILL, is also safe: leases expire
and the jobs are re-claimed) and closes what it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from launchlink.config import Settings
from launchlink.connectors.base import SERVICES
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.db import Database
from launchlink.fulfilment.service import build_engine
from launchlink.fulfilment.worker import Worker
from launchlink.kit.clock import Clock, SystemClock

logger = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: ConnectorRegistry | None = None,
    services: Sequence[str] = SERVICES,
    handle_signals: bool = True,
) -> int:
    """Run one worker until a stop signal; returns how many jobs it processed."""
    database = Database.from_settings(settings)
    engine, connectors = build_engine(settings, database, clock or SystemClock(), registry=registry)
    worker = Worker(engine, services=services, grace_seconds=settings.ops.shutdown_grace_seconds)
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, worker.request_stop)
    try:
        await worker.run()
    finally:
        await engine.limiter.aclose()
        if registry is None:
            await connectors.aclose()
        await database.dispose()
    return worker.processed


class EmbeddedWorker:
    """The worker inside ``launchlink serve`` (``LAUNCHLINK_EMBEDDED_WORKER``, default on)."""

    def __init__(self, settings: Settings, database: Database, clock: Clock) -> None:
        self.engine, self._registry = build_engine(settings, database, clock)
        self.worker = Worker(self.engine)

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.engine.limiter.aclose()
        await self._registry.aclose()
