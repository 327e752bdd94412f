"""What operators (and later the dashboard and CLI) do with the outbox: see where it
stands, list parked deliveries with their errors, retry them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.errors import ValidationFailed
from launchlink.kit.clock import Clock
from launchlink.models.outbox import DeliveryState
from launchlink.outbox.repository import DeliveryView, OutboxRepository


@dataclass(frozen=True)
class OutboxStatus:
    waiting_for_fan_out: int
    deliveries: dict[tuple[str, str], int]
    """(subscriber, state) → count."""


async def status(session: AsyncSession) -> OutboxStatus:
    repository = OutboxRepository(session)
    return OutboxStatus(
        waiting_for_fan_out=await repository.unfanned(), deliveries=await repository.counts()
    )


async def parked(
    session: AsyncSession,
    *,
    subscriber: str | None = None,
    workspace_id: UUID | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[DeliveryView]:
    """Parked deliveries, oldest first, each with its last error (type and message)."""
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000", field="limit")
    return await OutboxRepository(session).deliveries(
        state=DeliveryState.parked,
        subscriber=subscriber,
        workspace_id=workspace_id,
        after=after,
        limit=limit,
    )


async def retry_parked(
    session: AsyncSession,
    clock: Clock,
    *,
    subscriber: str | None = None,
    delivery_ids: Sequence[int] | None = None,
) -> int:
    """Give parked deliveries a fresh attempt budget, due now; returns how many.

    A retried delivery goes before the events of its aggregate still waiting for that
    subscriber, but after the ones already handled: it is a redelivery, out of the
    original order.
    """
    if subscriber is None and not delivery_ids:
        raise ValidationFailed("name the subscriber or the deliveries to retry", field="subscriber")
    return await OutboxRepository(session).retry_parked(
        now=clock.now(), subscriber=subscriber, delivery_ids=delivery_ids
    )


async def retire_subscriber(session: AsyncSession, subscriber: str) -> tuple[int, int]:
    """Stop delivering to a subscriber that was removed from the code: its subscriptions
    and its undelivered (pending or parked) deliveries are deleted; returns both counts.

    Subscriptions outlive processes on purpose (a subscriber whose dispatcher is down still
    gets every event), so a subscriber that is gone for good must be retired explicitly —
    or its deliveries wait forever. A dispatcher still running it registers it again when
    it restarts.
    """
    if not subscriber:
        raise ValidationFailed("name the subscriber to retire", field="subscriber")
    return await OutboxRepository(session).retire(subscriber)
