from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from launchlink.db import Base, UTCDateTime
from launchlink.kit.clock import utc_now
from launchlink.models._columns import IdMixin, TimestampsMixin

DEFAULT_HOST = ""
"""``Link.host`` of links served on the instance's own domain (not a custom domain)."""


class DomainProof(enum.StrEnum):
    dns = "dns"
    """A TXT record ``_launchlink.<hostname>`` holding the claim's token."""
    http = "http"
    """``http://<hostname>/.well-known/launchlink/<token>`` answering the token."""


class CustomDomain(IdMixin, TimestampsMixin, Base):
    """A hostname a workspace has proven it controls: links can live on it.

    ``hostname`` is unique: the first workspace to prove ownership holds the domain (the
    unique key decides a race). Until then a workspace holds a :class:`CustomDomainClaim`.
    """

    __tablename__ = "custom_domain"

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    root_link_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    """The link served at ``https://hostname/``. No foreign key: link and domain refer to
    each other, and a cycle of foreign keys cannot be created on SQLite; the links service
    clears it when that link is deleted or moved."""
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """None for domains registered before ownership was checked (kept serving on upgrade)."""
    verified_by: Mapped[DomainProof | None] = mapped_column(
        Enum(
            DomainProof, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]
        ),
        default=None,
    )


class CustomDomainClaim(IdMixin, TimestampsMixin, Base):
    """A workspace's pending claim on a hostname: it serves nothing and blocks nobody.

    Several workspaces may claim one hostname (a claim proves nothing, so it must not
    stop the real owner); proving ownership turns the claim into a :class:`CustomDomain`
    with the same id.
    """

    __tablename__ = "custom_domain_claim"
    __table_args__ = (UniqueConstraint("workspace_id", "hostname"),)

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    hostname: Mapped[str] = mapped_column(String(253))
    verification_token: Mapped[str] = mapped_column(String(64))


class Link(IdMixin, TimestampsMixin, Base):
    __tablename__ = "link"
    __table_args__ = (UniqueConstraint("host", "slug"),)

    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    release_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("release.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(253), default=DEFAULT_HOST)
    """Hostname of the custom domain, or DEFAULT_HOST; denormalised for the unique key."""
    custom_domain_id: Mapped[UUID | None] = mapped_column(
        Uuid, ForeignKey("custom_domain.id", ondelete="RESTRICT"), default=None, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every change of the link, its destinations or its release."""

    destinations: Mapped[list[Destination]] = relationship(
        order_by="Destination.position", cascade="all, delete-orphan", lazy="selectin"
    )


class Destination(IdMixin, TimestampsMixin, Base):
    __tablename__ = "destination"
    __table_args__ = (UniqueConstraint("link_id", "service"),)

    link_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("link.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    country_urls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class LinkChange(Base):
    """An append-only log of link changes that every process polls to drop stale pages."""

    __tablename__ = "link_change"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    link_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
