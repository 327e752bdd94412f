"""JSON shapes of the fulfilment API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from launchlink.fulfilment.repository import OpenJobRow
from launchlink.fulfilment.service import Progress, WaitingReason


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
    paused_until: datetime | None = Field(
        description="The service's pause (a 429's Retry-After), set by whichever process "
        "got it; null when not paused."
    )
    pause_reason: str | None
    active: int = Field(description="Held by a worker, or to be tried within a minute.")
    parked: int = Field(
        description="Not done and not tried within a minute: a pause, a backoff, or the "
        "next look for the release."
    )
    parked_until: datetime | None


class WaitingReasonOut(BaseModel):
    service: str
    reason: str = Field(
        description="not_yet_due, queued, in_progress, release_not_live, rate_limited, "
        "service_paused or transient."
    )
    count: int
    last_error: str | None
    next_at: datetime = Field(description="The earliest moment one of them is tried (or due).")
    until: datetime

    @classmethod
    def of(cls, reason: WaitingReason) -> WaitingReasonOut:
        return cls(
            service=reason.service,
            reason=reason.reason,
            count=reason.count,
            last_error=reason.last_error,
            next_at=reason.next_at,
            until=reason.until,
        )


class ProgressOut(BaseModel):
    release_id: UUID
    total: int
    done: int
    pending: int
    waiting_for_release: int
    failed: int
    active: int
    parked: int
    eta_seconds: float | None
    services: list[ServiceProgressOut]
    waiting: list[WaitingReasonOut] = Field(
        description="Why every pre-save not done yet is not done, grouped (largest first; "
        "the jobs themselves: /releases/{id}/fulfilment/jobs)."
    )

    @classmethod
    def of(cls, progress: Progress) -> ProgressOut:
        return cls(
            release_id=progress.release_id,
            total=progress.total("total"),
            done=progress.total("done"),
            pending=progress.total("pending"),
            waiting_for_release=progress.total("waiting_for_release"),
            failed=progress.total("failed"),
            active=progress.total("active"),
            parked=progress.total("parked"),
            eta_seconds=progress.eta_seconds,
            services=[
                ServiceProgressOut(**{k: getattr(s, k) for k in ServiceProgressOut.model_fields})
                for s in progress.services
            ],
            waiting=[WaitingReasonOut.of(reason) for reason in progress.reasons],
        )


class OpenJobOut(BaseModel):
    job_id: UUID
    presave_id: UUID
    service: str
    state: str
    reason: str
    last_error: str | None
    attempts: int
    next_attempt_at: datetime
    due_at: datetime

    @classmethod
    def of(cls, row: OpenJobRow) -> OpenJobOut:
        return cls(
            job_id=row.id,
            presave_id=row.presave_id,
            service=row.service,
            state=str(row.state),
            reason=row.reason,
            last_error=row.last_error,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            due_at=row.due_at,
        )


class OpenJobPage(BaseModel):
    items: list[OpenJobOut]
    next_cursor: str | None


class ReportOut(BaseModel):
    link_id: UUID
    rows: list[dict[str, Any]]
