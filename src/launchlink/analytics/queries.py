"""The dashboard's and API's questions, answered from the rollups only.

A range ``[from, to)`` is widened to whole hours; whole UTC days inside it are read from
the daily rows and the ragged ends from the hourly rows, so a 90-day question reads ~90
rows per cell instead of ~2,160.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.analytics.repository import AnalyticsRepository
from launchlink.analytics.rollups import day_of, hour_of
from launchlink.errors import InvalidTimeRange, NotFound
from launchlink.models.catalog import Release, ReleaseMode
from launchlink.models.links import Link

Interval = Literal["hour", "day"]
MAX_RANGE = timedelta(days=800)
MAX_HOURLY_POINTS = 24 * 62
WINDOW_BEFORE = timedelta(hours=48)
WINDOW_AFTER = timedelta(hours=72)
BREAKDOWNS = ("source", "channel", "country", "device", "in_app", "os", "phase")
UNKNOWN = "unknown"

Totals = dict[str, dict[str, dict[str, int]]]
_HALF_DAY = timedelta(hours=12)


class Spans(NamedTuple):
    """The rollups a range's totals read: whole days, plus hours, less hours."""

    days: tuple[datetime, datetime] | None
    hours: list[tuple[datetime, datetime]]
    less_hours: list[tuple[datetime, datetime]]


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @classmethod
    def parse(
        cls, start: datetime | None, end: datetime | None, *, now: datetime, default_days: int = 30
    ) -> TimeRange:
        for name, value in (("from", start), ("to", end)):
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise InvalidTimeRange(
                    f"{name} needs a time zone (e.g. 2027-03-01T00:00:00Z)", field=name
                )
        until_now = end is None
        end = end or now
        start = start or end - timedelta(days=default_days)
        if start >= end:
            raise InvalidTimeRange("from must be before to", field="from")
        if end - start > MAX_RANGE:
            raise InvalidTimeRange(f"a range spans at most {MAX_RANGE.days} days", field="to")
        begin = hour_of(start)
        finish = hour_of(end)
        if finish < end.astimezone(UTC) or until_now:
            finish += timedelta(hours=1)  # "until now" includes the current hour
        return cls(begin, finish)

    def spans(self) -> Spans:
        """What to read: whole days, hours added, hours taken away.

        A ragged end of more than half a day is read as its whole day less the hours
        outside the range (at most 12 hourly rows per cell instead of up to 23): every
        daily count is the sum of its hours' counts (rollups.py counts both from the
        same events). "Until now" ends are then a day and no hour at all: the hours
        after now have no rows yet.
        """
        first_day = day_of(self.start)
        if first_day < self.start:
            first_day += timedelta(days=1)
        last_day = day_of(self.end)
        if first_day >= last_day:
            return Spans(None, [(self.start, self.end)], [])
        hours, less = [], []
        if first_day - self.start > _HALF_DAY:
            first_day -= timedelta(days=1)
            less.append((first_day, self.start))
        else:
            hours.append((self.start, first_day))
        if self.end - last_day > _HALF_DAY:
            last_day += timedelta(days=1)
            less.append((self.end, last_day))
        else:
            hours.append((last_day, self.end))
        return Spans((first_day, last_day), hours, less)


async def totals(session: AsyncSession, scope_id: UUID, window: TimeRange) -> Totals:
    days, hours, less_hours = window.spans()
    rows = await AnalyticsRepository(session).rollup_totals(
        scope_id, days=days, hours=hours, less_hours=less_hours
    )
    out: Totals = defaultdict(lambda: defaultdict(dict))
    for metric, dimension, value, count in rows:
        out[metric][dimension][value] = count
    return out


def _cell(found: Totals, metric: str, dimension: str = "all", value: str = "") -> int:
    return found.get(metric, {}).get(dimension, {}).get(value, 0)


def _named(values: dict[str, int]) -> dict[str, int]:
    """Counts by value, the empty value shown as ``unknown``, largest first."""
    named: dict[str, int] = defaultdict(int)
    for value, count in values.items():
        named[value or UNKNOWN] += count
    return dict(sorted(named.items(), key=lambda item: (-item[1], item[0])))


def _split(values: dict[str, int]) -> dict[str, dict[str, int]]:
    """``a|b`` keyed counts as {a: {b: n}}."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key, count in values.items():
        first, _, second = key.partition("|")
        out[first or UNKNOWN][second or UNKNOWN] = count
    return dict(out)


def _per_100(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def summary_of(found: Totals) -> dict[str, Any]:
    """The headline figures, breakdowns, funnel and intent-vs-demand of one scope."""
    views = _cell(found, "view")
    clicks_by_service = _named(found.get("click", {}).get("service", {}))
    clicks = _cell(found, "click")
    visitors = found.get("visitor", {}).get("bucket", {})
    presaves = _cell(found, "presave_authorised")
    funnel_services = sorted(
        set(found.get("presave_start", {}).get("service", {}))
        | set(found.get("presave_authorised", {}).get("service", {}))
        | set(found.get("fulfilled", {}).get("service", {}))
        | set(found.get("presave_failed", {}).get("service", {}))
    )
    failures = _split(found.get("presave_failed", {}).get("reason", {}))
    fulfilment_failures = _split(found.get("fulfilment_outcome", {}).get("reason", {}))
    pre_views = sum(
        count for phase, count in found.get("view", {}).get("phase", {}).items()
        if phase in ("announce", "presave")
    )  # fmt: skip
    by_source = _split(found.get("click", {}).get("source_service", {}))
    views_by_source = _named(found.get("view", {}).get("source", {}))
    best = {
        source: [
            {
                "service": service,
                "clicks": count,
                "clicks_per_100_views": _per_100(count, views_by_source.get(source, 0)),
            }
            for service, count in sorted(services.items(), key=lambda i: (-i[1], i[0]))
        ]
        for source, services in sorted(by_source.items())
    }
    return {
        "views": views,
        "visitors": visitors.get("all", 0),
        "clicks": clicks_by_service,
        "clicks_total": clicks,
        "automatic_clicks": _cell(found, "click", "automatic", "auto"),
        "click_through": round(clicks / views, 4) if views else None,
        "bot_views": _named(found.get("bot_view", {}).get("bot_class", {})),
        "bot_clicks": _named(found.get("bot_click", {}).get("bot_class", {})),
        "breakdowns": {name: _named(found.get("view", {}).get(name, {})) for name in BREAKDOWNS},
        "click_breakdowns": {
            name: _named(found.get("click", {}).get(name, {}))
            for name in ("source", "channel", "country", "device", "in_app")
        },
        "qr_scans": _cell(found, "qr_scan"),
        "message_clicks": _named(found.get("message_click", {}).get("channel", {})),
        "messages_sent": _named(found.get("message_sent", {}).get("channel", {})),
        "funnel": {
            "views_before_release": pre_views,
            "optins": {
                "email": _cell(found, "optin_email"),
                "sms": _cell(found, "optin_sms"),
            },
            "services": {
                service: {
                    "start": _cell(found, "presave_start", "service", service),
                    "authorised": _cell(found, "presave_authorised", "service", service),
                    "fulfilled": _cell(found, "fulfilled", "service", service),
                    "sign_in_failures": failures.get(service, {}),
                    "fulfilment_failures": fulfilment_failures.get(service, {}),
                }
                for service in funnel_services
            },
        },
        "best_services_by_source": best,
        "intent_vs_demand": {
            "pre_release_visitors": visitors.get("pre", 0),
            "presaves": presaves,
            "presaves_per_100_pre_release_visitors": _per_100(presaves, visitors.get("pre", 0)),
            "post_release_visitors": visitors.get("post", 0),
            "clicks": clicks,
            "clicks_per_100_post_release_visitors": _per_100(clicks, visitors.get("post", 0)),
        },
        "presavers_returned": _cell(found, "return"),
    }


SERIES_METRICS = ("view", "click", "visitor", "bot_view", "presave_authorised", "return")
_SERIES_NAMES = {
    "view": "views",
    "click": "clicks",
    "visitor": "visitors",
    "bot_view": "bot_views",
    "presave_authorised": "presaves",
    "return": "presavers_returned",
}


async def series(
    session: AsyncSession,
    scope_id: UUID,
    start: datetime,
    end: datetime,
    interval: Interval,
    metrics: Sequence[str] = SERIES_METRICS,
) -> list[dict[str, Any]]:
    """One point per hour or UTC day in ``[start, end)``, zeros included.

    Each point has ``start`` and the figure of each of ``metrics`` (named as in
    ``_SERIES_NAMES``): a chart asks only for what it draws, and an hourly month of a
    busy scope is then fewer rows to read (bench/analytics.py).
    """
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    first = hour_of(start) if interval == "hour" else day_of(start)
    if interval == "hour" and (end - first) / step > MAX_HOURLY_POINTS:
        raise InvalidTimeRange(
            f"hourly series span at most {MAX_HOURLY_POINTS // 24} days; ask interval=day",
            field="interval",
        )
    names = {metric: _SERIES_NAMES[metric] for metric in metrics}
    rows = await AnalyticsRepository(session).rollup_series(
        scope_id, period="h" if interval == "hour" else "d", start=first, end=end,
        metrics=tuple(names),
    )  # fmt: skip
    empty = dict.fromkeys(names.values(), 0)
    points: dict[datetime, dict[str, Any]] = {}
    moment = first
    while moment < end:
        points[moment] = {"start": moment, **empty}
        moment += step
    fields = tuple(names.values())
    for start_at, counts in rows:
        point = points.get(start_at)
        if point is not None:
            point.update(zip(fields, counts, strict=True))
    return list(points.values())


def release_moment(release: Release) -> datetime | None:
    """The release's instant; for local-midnight releases, midnight in its own zone."""
    if release.release_mode == ReleaseMode.global_ and release.release_instant is not None:
        return release.release_instant
    if release.release_date is not None:
        zone = ZoneInfo(release.time_zone or "UTC")
        local = datetime.combine(release.release_date, time(0), tzinfo=zone)
        return local.astimezone(UTC)
    return release.release_instant


async def launch_window(session: AsyncSession, release: Release | None, scope_id: UUID) -> Any:
    moment = release_moment(release) if release is not None else None
    if moment is None:
        return None
    start = hour_of(moment - WINDOW_BEFORE)
    end = hour_of(moment + WINDOW_AFTER)
    hours = await series(session, scope_id, start, end, "hour")
    released_hour = hour_of(moment)
    for point in hours:
        point["hours_from_release"] = int((point["start"] - released_hour) / timedelta(hours=1))
    return {
        "release_at": moment,
        "from": start,
        "to": end,
        "hours": hours,
        "presavers_returned": sum(point["presavers_returned"] for point in hours),
    }


async def owned_link(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> Link:
    """The workspace's link; another workspace's link is not found (404)."""
    link = await AnalyticsRepository(session).link_of_workspace(workspace_id, link_id)
    if link is None:
        raise NotFound("no such link")
    return link


async def link_summary(
    session: AsyncSession,
    workspace_id: UUID,
    link_id: UUID,
    window: TimeRange,
    interval: Interval,
    series_metrics: Sequence[str] = SERIES_METRICS,
) -> dict[str, Any]:
    repository = AnalyticsRepository(session)
    link = await owned_link(session, workspace_id, link_id)
    found = await totals(session, link_id, window)
    release = await repository.release_of(link.release_id)
    return {
        "link_id": link.id,
        "slug": link.slug,
        "from": window.start,
        "to": window.end,
        "interval": interval,
        **summary_of(found),
        "series": await series(
            session, link_id, window.start, window.end, interval, series_metrics
        ),
        "launch_window": await launch_window(session, release, link_id),
    }


async def workspace_summary(
    session: AsyncSession,
    workspace_id: UUID,
    window: TimeRange,
    interval: Interval,
    series_metrics: Sequence[str] = SERIES_METRICS,
) -> dict[str, Any]:
    found = await totals(session, workspace_id, window)
    return {
        "workspace_id": workspace_id,
        "from": window.start,
        "to": window.end,
        "interval": interval,
        **summary_of(found),
        "series": await series(
            session, workspace_id, window.start, window.end, interval, series_metrics
        ),
    }


def as_date_or_time(value: str | None, field: str) -> datetime | None:
    """``2027-03-01`` (midnight UTC) or an ISO 8601 time with a zone; 422 otherwise."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidTimeRange(
            f"{field} must be a date (2027-03-01) or a time with a zone (2027-03-01T18:00:00Z)",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        raise InvalidTimeRange(f"{field} needs a time zone (e.g. …T18:00:00Z)", field=field)
    return parsed
