"""Telling every process that links changed, so no stale page is ever served for long.

A change bumps the link's ``version`` and appends a ``link_change`` row in the same
transaction. After commit, this process drops its cached pages at once (the in-process
bus below); other processes see the row on their next poll — and on PostgreSQL a
``NOTIFY`` wakes them immediately (see :mod:`launchlink.links.invalidation`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import after_commit
from launchlink.links.repository import LinkRepository

NOTIFY_CHANNEL = "launchlink_link_change"

LinkChangeListener = Callable[[Sequence[UUID]], None]


class LinkChangeBus:
    """In-process fan-out of committed link changes (one per process)."""

    def __init__(self) -> None:
        self._listeners: list[LinkChangeListener] = []

    def subscribe(self, listener: LinkChangeListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: LinkChangeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def publish(self, link_ids: Sequence[UUID]) -> None:
        for listener in list(self._listeners):
            listener(link_ids)


bus = LinkChangeBus()


async def touch_links(session: AsyncSession, link_ids: Iterable[UUID]) -> None:
    """Record that these links' public pages changed; effective when the caller commits."""
    ids = sorted(set(link_ids))
    if not ids:
        return
    repository = LinkRepository(session)
    await repository.bump_versions(ids)
    await repository.record_changes(ids)
    if session.get_bind().dialect.name == "postgresql":
        # Delivered by PostgreSQL at commit, dropped on rollback: exactly what we want.
        await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))

    async def _publish() -> None:
        bus.publish(ids)

    after_commit(session, _publish)
