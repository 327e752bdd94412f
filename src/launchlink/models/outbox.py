"""The transactional outbox: emitted events and their delivery to each subscriber.

An :class:`OutboxEvent` is written in the transaction of the change it reports (see
:func:`launchlink.events.emit`), so it exists exactly when the change does. A dispatcher
fans each event out into one :class:`OutboxDelivery` per :class:`OutboxSubscription` that
wants its type — every subscription ever registered, not only the dispatcher's own, so a
subscriber whose process is down still gets its deliveries — and then works those rows like
the fulfilment queue: ``next_attempt_at`` doubles as the lease,
``lease_owner`` fences every write of the holder, and a killed dispatcher's leases simply
run out. Open deliveries (``finished_at IS NULL``) have their own partial indexes so the
queue stays small however many handled rows retention keeps.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime

_SEQ = BigInteger().with_variant(Integer, "sqlite")
_OPEN = text("finished_at IS NULL")


class DeliveryState(enum.StrEnum):
    pending = "pending"
    """Waiting, leased or backing off; ``finished_at`` is null exactly in this state."""
    handled = "handled"
    parked = "parked"
    """Given up after ``outbox.max_attempts`` failures; kept with its error until retried."""


class OutboxEvent(Base):
    """One emitted domain event (``launchlink.events``), in emission order (``seq``)."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        Index(
            "ix_outbox_event_unfanned",
            "seq",
            postgresql_where=text("fanned_out_at IS NULL"),
            sqlite_where=text("fanned_out_at IS NULL"),
        ),
        Index("ix_outbox_event_occurred_at", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    """The order of events of one aggregate (emit serialises emitters per aggregate)."""
    id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    aggregate_type: Mapped[str] = mapped_column(String(50))
    aggregate_id: Mapped[str] = mapped_column(String(100))
    workspace_id: Mapped[UUID | None] = mapped_column(Uuid, default=None, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When a dispatcher made its deliveries; null while it waits for one."""


class OutboxSubscription(Base):
    """A subscriber's durable wish for one event type (``*``: all), registered by every
    dispatcher that runs it; it stays until an operator retires the subscriber."""

    __tablename__ = "outbox_subscription"

    subscriber: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxDelivery(Base):
    """One event for one subscriber: the unit that is leased, retried, parked or handled."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        UniqueConstraint("event_seq", "subscriber"),
        Index(
            "ix_outbox_delivery_open_stream",
            "aggregate_key",
            "subscriber",
            "event_seq",
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        # A claim reads one subscriber's open deliveries in order: exactly this index.
        Index(
            "ix_outbox_delivery_open_queue",
            "subscriber",
            "event_seq",
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        Index("ix_outbox_delivery_state_finished", "state", "finished_at"),
    )

    id: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(_SEQ, ForeignKey("outbox_event.seq", ondelete="CASCADE"))
    subscriber: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(100))
    """The event's type, so a dispatcher claims only what its code can handle."""
    aggregate_key: Mapped[str] = mapped_column(String(160))
    """``"<aggregate type>:<aggregate id>"``: deliveries of one key reach a subscriber in order."""
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Failures so far."""
    claims: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Claimable from this instant; while leased, the lease's expiry."""
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
