"""Column helpers shared by every table."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Uuid
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import UTCDateTime
from launchlink.kit.clock import utc_now
from launchlink.kit.ids import uuid7


class IdMixin:
    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)


class TimestampsMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
