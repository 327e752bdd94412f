"""Messaging: the message outbox, its delivery ledger, templates, quiet-hours rules and
each workspace's sender identity and automatic pause (docs/messaging.md).

A :class:`Message` is one message to one fan on one channel, planned at an instant
(``send_at``: the fan's own release instant, 24 h before it...). Workers claim due rows
under a lease (``next_attempt_at`` doubles as the lease, ``lease_owner`` fences the
holder's writes, as in the fulfilment queue), render, hand over, and record the
provider's id for the message; callbacks and DSNs later move it to ``delivered`` or
``bounced``. Every change of state is a :class:`MessageStatus` row: the ledger.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime
from launchlink.kit.clock import utc_now
from launchlink.models._columns import IdMixin, TimestampsMixin


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class MessageChannel(enum.StrEnum):
    email = "email"
    sms = "sms"


class MessageKind(enum.StrEnum):
    release_day = "release_day"
    """At the fan's own release instant: it is out, listen on your service."""
    countdown = "countdown"
    """24 hours before the fan's release instant."""
    receipt = "receipt"
    """After fulfilment: it is in your library (or: we could not save it, tap to listen)."""
    announcement = "announcement"
    """A one-off message from the workspace to its consenting fans."""
    sms_opt_in = "sms_opt_in"
    """The double opt-in text: reply YES to get texts (the only SMS sent before it)."""


REMINDER_MESSAGE_KINDS = frozenset(
    {MessageKind.release_day, MessageKind.countdown, MessageKind.receipt, MessageKind.sms_opt_in}
)
"""The messages of one pre-save's own release: a reminder-only consent on that pre-save
covers them. Announcements (and every other release's messages) need marketing consent."""


class MessageState(enum.StrEnum):
    queued = "queued"
    """Waiting for ``next_attempt_at`` (planned, deferred by quiet hours, backing off) or
    leased by a worker."""
    sent = "sent"
    """Handed to the provider, which gave it ``provider_message_id``."""
    delivered = "delivered"
    """The provider's signed callback says it reached the handset or mailbox."""
    failed = "failed"
    """Refused for good, or given up after ``max_attempts``."""
    cancelled = "cancelled"
    """No longer wanted (consent withdrawn, release cancelled, fan deleted)."""


OPEN_MESSAGE_STATES = (MessageState.queued,)


class Message(IdMixin, TimestampsMixin, Base):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index(
            "ix_message_due",
            "next_attempt_at",
            postgresql_where=text("state = 'queued'"),
            sqlite_where=text("state = 'queued'"),
        ),
        Index("ix_message_release_state", "release_id", "state"),
        Index("ix_message_workspace_kind", "workspace_id", "kind", "state"),
        Index("ix_message_provider_id", "provider_message_id"),
    )

    workspace_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("workspace.id", ondelete="CASCADE"))
    fan_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("fan.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="CASCADE"), default=None
    )
    release_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("release.id", ondelete="CASCADE"), default=None
    )
    presave_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("presave.id", ondelete="SET NULL"), default=None
    )
    announcement_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    channel: Mapped[MessageChannel] = mapped_column(_enum(MessageChannel))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    """One message per purpose: planning twice (a retried request, a replayed event)
    finds the row already there."""
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the template needs beyond the fan and link (service, outcome...)."""
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The planned instant; kept when quiet hours or retries move ``next_attempt_at``."""
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[MessageState] = mapped_column(_enum(MessageState), default=MessageState.queued)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Failed hand-overs so far."""
    claims: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[str | None] = mapped_column(String(100), default=None)
    """Why ``next_attempt_at`` is later than ``send_at`` (quiet hours, paused...)."""
    handover_token: Mapped[str | None] = mapped_column(String(64), default=None)
    """The write-ahead mark: set (and committed) by the lease holder just before it hands
    the message to the provider, cleared when the result is settled. A queued row that
    still carries one was maybe handed over by a worker that died before settling it."""
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When the last hand-over began (where a reconciliation asks the provider from)."""
    provider: Mapped[str | None] = mapped_column(String(24), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    bounce: Mapped[str | None] = mapped_column(String(16), default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MessageStatus(IdMixin, Base):
    """The delivery ledger: every change of a message's state, and who said so."""

    __tablename__ = "message_status"

    message_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(24))
    """queued, deferred, sent, delivered, undelivered, failed, bounced, complaint,
    cancelled, retrying; after an interrupted hand-over (a worker killed between its
    hand-over mark and its settlement): reconciled (the provider had it), sent-after-check
    (it had not; sent now), sent-again (email: handed over again, maybe a second copy)."""
    source: Mapped[str] = mapped_column(String(16))
    """worker, callback (signed provider callback), dsn, planner, fan (an opt-out)."""
    detail: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class MessageTemplate(IdMixin, TimestampsMixin, Base):
    """A workspace's own wording for one kind × channel × language (sandboxed Jinja2)."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "channel", "language"),)

    workspace_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    channel: Mapped[MessageChannel] = mapped_column(_enum(MessageChannel))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, default=None)


class QuietHoursRule(IdMixin, TimestampsMixin, Base):
    """When messages of a channel may reach fans of a place, in the fan's own time; a row
    replaces the built-in rule of its scope and channel (``messaging/quiet_hours.py``).

    ``scope`` is ``*`` (everywhere), a country (``US``) or a subdivision (``US-FL``); the
    most specific rule that exists wins. Minutes after local midnight, ``allowed_from``
    inclusive, ``allowed_until`` exclusive. A row without ``workspace_id`` is the
    operator's, for every workspace; a workspace's own row replaces it for that
    workspace's fans and may only narrow it (``messaging/manage.py``).
    """

    __tablename__ = "quiet_hours_rule"
    __table_args__ = (
        UniqueConstraint("workspace_id", "scope", "channel"),
        Index(
            "uq_quiet_hours_rule_instance",
            "scope",
            "channel",
            unique=True,
            postgresql_where=text("workspace_id IS NULL"),
            sqlite_where=text("workspace_id IS NULL"),
        ),
    )

    workspace_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), default=None
    )
    scope: Mapped[str] = mapped_column(String(8))
    channel: Mapped[MessageChannel] = mapped_column(_enum(MessageChannel))
    allowed_from: Mapped[int] = mapped_column(Integer)
    allowed_until: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(300), default=None)


class WorkspaceMessaging(TimestampsMixin, Base):
    """A workspace's sender identity and the state of its automatic pause."""

    __tablename__ = "workspace_messaging"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    email_name: Mapped[str] = mapped_column(String(200), default="")
    email_local_part: Mapped[str | None] = mapped_column(String(64), default=None)
    """The From address is ``<local part>@<the operator's DKIM domain>``: the operator's
    key can only sign its own domain."""
    reply_to: Mapped[str | None] = mapped_column(String(320), default=None)
    sms_from: Mapped[str | None] = mapped_column(String(20), default=None)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When an admin last lifted a pause: the rates count from then, not the whole day."""


class Announcement(IdMixin, TimestampsMixin, Base):
    """A one-off message of a workspace to its consenting fans (one ``message`` each)."""

    __tablename__ = "announcement"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    """Messages planned when it was made (fans with a confirmed consent then)."""
