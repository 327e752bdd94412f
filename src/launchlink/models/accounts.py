from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime
from launchlink.models._columns import IdMixin, TimestampsMixin


class WorkspaceKind(enum.StrEnum):
    artist = "artist"
    label = "label"


class Role(enum.StrEnum):
    """What a member or an API key may do in a workspace; each includes the next."""

    owner = "owner"
    admin = "admin"
    editor = "editor"
    viewer = "viewer"

    @property
    def can_write(self) -> bool:
        return self is not Role.viewer

    @property
    def can_administer(self) -> bool:
        return self in (Role.owner, Role.admin)

    @property
    def rank(self) -> int:
        """Higher is more: owner 3, admin 2, editor 1, viewer 0."""
        return {Role.owner: 3, Role.admin: 2, Role.editor: 1, Role.viewer: 0}[self]


class Workspace(IdMixin, TimestampsMixin, Base):
    __tablename__ = "workspace"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[WorkspaceKind] = mapped_column(
        Enum(WorkspaceKind, native_enum=False, length=16), default=WorkspaceKind.label
    )
    base_language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    """The language of its fan pages and messages for a fan whose language we have no
    translation in (one of the shipped languages; ``workspace.set_base_language``)."""


class User(IdMixin, TimestampsMixin, Base):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300), default=None)


class Membership(TimestampsMixin, Base):
    __tablename__ = "membership"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))


class ApiKey(IdMixin, TimestampsMixin, Base):
    """A workspace-scoped API key. Only a hash is stored; the key is shown once."""

    __tablename__ = "api_key"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class UserSession(IdMixin, TimestampsMixin, Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, so a
    leaked table signs nobody in, and revoking the row signs that browser out."""

    __tablename__ = "user_session"

    user_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class Invitation(IdMixin, TimestampsMixin, Base):
    """An invitation to join a workspace with a role, mailed as a signed single-use link."""

    __tablename__ = "invitation"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    invited_by_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AuditEntry(IdMixin, Base):
    """One change: who (a user, or the system), what, when, the values before and after."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_workspace_at", "workspace_id", "at"),)

    workspace_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), default=None
    )
    actor_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    actor: Mapped[str] = mapped_column(String(320))
    """The actor's email when it happened (kept when the user is deleted)."""
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
