"""/api/v1/analytics: a workspace's figures, read from the rollups."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from launchlink.analytics import queries
from launchlink.analytics.schemas import LinkSummary, WorkspaceSummary
from launchlink.dependencies import CurrentPrincipal, Session, get_clock
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
