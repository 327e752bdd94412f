"""Fulfilment progress of a release (with why each pre-save is not done yet) and the
per-campaign report (CSV or JSON)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from launchlink.catalog.service import get_release
from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, get_clock, get_context
from launchlink.fulfilment import report, service
from launchlink.fulfilment.schemas import OpenJobOut, OpenJobPage, ProgressOut, ReportOut
from launchlink.kit.clock import Clock
from launchlink.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from launchlink.links.service import get_link

router = APIRouter(tags=["fulfilment"])

Context = Annotated[AppContext, Depends(get_context)]
AppClock = Annotated[Clock, Depends(get_clock)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Reason = Literal[
    "queued", "in_progress", "release_not_live", "rate_limited", "service_paused", "transient"
]


@router.get("/releases/{release_id}/fulfilment", response_model=ProgressOut)
async def release_progress(
    release_id: UUID,
    session: Session,
    principal: CurrentPrincipal,
    context: Context,
    clock: AppClock,
) -> ProgressOut:
    """Fulfilment per service: counts, rate, ETA, pauses, and why the rest is not done."""
    await get_release(session, principal.workspace_id, release_id)
    limiter = service.shared_limiter(context.settings, context.database)
    try:
        progress = await service.progress(session, release_id, clock=clock, limiter=limiter)
    finally:
        if limiter is not None:
            await limiter.aclose()
    return ProgressOut.of(progress)


@router.get("/releases/{release_id}/fulfilment/jobs", response_model=OpenJobPage)
async def release_open_jobs(
    release_id: UUID,
    session: Session,
    principal: CurrentPrincipal,
    clock: AppClock,
    service_name: Annotated[str | None, Query(alias="service", max_length=32)] = None,
    reason: Reason | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> OpenJobPage:
    """The release's queued jobs not done yet, each with its reason and last error."""
    await get_release(session, principal.workspace_id, release_id)
    page = await service.open_jobs(
        session,
        release_id,
        clock=clock,
        service=service_name,
        reason=reason,
        cursor=cursor,
        limit=limit,
    )
    return OpenJobPage(
        items=[OpenJobOut.of(row) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/links/{link_id}/fulfilment-report", response_model=None)
async def campaign_report(
    link_id: UUID,
    session: Session,
    principal: CurrentPrincipal,
    format: Literal["json", "csv"] = "json",
) -> Response | ReportOut:
    """Each fan's outcome and reason for one campaign, as JSON or CSV."""
    await get_link(session, principal.workspace_id, link_id)
    if format == "csv":
        body = await report.report_csv(session, link_id)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="fulfilment-{link_id}.csv"'},
        )
    return ReportOut(
        link_id=link_id, rows=[row async for row in report.report_rows(session, link_id)]
    )
