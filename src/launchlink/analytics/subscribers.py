"""Facts no request carries come from the outbox: fulfilment outcomes and messages sent.

Session handlers: the raw row and its rollup increments commit together with the
delivery's "handled" mark, so each event counts exactly once although delivery is
at-least-once (docs/architecture.md, "The road of one event").
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink import events
from launchlink.analytics import service
from launchlink.analytics.ingest import fact_row

FULFILMENT_SUBSCRIBER = "analytics.fulfilment"
MESSAGES_SUBSCRIBER = "analytics.messages"

_OUTCOMES: dict[type[events.PresaveOutcome], str] = {
    events.PresaveDone: "done",
    events.PresavePartial: "partial",
    events.PresaveNeedsReauth: "needs_reauth",
    events.PresaveFailed: "failed",
    events.PresaveCancelled: "cancelled",
}


async def fulfilment_outcome(session: AsyncSession, event: events.PresaveOutcome) -> None:
    if event.workspace_id is None:
        return
    state = _OUTCOMES[type(event)]
    reason = f"{state}:{event.reason}" if event.reason else state
    row = fact_row(
        ts=event.occurred_at,
        workspace_id=event.workspace_id,
        link_id=event.link_id,
        kind="fulfilment_outcome",
        service=event.service,
        reason=reason,
    )
    await service.store(session, [row])


async def message_sent(session: AsyncSession, event: events.MessageSent) -> None:
    if event.workspace_id is None:
        return
    row = fact_row(
        ts=event.occurred_at,
        workspace_id=event.workspace_id,
        # Messages about one link say so; the rest count for the workspace only.
        link_id=getattr(event, "link_id", None),
        kind="message_sent",
        service=event.channel,
        reason=event.kind,
    )
    await service.store(session, [row])


def register(subscriptions: events.Subscriptions) -> None:
    """Subscribe analytics to the outbox (called once per process at start-up)."""
    for event_type in _OUTCOMES:
        subscriptions.subscribe(event_type, fulfilment_outcome, name=FULFILMENT_SUBSCRIBER)
    subscriptions.subscribe(events.MessageSent, message_sent, name=MESSAGES_SUBSCRIBER)
