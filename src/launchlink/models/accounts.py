from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import Enum, ForeignKey, String, Uuid
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


class Workspace(IdMixin, TimestampsMixin, Base):
    __tablename__ = "workspace"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[WorkspaceKind] = mapped_column(
        Enum(WorkspaceKind, native_enum=False, length=16), default=WorkspaceKind.label
    )


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
