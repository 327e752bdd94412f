"""Fulfilment progress of a release and the per-campaign report (CSV or JSON)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from launchlink.dependencies import CurrentPrincipal, Session
from launchlink.errors import NotFound
from launchlink.fulfilment import report, service
from launchlink.fulfilment.schemas import ProgressOut, ReportOut
from launchlink.kit.clock import SystemClock
from launchlink.models.catalog import Release
from launchlink.models.links import Link

router = APIRouter(tags=["fulfilment"])


@router.get("/releases/{release_id}/fulfilment", response_model=ProgressOut)
async def release_progress(
    release_id: UUID, session: Session, principal: CurrentPrincipal
) -> ProgressOut:
    """Fulfilment counts per service: done, pending, waiting for release, failed, rate, ETA."""
    release = await session.get(Release, release_id)
    if release is None or release.workspace_id != principal.workspace_id:
        raise NotFound("no such release in this workspace")
    return ProgressOut.of(await service.progress(session, release_id, clock=SystemClock()))


@router.get("/links/{link_id}/fulfilment-report", response_model=None)
async def campaign_report(
    link_id: UUID,
    session: Session,
    principal: CurrentPrincipal,
    format: Literal["json", "csv"] = "json",
) -> Response | ReportOut:
    """Each fan's outcome and reason for one campaign, as JSON or CSV."""
    link = await session.get(Link, link_id)
    if link is None or link.workspace_id != principal.workspace_id:
        raise NotFound("no such link in this workspace")
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
