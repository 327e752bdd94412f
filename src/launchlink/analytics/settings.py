"""Analytics settings, nested in the app ``Settings`` as ``analytics``
(``LAUNCHLINK_ANALYTICS__RETENTION_DAYS=30``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AnalyticsSettings(BaseModel):
    enabled: bool = Field(default=True, description="Capture page views, clicks and the rest.")
    flush_seconds: float = Field(
        default=1.0,
        gt=0,
        le=1.0,
        description="How often the buffer is written; a crash loses at most this much plus "
        "the batch being written (docs/analytics.md).",
    )
    max_buffered: int = Field(
        default=200_000,
        ge=100,
        description="Captured events held in memory at most (while the database is down); "
        "beyond it new events are counted as dropped.",
    )
    batch: int = Field(
        default=20_000, ge=100, description="Events written per transaction at most."
    )
    retention_days: float = Field(
        default=400.0,
        gt=0,
        description="Raw events are deleted after this (rollups stay); "
        "`launchlink analytics prune` does it now.",
    )
