"""API shapes of /api/v1/analytics."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class SeriesPoint(BaseModel):
    start: datetime
    views: int
    visitors: int = Field(description="Visitors whose first view of the UTC day fell here.")
    clicks: int
    bot_views: int
    presaves: int
    presavers_returned: int


class LaunchHour(SeriesPoint):
    hours_from_release: int


class LaunchWindow(BaseModel):
    release_at: datetime
    from_: datetime = Field(alias="from")
    to: datetime
    hours: list[LaunchHour]
    presavers_returned: int = Field(
        description="Pre-savers' browsers that came back to the smart link in the window."
    )


class FunnelService(BaseModel):
    start: int
    authorised: int
    fulfilled: int
    sign_in_failures: dict[str, int]
    fulfilment_failures: dict[str, int]


class Optins(BaseModel):
    email: int
    sms: int


class Funnel(BaseModel):
    views_before_release: int
    optins: Optins
    services: dict[str, FunnelService]


class SourceService(BaseModel):
    service: str
    clicks: int
    clicks_per_100_views: float | None


class IntentDemand(BaseModel):
    pre_release_visitors: int
    presaves: int
    presaves_per_100_pre_release_visitors: float | None
    post_release_visitors: int
    clicks: int
    clicks_per_100_post_release_visitors: float | None


class Summary(BaseModel):
    model_config = {"populate_by_name": True}

    from_: datetime = Field(alias="from")
    to: datetime
    interval: str
    views: int = Field(description="Page views by people (robots and prefetches excluded).")
    visitors: int = Field(description="Unique visitors, once per UTC day.")
    clicks: dict[str, int] = Field(description="Clicks (taps and automatic redirects) per service.")
    clicks_total: int
    automatic_clicks: int
    click_through: float | None
    bot_views: dict[str, int] = Field(description="Views by robots and prefetches, per label.")
    bot_clicks: dict[str, int]
    breakdowns: dict[str, dict[str, int]]
    click_breakdowns: dict[str, dict[str, int]]
    qr_scans: int
    message_clicks: dict[str, int]
    messages_sent: dict[str, int]
    funnel: Funnel
    best_services_by_source: dict[str, list[SourceService]]
    intent_vs_demand: IntentDemand
    presavers_returned: int
    series: list[SeriesPoint]


class LinkSummary(Summary):
    link_id: UUID
    slug: str
    launch_window: LaunchWindow | None


class WorkspaceSummary(Summary):
    workspace_id: UUID
