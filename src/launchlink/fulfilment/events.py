"""A small in-process event dispatcher with after-commit delivery.

Every pre-save outcome emits one :class:`FulfilmentEvent` (``presave.done``,
``presave.partial``, ``presave.needs_reauth``, ``presave.failed``, ``presave.cancelled``),
and a service pause emits ``fulfilment.service_paused``. Events are queued on the session
with :func:`launchlink.db.after_commit`, so handlers only ever see outcomes that were
committed, and nothing when the transaction rolled back. Handlers run in the worker's event
loop, one after another; one failing handler is logged and does not stop the others.

Subscribers: analytics (the funnel's "fulfilled" step) and messaging (the "it's in your
library" receipt) call ``dispatcher.subscribe("presave.done", handler)`` at start-up.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import after_commit

logger = logging.getLogger(__name__)

ANY = "*"

PRESAVE_DONE = "presave.done"
PRESAVE_PARTIAL = "presave.partial"
PRESAVE_NEEDS_REAUTH = "presave.needs_reauth"
PRESAVE_FAILED = "presave.failed"
PRESAVE_CANCELLED = "presave.cancelled"
SERVICE_PAUSED = "fulfilment.service_paused"


@dataclass(frozen=True)
class FulfilmentEvent:
    name: str
    at: datetime
    service: str
    presave_id: UUID | None = None
    workspace_id: UUID | None = None
    release_id: UUID | None = None
    link_id: UUID | None = None
    fan_id: UUID | None = None
    reason: str | None = None
    outcome: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[FulfilmentEvent], Awaitable[None]]


class EventDispatcher:
    """Name → handlers; ``"*"`` receives everything."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, name: str, handler: Handler) -> None:
        self._handlers[name].append(handler)

    def unsubscribe(self, name: str, handler: Handler) -> None:
        if handler in self._handlers.get(name, []):
            self._handlers[name].remove(handler)

    def emit_after_commit(self, session: AsyncSession, event: FulfilmentEvent) -> None:
        async def deliver() -> None:
            await self.dispatch(event)

        after_commit(session, deliver)

    async def dispatch(self, event: FulfilmentEvent) -> None:
        for handler in [*self._handlers.get(event.name, []), *self._handlers.get(ANY, [])]:
            try:
                await handler(event)
            except Exception:
                logger.exception("fulfilment event handler failed for %s", event.name)


dispatcher = EventDispatcher()
"""The process-wide dispatcher the engine emits on unless given another."""
