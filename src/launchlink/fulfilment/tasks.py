"""Thin entry points: run a worker process, run the embedded worker.

``run_worker`` is what ``launchlink worker`` runs: it builds the process's context with
:mod:`launchlink.bootstrap` (no web piece), runs the fulfilment worker, the outbox
dispatcher and the messaging delivery worker, stops cleanly on SIGTERM/SIGINT (a second signal, or
SIGKILL, is also safe: leases expire and the jobs and deliveries are re-claimed) and
closes what it opened.
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
from launchlink.context import AppContext
from launchlink.fulfilment.service import build_engine
from launchlink.fulfilment.worker import Worker
from launchlink.kit.clock import Clock

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
    from launchlink.bootstrap import build_context, close_context
    from launchlink.messaging.tasks import delivery_worker

    context = build_context(settings, role="worker", clock=clock, registry=registry)
    worker = EmbeddedWorker(context, services=services)
    messaging = delivery_worker(context)
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, worker.worker.request_stop)
    # Fans' messages are sent by every worker too, not only by `serve`.
    messaging.start()
    # Web processes with workers ship their analytics here to be enriched and stored.
    drain = None
    if settings.analytics.enabled:
        from launchlink.analytics.wiring import inbox_drain_for_worker

        drain = inbox_drain_for_worker(context)
        await drain.start()
    try:
        await worker.run()
    finally:
        if drain is not None:
            await drain.stop()
        await messaging.stop(grace_seconds=settings.ops.shutdown_grace_seconds)
        await worker.engine.limiter.aclose()
        if registry is None:
            await close_context(context)
        else:
            await context.database.dispose()
    return worker.worker.processed


class EmbeddedWorker:
    """Fulfilment and the outbox dispatcher in one process: ``launchlink worker``, or
    inside ``launchlink serve`` (``LAUNCHLINK_EMBEDDED_WORKER``, default on).

    Both share one write gate, so on SQLite they take turns for the write lock instead of
    failing on it.
    """

    def __init__(self, context: AppContext, *, services: Sequence[str] = SERVICES) -> None:
        if context.registry is None or context.cipher is None:
            raise RuntimeError("build the context with launchlink.bootstrap first")
        self.context = context
        self.engine, _registry = build_engine(
            context.settings,
            context.database,
            context.clock,
            registry=context.registry,
            cipher=context.cipher,
            apps=context.apps,
        )
        self.worker = Worker(
            self.engine,
            services=services,
            grace_seconds=context.settings.ops.shutdown_grace_seconds,
        )
        self.outbox = context.outbox
        if self.outbox is not None:
            self.outbox.gate = self.engine.gate

    async def start(self) -> None:
        await self.worker.start()
        if self.outbox is not None:
            await self.outbox.start()

    async def run(self) -> None:
        """Run in the foreground until the fulfilment worker is asked to stop."""
        if self.outbox is not None:
            await self.outbox.start()
        try:
            await self.worker.run()
        finally:
            if self.outbox is not None:
                await self.outbox.stop()

    async def stop(self) -> None:
        if self.outbox is not None:
            await self.outbox.stop()
        await self.worker.stop()
        await self.engine.limiter.aclose()
