"""A workspace's outward integrations: webhook endpoints with their delivery log, and the
service apps a label brings (its own Spotify/Apple/Deezer/TIDAL credentials)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime
from launchlink.kit.clock import utc_now
from launchlink.models._columns import IdMixin, TimestampsMixin


class WebhookEndpoint(IdMixin, TimestampsMixin, Base):
    """An URL that receives the workspace's events, signed with its own secret."""

    __tablename__ = "webhook_endpoint"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Exact types (``presave.created``) or a family (``message.*``)."""
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    """The signing secret, encrypted with the token cipher (shown once, at creation)."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookAttempt(IdMixin, Base):
    """One POST of one event to one endpoint: the endpoint's delivery log."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        Index("ix_webhook_attempt_endpoint_at", "endpoint_id", "at"),
        Index("ix_webhook_attempt_event", "event_id", "endpoint_id"),
    )

    endpoint_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    event_id: Mapped[UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ServiceCredential(TimestampsMixin, Base):
    """A workspace's own app on a streaming service (a label's or distributor's), its
    secret encrypted with the token cipher and never shown again in full."""

    __tablename__ = "service_credential"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    secret_hint: Mapped[str] = mapped_column(String(8))
    """The last characters of the secret, so a person can tell which one is stored."""
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Service-specific identifiers that are not secret (Apple's team and key ids)."""
    rejected_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    """The service refused these credentials (``invalid_client``): a permanent
    configuration error until they are replaced; the service is not offered meanwhile."""
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
