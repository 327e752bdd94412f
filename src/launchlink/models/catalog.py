from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Date, Enum, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from launchlink.db import Base, UTCDateTime
from launchlink.models._columns import IdMixin, TimestampsMixin


class ReleaseType(enum.StrEnum):
    single = "single"
    ep = "ep"
    album = "album"


class ReleaseMode(enum.StrEnum):
    """``global``: one instant for everyone. ``local``: local midnight per territory."""

    global_ = "global"
    local = "local"


class Artist(IdMixin, TimestampsMixin, Base):
    __tablename__ = "artist"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    service_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Service key → the artist's id on that service (e.g. {"spotify": "0TnOYIS..."})."""


class Release(IdMixin, TimestampsMixin, Base):
    __tablename__ = "release"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[ReleaseType] = mapped_column(Enum(ReleaseType, native_enum=False, length=16))
    upc: Mapped[str | None] = mapped_column(String(14), default=None, index=True)
    artwork_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    release_mode: Mapped[ReleaseMode] = mapped_column(
        Enum(
            ReleaseMode,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    release_instant: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    release_date: Mapped[date | None] = mapped_column(Date, default=None)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    """IANA zone used for local-mode visitors whose territory is unknown."""
    label_name: Mapped[str | None] = mapped_column(String(200), default=None)

    artist_links: Mapped[list[ReleaseArtist]] = relationship(
        order_by="ReleaseArtist.position", cascade="all, delete-orphan", lazy="selectin"
    )
    tracks: Mapped[list[Track]] = relationship(
        order_by="Track.position", cascade="all, delete-orphan", lazy="selectin"
    )


class ReleaseArtist(Base):
    __tablename__ = "release_artist"

    release_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("release.id", ondelete="CASCADE"), primary_key=True
    )
    artist_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("artist.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    artist: Mapped[Artist] = relationship(lazy="joined")


class Track(IdMixin, Base):
    __tablename__ = "track"
    __table_args__ = (UniqueConstraint("release_id", "position"),)

    release_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("release.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    isrc: Mapped[str | None] = mapped_column(String(12), default=None, index=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
