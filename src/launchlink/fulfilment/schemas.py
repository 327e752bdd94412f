"""JSON shapes of the fulfilment API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from launchlink.fulfilment.service import Progress


class ServiceProgressOut(BaseModel):
    service: str
    total: int
    done: int
    pending: int
    waiting_for_release: int
    scheduled: int
    partial: int
    needs_reauth: int
    failed: int
    cancelled: int
    per_minute: float
    paused_until: datetime | None
    pause_reason: str | None


class ProgressOut(BaseModel):
    release_id: UUID
    total: int
    done: int
    pending: int
    waiting_for_release: int
    failed: int
    eta_seconds: float | None
    services: list[ServiceProgressOut]

    @classmethod
    def of(cls, progress: Progress) -> ProgressOut:
        return cls(
            release_id=progress.release_id,
            total=progress.total("total"),
            done=progress.total("done"),
            pending=progress.total("pending"),
            waiting_for_release=progress.total("waiting_for_release"),
            failed=progress.total("failed"),
            eta_seconds=progress.eta_seconds,
            services=[
                ServiceProgressOut(**{k: getattr(s, k) for k in ServiceProgressOut.model_fields})
                for s in progress.services
            ],
        )


class ReportOut(BaseModel):
    link_id: UUID
    rows: list[dict[str, Any]]
