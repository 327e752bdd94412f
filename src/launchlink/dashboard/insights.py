"""The analytics page: a workspace's or one campaign's figures, read from the rollups
(``analytics/queries.py``) and drawn as server-side SVG (``web/charts.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.analytics import queries
from launchlink.models import Link
from launchlink.web.charts import bar_chart, line_chart

PRESETS = (7, 30, 90)
BREAKDOWN_TITLES = {
    "source": "Where visitors came from",
    "channel": "Channel (UTM / campaign tag)",
    "country": "Country",
    "device": "Device",
    "in_app": "In-app browser",
}
SERIES = (("views", "Views"), ("clicks", "Clicks"), ("presaves", "Pre-saves"))
# What the page draws and tabulates over time: the series reads only these metrics.
SERIES_METRICS = ("view", "visitor", "click", "presave_authorised")


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    views: dict[str, int]
    clicks: dict[str, int]
    chart: Markup


@dataclass(frozen=True)
class AnalyticsView:
    start: datetime
    end: datetime
    interval: queries.Interval
    link: Link | None
    summary: dict[str, Any]
    series: list[dict[str, Any]]
    series_chart: Markup
    series_table: Markup
    clicks_chart: Markup
    breakdowns: list[Breakdown]
    launch_chart: Markup | None
    launch: dict[str, Any] | None


def window_of(
    start: date | None, end: date | None, *, now: datetime, days: int = 30
) -> queries.TimeRange:
    """Whole UTC days: ``end`` is the last day included; nothing given means the last
    ``days`` days until now."""
    begin = datetime.combine(start, time(0), tzinfo=UTC) if start else None
    finish = datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC) if end else None
    if finish is not None and finish > now + timedelta(days=1):
        finish = None  # the future has no visits: "until now"
    return queries.TimeRange.parse(begin, finish, now=now, default_days=days)


def series_table(points: list[dict[str, Any]]) -> Markup:
    """The body of the "figures as a table" of the series: a row per point with a view,
    click or pre-save. Built here, not in the template: an hourly month is 720 points,
    and Jinja's attribute lookups on them cost more than the page's queries."""
    rows = [
        f"<tr><td>{escape(point['start'].strftime('%Y-%m-%d %H:%M UTC'))}</td>"
        f"<td>{int(point['views'])}</td><td>{int(point['visitors'])}</td>"
        f"<td>{int(point['clicks'])}</td><td>{int(point['presaves'])}</td></tr>"
        for point in points
        if point["views"] or point["clicks"] or point["presaves"]
    ]
    if not rows:
        rows.append('<tr><td colspan="5">Nothing counted in this range yet.</td></tr>')
    return Markup("".join(rows))  # noqa: S704 - integers and an escaped time only


def _label(moment: datetime, interval: queries.Interval) -> str:
    return moment.strftime("%d %b %H:%M" if interval == "hour" else "%d %b")


async def analytics_view(
    session: AsyncSession,
    workspace_id: UUID,
    window: queries.TimeRange,
    interval: queries.Interval,
    link_id: UUID | None,
) -> AnalyticsView:
    link = await queries.owned_link(session, workspace_id, link_id) if link_id else None
    if link is not None:
        summary = await queries.link_summary(
            session, workspace_id, link.id, window, interval, SERIES_METRICS
        )
    else:
        summary = await queries.workspace_summary(
            session, workspace_id, window, interval, SERIES_METRICS
        )
    points: list[dict[str, Any]] = summary["series"]
    labels = [_label(point["start"], interval) for point in points]
    series_chart = line_chart(
        "Views, clicks and pre-saves",
        labels,
        [(title, [point[key] for point in points]) for key, title in SERIES],
    )
    breakdowns = [
        Breakdown(
            key=key,
            title=title,
            views=summary["breakdowns"].get(key, {}),
            clicks=summary["click_breakdowns"].get(key, {}),
            chart=bar_chart(f"Views by {key}", summary["breakdowns"].get(key, {})),
        )
        for key, title in BREAKDOWN_TITLES.items()
    ]
    launch = summary.get("launch_window")
    launch_chart = None
    if launch:
        hours = launch["hours"]
        launch_chart = line_chart(
            "Launch window, hours from release",
            [f"{point['hours_from_release']:+d} h" for point in hours],
            [(title, [point[key] for point in hours]) for key, title in SERIES],
        )
    return AnalyticsView(
        start=window.start,
        end=window.end,
        interval=interval,
        link=link,
        summary=summary,
        series=points,
        series_chart=series_chart,
        series_table=series_table(points),
        clicks_chart=bar_chart("Clicks by service", summary["clicks"]),
        breakdowns=breakdowns,
        launch_chart=launch_chart,
        launch=launch,
    )
