"""Release-day fulfilment: the work queue, per-action completions, resolutions, limiters.

The queue is rows, not messages (docs/fulfilment.md): one :class:`FulfilmentJob` per
pre-save that became due. ``next_attempt_at`` doubles as the lease: a claim moves it to
``now + lease`` and sets ``lease_owner``, so a job whose worker died becomes claimable
again when its lease runs out, with no sweeper. ``lease_owner`` fences every write of the
holder: a worker that lost its lease cannot close or record anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime
from launchlink.kit.clock import utc_now
from launchlink.models._columns import IdMixin


class FulfilmentJob(IdMixin, Base):
    """One due pre-save waiting to be (or being) fulfilled."""

    __tablename__ = "fulfilment_job"
    __table_args__ = (
        Index("ix_fulfilment_job_claim", "open", "service", "next_attempt_at"),
        Index("ix_fulfilment_job_release_open", "release_id", "open"),
    )

    presave_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("presave.id", ondelete="CASCADE"), unique=True
    )
    release_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("release.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(32))
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Claimable from this instant; while leased, the lease's expiry."""
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Transient failures so far (bounded by ``fulfilment.max_attempts``)."""
    waiting_for: Mapped[str | None] = mapped_column(String(32), default=None)
    """Why it is not done yet: release_not_live, rate_limited, transient, service_paused."""
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class FulfilmentAction(IdMixin, Base):
    """The durable record of one action of one pre-save, written right after it ran."""

    __tablename__ = "fulfilment_action"
    __table_args__ = (UniqueConstraint("presave_id", "kind"),)

    presave_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("presave.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    """save_release | follow_artists | follow_playlist | add_to_playlist."""
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    """done | failed."""
    targets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    """False where the service accepts without confirming (Apple's 202)."""
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ReleaseResolution(Base):
    """What a service says about a release in one territory (the resolver's shared cache)."""

    __tablename__ = "release_resolution"

    release_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("release.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    territory: Mapped[str] = mapped_column(String(2), primary_key=True)
    """ISO country code, or "" for the service's default market."""
    found: Mapped[bool] = mapped_column(Boolean, default=False)
    album_id: Mapped[str | None] = mapped_column(String(128), default=None)
    track_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    first_checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    """The next lookup; taken forward by whoever claims the check, so one worker polls."""
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)


class ServiceLimiterState(Base):
    """Shared pacing and pause of one service app (database limiter; pauses for all)."""

    __tablename__ = "fulfilment_limiter"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Double, default=0.0)
    """Epoch seconds of the next free request slot (GCRA's theoretical arrival time)."""
    paused_until: Mapped[float] = mapped_column(Double, default=0.0)
    pause_reason: Mapped[str | None] = mapped_column(String(300), default=None)
