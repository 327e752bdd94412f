"""The fulfilment page of a campaign: progress on release day (the API's own
``fulfilment.service.progress``), the per-fan report afterwards (``fulfilment/report.py``)
and the fans who must sign in again before their pre-save can finish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.config import Settings
from launchlink.dashboard.repository import DashboardRepository
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
    # The shown rows, the count and the fans needing re-auth are three reads: walking every
    # pre-save of the link here grew the page with the campaign (the CSV still walks all).
    shown = [
        row | {"summary": report.action_summary(row["actions"])}
        async for row in report.report_rows(session, link.id, limit=REPORT_SHOWN)
    ]
    reauth = [
        row async for row in report.report_rows(session, link.id, state=PresaveState.needs_reauth)
    ]
    total = (await DashboardRepository(session).presave_counts([link.id])).get(link.id, 0)
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
