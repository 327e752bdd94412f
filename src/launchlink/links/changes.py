"""Telling every process that links changed, so no stale page is ever served for long.

A change bumps the link's ``version`` and appends a ``link_change`` row in the same
transaction. After commit, this process drops its cached pages at once (the in-process
bus below); other processes see the row on their next poll — and on PostgreSQL a
``NOTIFY`` wakes them immediately (see :mod:`launchlink.links.invalidation`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import after_commit
from launchlink.links.repository import LinkRepository

NOTIFY_CHANNEL = "launchlink_link_change"


class LinkChangeListener(Protocol):
    def links_changed(self, link_ids: Sequence[UUID]) -> None: ...


class LinkChangeBus:
    """In-process fan-out of committed link changes (one per process).

    Listeners are held weakly: an application that is gone (tests build many) stops
    listening without having to unsubscribe.
    """

    def __init__(self) -> None:
        self._listeners: weakref.WeakSet[LinkChangeListener] = weakref.WeakSet()

    def subscribe(self, listener: LinkChangeListener) -> None:
        self._listeners.add(listener)

    def unsubscribe(self, listener: LinkChangeListener) -> None:
        # A stopped application must stop reacting at once: until the collector frees it,
        # a weakly held listener would still start work against its closed database.
        self._listeners.discard(listener)

    def publish(self, link_ids: Sequence[UUID]) -> None:
        for listener in list(self._listeners):
            listener.links_changed(link_ids)


bus = LinkChangeBus()


async def touch_links(session: AsyncSession, link_ids: Iterable[UUID]) -> None:
    """Record that these links' public pages changed; effective when the caller commits."""
    ids = sorted(set(link_ids))
    if not ids:
        return
    repository = LinkRepository(session)
    await repository.bump_versions(ids)
    await repository.record_changes(ids, notify=NOTIFY_CHANNEL)

    async def _publish() -> None:
        bus.publish(ids)

    after_commit(session, _publish)
