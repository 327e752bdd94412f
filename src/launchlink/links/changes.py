"""Telling every process that links changed, so no stale page is ever served for long.

A change bumps the link's ``version`` and appends a ``link_change`` row in the same
transaction. After commit, this application drops its cached pages at once (its own
in-process bus below); other processes see the row on their next poll — and on PostgreSQL a
``NOTIFY`` wakes them immediately (see :mod:`launchlink.links.invalidation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database, after_commit
from launchlink.events import LinkChanged, emit_many
from launchlink.kit.clock import utc_now
from launchlink.links.repository import LinkRepository

NOTIFY_CHANNEL = "launchlink_link_change"


class LinkChangeListener(Protocol):
    def links_changed(self, link_ids: Sequence[UUID]) -> None: ...


class LinkChangeBus:
    """In-process fan-out of committed link changes: one per application, built by
    ``bootstrap.build_context`` and held on its ``AppContext`` (two applications in one
    process never hear each other's commits; they learn them from the change log, as two
    processes do). ``Application.shutdown`` unsubscribes its listeners.
    """

    def __init__(self) -> None:
        self._listeners: list[LinkChangeListener] = []

    def subscribe(self, listener: LinkChangeListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: LinkChangeListener) -> None:
        # A stopped application must stop reacting at once, not start work against its
        # closed database.
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def listeners(self) -> tuple[LinkChangeListener, ...]:
        return tuple(self._listeners)

    def publish(self, link_ids: Sequence[UUID]) -> None:
        for listener in list(self._listeners):
            listener.links_changed(link_ids)


_BUS_KEY = "launchlink.links.change_bus"


def attach(database: Database, bus: LinkChangeBus) -> None:
    """Commits of ``database``'s sessions that touch links are published on ``bus``."""
    database.share_with_sessions(_BUS_KEY, bus)


def _bus_of(session: AsyncSession) -> LinkChangeBus | None:
    bus = session.info.get(_BUS_KEY)
    return bus if isinstance(bus, LinkChangeBus) else None


async def touch_links(session: AsyncSession, link_ids: Iterable[UUID]) -> None:
    """Record that these links' public pages changed; effective when the caller commits."""
    ids = sorted(set(link_ids))
    if not ids:
        return
    repository = LinkRepository(session)
    await repository.bump_versions(ids)
    await repository.record_changes(ids, notify=NOTIFY_CHANNEL)
    # For subscribers elsewhere (analytics, webhooks, the dashboard). This application's
    # own caches are dropped by its bus below, at once, not by a delivery.
    now = utc_now()
    await emit_many(
        session,
        [
            LinkChanged(
                occurred_at=now, workspace_id=workspace_id, link_id=link_id, link_version=version
            )
            for link_id, workspace_id, version in await repository.versions(ids)
        ],
    )

    bus = _bus_of(session)
    if bus is None:
        return  # a session of no application (a test's, a script's): the log is enough

    async def _publish() -> None:
        bus.publish(ids)

    after_commit(session, _publish)
