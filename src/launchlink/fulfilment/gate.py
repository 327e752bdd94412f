"""One writer at a time inside a worker process, on SQLite.

SQLite has one write lock per file. Writers that collide (``BEGIN IMMEDIATE`` while another
connection writes) wait in SQLite's busy handler, which sleeps in steps of up to 100 ms:
with claims, group commits, heartbeats and the scheduler all writing, that sleeping was
most of a job's latency. Queueing them on an ``asyncio.Lock`` first hands the lock over at
once. PostgreSQL uses row locks, so the gate is open there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database


class WriteGate:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = asyncio.Lock() if database.dialect == "sqlite" else None

    @property
    def serialises(self) -> bool:
        """True on SQLite, where this process's writers take turns."""
        return self._lock is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), queued behind this process's
        other writers."""
        if self._lock is None:
            async with self.database.transaction(write_lock=True) as session:
                yield session
            return
        async with self._lock, self.database.transaction(write_lock=True) as session:
            yield session
