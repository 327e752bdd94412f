"""/api/v1/analytics: a workspace's figures, read from the rollups."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from launchlink.analytics import queries
from launchlink.analytics.exports import MEDIA_TYPES, ExportFormat, export_stream
from launchlink.analytics.schemas import LinkSummary, WorkspaceSummary
from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, get_clock, get_context
from launchlink.kit.clock import Clock

router = APIRouter(prefix="/analytics", tags=["analytics"])

From = Annotated[
    str | None,
    Query(alias="from", description="Start: a date (UTC midnight) or an ISO time with a zone."),
]
To = Annotated[str | None, Query(alias="to", description="End (exclusive); default: now.")]
IntervalQuery = Annotated[queries.Interval, Query(description="Series points per hour or day.")]


def _window(start: str | None, end: str | None, clock: Clock) -> queries.TimeRange:
    return queries.TimeRange.parse(
        queries.as_date_or_time(start, "from"),
        queries.as_date_or_time(end, "to"),
        now=clock.now(),
    )


@router.get("/links/{link_id}/summary", response_model=LinkSummary, response_model_by_alias=True)
async def link_summary(
    link_id: UUID,
    principal: CurrentPrincipal,
    session: Session,
    clock: Annotated[Clock, Depends(get_clock)],
    start: From = None,
    end: To = None,
    interval: IntervalQuery = "day",
) -> Any:
    """A link's views, visitors, clicks, funnel, launch window and intent vs demand."""
    window = _window(start, end, clock)
    return await queries.link_summary(session, principal.workspace_id, link_id, window, interval)


@router.get("/summary", response_model=WorkspaceSummary, response_model_by_alias=True)
async def workspace_summary(
    principal: CurrentPrincipal,
    session: Session,
    clock: Annotated[Clock, Depends(get_clock)],
    start: From = None,
    end: To = None,
    interval: IntervalQuery = "day",
) -> Any:
    """The whole workspace's figures over every link."""
    window = _window(start, end, clock)
    return await queries.workspace_summary(session, principal.workspace_id, window, interval)


@router.get(
    "/links/{link_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
async def link_events(
    link_id: UUID,
    principal: CurrentPrincipal,
    session: Session,
    clock: Annotated[Clock, Depends(get_clock)],
    context: Annotated[AppContext, Depends(get_context)],
    start: From = None,
    end: To = None,
    export_format: Annotated[
        ExportFormat, Query(alias="format", description="csv or parquet.")
    ] = "csv",
) -> StreamingResponse:
    """A link's raw events in a range, streamed as CSV or Parquet."""
    window = _window(start, end, clock)
    link = await queries.owned_link(session, principal.workspace_id, link_id)
    name = f"{link.slug}-{window.start:%Y%m%dT%H}-{window.end:%Y%m%dT%H}.{export_format}"
    return StreamingResponse(
        export_stream(export_format, context.database, link.id, window.start, window.end),
        media_type=MEDIA_TYPES[export_format],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
