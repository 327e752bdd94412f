"""Keeping this process's caches in step with link changes made by any process.

Every process polls the ``link_change`` log (cheap: an indexed ``id > last`` query) and
invalidates what changed. On PostgreSQL a ``LISTEN`` connection wakes the poller as soon
as another process commits, so the delay is milliseconds there and at most
``cache_poll_seconds`` on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from launchlink.db import Database
from launchlink.kit.clock import Clock
from launchlink.kit.pglisten import listen_forever
from launchlink.links.changes import NOTIFY_CHANNEL, LinkChangeBus
from launchlink.links.repository import LinkRepository

logger = logging.getLogger(__name__)

CHANGE_LOG_RETENTION = timedelta(days=1)


class LinkChangeFeed:
    """Polls the change log and publishes changes made elsewhere to the application's bus."""

    def __init__(
        self, database: Database, clock: Clock, bus: LinkChangeBus, *, poll_seconds: float = 1.0
    ) -> None:
        self.database = database
        self.bus = bus
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.last_seen = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        async with self.database.sessionmaker() as session:
            self.last_seen = await LinkRepository(session).last_change_id()
        self._tasks.append(asyncio.create_task(self._poll_forever(), name="link-change-poll"))
        if self.database.dialect == "postgresql":
            self._tasks.append(
                asyncio.create_task(self._listen_forever(), name="link-change-listen")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def poll_once(self) -> Sequence[UUID]:
        async with self.database.sessionmaker() as session:
            changes = await LinkRepository(session).changes_after(self.last_seen)
        if not changes:
            return []
        self.last_seen = changes[-1].id
        link_ids = sorted({change.link_id for change in changes})
        self.bus.publish(link_ids)
        return link_ids

    async def prune(self) -> None:
        async with self.database.transaction() as session:
            await LinkRepository(session).prune_changes(self.clock.now() - CHANGE_LOG_RETENTION)

    async def _poll_forever(self) -> None:
        polls = 0
        while True:
            try:
                await self.poll_once()
                polls += 1
                if polls % 3600 == 0:
                    await self.prune()
            except Exception:
                logger.exception("polling link changes failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def _listen_forever(self) -> None:
        await listen_forever(self.database.url, NOTIFY_CHANNEL, self._wake.set, what="link changes")
