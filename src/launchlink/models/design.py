from __future__ import annotations

from uuid import UUID

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base
from launchlink.models._columns import TimestampsMixin


class LinkDesign(TimestampsMixin, Base):
    """The operator's look for one link's fan pages (absent: the defaults).

    Button order and visibility live on the destinations, per-service modes and opt-in
    texts on the campaign; this row holds what neither has: the theme and the artwork we
    store ourselves.
    """

    __tablename__ = "link_design"

    link_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("link.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(8), default="auto")
    """``auto`` (the visitor's system setting), ``light`` or ``dark``."""
    accent: Mapped[str | None] = mapped_column(String(7), default=None)
    """``#RRGGBB`` chosen by the operator; None: the artwork's colour."""
    artwork_accent: Mapped[str | None] = mapped_column(String(7), default=None)
    """The colour taken from the uploaded artwork when it was stored."""
    artwork_key: Mapped[str | None] = mapped_column(String(80), default=None)
    """File name of the artwork we stored (content-addressed), None: the release's own."""
    artwork_size: Mapped[int | None] = mapped_column(Integer, default=None)
    headline: Mapped[str | None] = mapped_column(String(80), default=None)
    presave_headline: Mapped[str | None] = mapped_column(String(80), default=None)
