"""The fulfilment page of a campaign: progress on release day (the API's own
``fulfilment.service.progress``), the per-fan report afterwards (``fulfilment/report.py``)
and the fans who must sign in again before their pre-save can finish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.fulfilment import report
from launchlink.fulfilment import service as fulfilment
from launchlink.fulfilment.service import Progress
from launchlink.kit.clock import Clock
from launchlink.models import Link
from launchlink.models.presave import PresaveState

REPORT_SHOWN = 200
"""Rows of the report on the page; the CSV has them all."""


@dataclass(frozen=True)
class FulfilmentView:
    progress: Progress
    report: list[dict[str, Any]]
    """The first :data:`REPORT_SHOWN` fans' outcomes."""
    report_total: int
    needs_reauth: list[dict[str, Any]]
    finished: bool
    """Nothing left to do: every pre-save has its final state."""


async def progress_of(
    session: AsyncSession,
    link: Link,
    *,
    settings: Settings,
    database: Database,
    clock: Clock,
) -> Progress:
    limiter = fulfilment.shared_limiter(settings, database)
    try:
        return await fulfilment.progress(session, link.release_id, clock=clock, limiter=limiter)
    finally:
        if limiter is not None:
            await limiter.aclose()


async def fulfilment_view(
    session: AsyncSession,
    link: Link,
    *,
    settings: Settings,
    database: Database,
    clock: Clock,
) -> FulfilmentView:
    progress = await progress_of(session, link, settings=settings, database=database, clock=clock)
    shown: list[dict[str, Any]] = []
    reauth: list[dict[str, Any]] = []
    total = 0
    async for row in report.report_rows(session, link.id):
        total += 1
        if len(shown) < REPORT_SHOWN:
            shown.append(row | {"summary": report.action_summary(row["actions"])})
        if row["state"] == PresaveState.needs_reauth.value:
            reauth.append(row)
    open_work = progress.total("scheduled") + progress.total("pending")
    return FulfilmentView(
        progress=progress,
        report=shown,
        report_total=total,
        needs_reauth=reauth,
        finished=total > 0 and open_work == 0,
    )


async def report_csv(session: AsyncSession, link_id: UUID) -> str:
    return await report.report_csv(session, link_id)
