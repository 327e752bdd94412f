"""Pre-save: campaigns on links, fans, their service grants, consents and pre-saves.

Life cycle of a pre-save (per fan, per service; see docs/presave.md):
``waiting`` → ``due`` → ``resolving`` → ``executing`` → ``done`` | ``partial`` |
``needs_reauth`` | ``failed`` | ``cancelled``. Every transition is a ``presave_event`` row.
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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime
from launchlink.kit.clock import utc_now
from launchlink.models._columns import IdMixin, TimestampsMixin


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


ANY_SERVICE = "any"
"""``presave.service`` of a reminder not routed to one service."""


class ServiceMode(enum.StrEnum):
    """How a service takes part in a campaign (chosen by the operator per service)."""

    direct_save = "direct_save"
    """OAuth now, save at the fan's release instant."""
    preadd = "preadd"
    """Apple Music native pre-add of the pre-order album."""
    reminder = "reminder"
    """Email/SMS when it is out, deep-linked to that service."""
    link_only = "link_only"
    """A pre-order or store link."""
    off = "off"


class PresaveState(enum.StrEnum):
    waiting = "waiting"
    due = "due"
    resolving = "resolving"
    executing = "executing"
    done = "done"
    partial = "partial"
    needs_reauth = "needs_reauth"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_PRESAVE_STATES


FINAL_PRESAVE_STATES = frozenset(
    {
        PresaveState.done,
        PresaveState.partial,
        PresaveState.needs_reauth,
        PresaveState.failed,
        PresaveState.cancelled,
    }
)


class FollowTiming(enum.StrEnum):
    consent = "consent"
    release = "release"


class ConsentKind(enum.StrEnum):
    connect_service = "connect_service"
    email = "email"
    """Marketing by email: this artist's future releases and announcements (and, as
    before migration 0023, the reminders of every release the fan pre-saved)."""
    sms = "sms"
    """Marketing by text, as ``email``."""
    future_releases = "future_releases"
    email_reminder = "email_reminder"
    """A reminder of one release only (its release-day message, countdown, receipt)."""
    sms_reminder = "sms_reminder"
    """A text reminder of one release only, as ``email_reminder``."""


class ContactPurpose(enum.StrEnum):
    """Why a fan typed an email address that is waiting for its confirmation."""

    reminder = "reminder"
    """A release-day reminder: the sign-up takes effect when the address is confirmed."""
    contact = "contact"
    """Email consent given with a service pre-save."""


class WorkspaceServiceMode(TimestampsMixin, Base):
    """The operator's default mode for a service in every campaign of the workspace."""

    __tablename__ = "workspace_service_mode"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[ServiceMode] = mapped_column(_enum(ServiceMode))


class ConsentText(IdMixin, Base):
    """The exact wording a fan agreed to; versions are immutable once created."""

    __tablename__ = "consent_text"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "version"),)

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ConsentKind] = mapped_column(_enum(ConsentKind))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8), default="en")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Campaign(TimestampsMixin, Base):
    """Pre-save settings of one link (absent: the link has no pre-save)."""

    __tablename__ = "campaign"

    link_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    presave_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Before this instant the link is an announce/teaser page."""
    service_modes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Per-campaign overrides of the workspace modes: service → ServiceMode value."""
    link_only_urls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """service → pre-order/store URL for link-only services."""
    save_release: Mapped[bool] = mapped_column(Boolean, default=True)
    follow_artist_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Artist ids (this workspace's) whose service accounts the fan follows."""
    extra_follows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Up to 3 extra {service, kind: artist|playlist, id} follows."""
    follow_timing: Mapped[FollowTiming] = mapped_column(
        _enum(FollowTiming), default=FollowTiming.consent
    )
    playlist_action: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """{"mode": "add_to_fan_playlist"|"add_to_new_playlist"|"follow", "service": ..., ...}."""
    apple_preorder_album_id: Mapped[str | None] = mapped_column(String(64), default=None)
    email_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    future_releases_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_text_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """ConsentKind value → the ConsentText id shown on this campaign."""


class Fan(IdMixin, TimestampsMixin, Base):
    """A person who pre-saved or opted in, within one workspace.

    ``email`` is the *proven* address (an emailed link was used), lower-cased; one fan per
    email and workspace. A typed address waits in :class:`PendingContact` until then.
    """

    __tablename__ = "fan"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    """E.164."""
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    """The fan's own choice; otherwise the territory's reference zone applies."""
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    email_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """The fan asked for texts (on a page). Texts other than the opt-in one wait for
    ``sms_confirmed_at`` (double opt-in)."""
    sms_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """The fan answered the opt-in text with YES/START."""
    region: Mapped[str | None] = mapped_column(String(8), default=None)
    """ISO 3166-2 subdivision (``US-FL``) when known: stricter quiet hours apply there."""
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ServiceGrant(IdMixin, TimestampsMixin, Base):
    """A fan's authorisation on a service. Tokens are encrypted (MultiFernet) at rest."""

    __tablename__ = "service_grant"
    __table_args__ = (UniqueConstraint("workspace_id", "service", "account_id"),)

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    fan_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("fan.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(200))
    """The fan's account id on the service (Spotify: account_id when given)."""
    access_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    storefront: Mapped[str | None] = mapped_column(String(8), default=None)
    standing: Mapped[bool] = mapped_column(Boolean, default=False)
    """The fan opted into future releases of this workspace's artists."""
    standing_artist_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    app_client_id: Mapped[str | None] = mapped_column(String(200), default=None)
    """The app (client id) the tokens were issued to: refreshed and used only with it. A
    workspace that changes or removes its own app leaves these grants needing re-auth.
    None: granted before apps were recorded (the instance's app)."""


class Presave(IdMixin, TimestampsMixin, Base):
    """One fan's pre-save of one release on one service.

    ``mode`` says what happens at release: ``direct_save`` and ``preadd`` rows carry a
    ``grant_id`` and are the fulfilment engine's work; ``reminder`` rows have no grant: their
    release-day messages are messaging's (``messaging/planner.py``).

    ``browser_hash`` is the browser that made it (the last one, when the same account
    pre-saved again): confirmation pages show a browser only what it made, and a browser's
    fan in a workspace is the fan of the newest pre-save it made (docs/presave.md).
    """

    __tablename__ = "presave"
    __table_args__ = (
        # The same service account pre-saving twice gets the same pre-save back.
        UniqueConstraint("link_id", "service", "grant_id"),
        Index("ix_presave_state_due_at", "state", "due_at"),
        Index("ix_presave_release_state", "release_id", "state"),
        # Whether a (release, service) still has open pre-saves (migration 0028).
        Index("ix_presave_release_service_state", "release_id", "service", "state"),
        Index("ix_presave_workspace_browser", "workspace_id", "browser_hash"),
        # The fans page's service filter: one probe per service (migration 0025).
        Index("ix_presave_workspace_service", "workspace_id", "service"),
        # A release move re-plans one (country, chosen zone) group at a time.
        Index("ix_presave_release_country", "release_id", "country"),
    )

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="CASCADE"), index=True
    )
    release_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("release.id", ondelete="CASCADE"))
    fan_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("fan.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    mode: Mapped[ServiceMode] = mapped_column(_enum(ServiceMode))
    grant_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("service_grant.id", ondelete="SET NULL"), default=None, index=True
    )
    state: Mapped[PresaveState] = mapped_column(_enum(PresaveState), default=PresaveState.waiting)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    time_zone: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The fan's release instant (global instant, or local midnight in their zone)."""
    actions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What was promised: {"save_release": true, "follow": [...], "playlist": {...}}."""
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Per action: {"action": ..., "status": "done"|"failed", "reason": ...}."""
    final_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    standing: Mapped[bool] = mapped_column(Boolean, default=False)
    """Queued from a standing authorisation rather than a visit."""
    browser_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    """Keyed hash of the browser cookie of the browser that made this pre-save."""
    email_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """The fan asked for this release's reminders by email only (no marketing consent):
    its release-day, countdown and receipt emails go out on it, nothing else does."""
    sms_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """As ``email_reminder_at``, by text (still after the double opt-in)."""


class PresaveEvent(IdMixin, Base):
    __tablename__ = "presave_event"

    presave_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("presave.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[PresaveState] = mapped_column(_enum(PresaveState))
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ConsentRecord(IdMixin, Base):
    """The consent ledger: what a fan agreed to, when, with which wording, from where."""

    __tablename__ = "consent_record"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    fan_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("fan.id", ondelete="CASCADE"), index=True)
    presave_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("presave.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[ConsentKind] = mapped_column(_enum(ConsentKind))
    service: Mapped[str | None] = mapped_column(String(32), default=None)
    granted: Mapped[bool] = mapped_column(Boolean, default=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    consent_text_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("consent_text.id", ondelete="RESTRICT"), default=None
    )
    ip_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OAuthAttempt(IdMixin, Base):
    """An OAuth round trip started from a pre-save page (drop-off is started − completed)."""

    __tablename__ = "oauth_attempt"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(32))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    """Hash of the browser-binding cookie: a state from another browser is refused."""
    code_verifier: Mapped[bytes] = mapped_column(LargeBinary)
    """Encrypted PKCE verifier."""
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the fan chose on the page (opt-ins, email, country, in-app browser...)."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    """approved | denied | failed (a replayed state is refused before it gets here)."""


class MagicLink(IdMixin, Base):
    """An emailed link that lets a fan finish a pre-save later (e.g. out of an in-app browser)."""

    __tablename__ = "magic_link"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("link.id", ondelete="CASCADE"))
    fan_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("fan.id", ondelete="CASCADE"), default=None
    )
    """The fan the address was proven for: set when the link is used to pre-save (links made
    before migration 0005 were created with it)."""
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    """The address the link was sent to; opening the link proves it."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    service: Mapped[str | None] = mapped_column(String(32), default=None)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the fan had chosen when they asked for the link (service, opt-ins)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class FormRateHit(IdMixin, Base):
    """One accepted fan form post, counted against a rate limit (see
    ``launchlink.presave.ratelimit``). ``bucket`` names the limit and a keyed hash of the
    email address or client IP: neither is stored in clear. Rows older than the longest
    window are purged as new ones arrive."""

    __tablename__ = "presave_rate_hit"
    __table_args__ = (Index("ix_presave_rate_hit_bucket_at", "bucket", "at"),)

    bucket: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PendingContact(IdMixin, Base):
    """An email address someone typed, not yet proven (double opt-in).

    Only the confirmation email goes to it; nothing else takes effect (no fan found or
    joined by the address, no reminder, no consent) until the signed link in that email is
    confirmed. ``fan_id`` is the proven fan of the session that typed it (its OAuth grant
    or its browser), never a fan looked up by the address; ``confirmed_fan_id`` is the fan
    the address was proven for when the link was confirmed.
    """

    __tablename__ = "pending_contact"
    __table_args__ = (Index("ix_pending_contact_workspace_email", "workspace_id", "email"),)

    workspace_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("workspace.id", ondelete="CASCADE"))
    link_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[ContactPurpose] = mapped_column(_enum(ContactPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    """The browser that typed the address: confirming there may join that browser's fan."""
    fan_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("fan.id", ondelete="CASCADE"), default=None, index=True
    )
    presave_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("presave.id", ondelete="SET NULL"), default=None
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the fan chose when typing it (service, language, zone, consent text ids...)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    confirmed_fan_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("fan.id", ondelete="CASCADE"), default=None, index=True
    )
