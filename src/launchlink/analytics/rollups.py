"""From enriched event rows to rollup counts (pure; shared by the flusher and replay).

A rollup key is ``(scope_id, period, start, metric, dimension, value)``: the scope is the
event's link and, separately, its workspace; the period an hour (``h``) or a UTC day
(``d``). Only people count in ``view`` and ``click``; robots and prefetches count in
``bot_view``/``bot_click`` per class, never elsewhere. The pre-save funnel's steps come
from forms and sign-ins a robot cannot pass (CSRF, OAuth), so they count as they come.

Events are first counted per link × hour × cell: a batch of thousands of page views has
a few hundred distinct cells, so the expansion into the workspace scope and the daily
period runs per cell, not per event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from launchlink.analytics.capture import FUNNEL_KINDS

RollupKey = tuple[UUID, str, datetime, str, str, str]
VisitorKey = tuple[UUID, Any, str, str]  # scope, day, bucket, hash

PRE_RELEASE_PHASES = frozenset({"announce", "presave"})
MESSAGE_KINDS = frozenset({"message_click", "qr_scan"})


def hour_of(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC)
    return ts.replace(minute=0, second=0, microsecond=0)


def day_of(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC)
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def phase_bucket(phase: str | None) -> str:
    if phase in PRE_RELEASE_PHASES:
        return "pre"
    return "post" if phase == "live" else "none"


def _cells(row: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, dimension, value) cells one event counts in."""
    kind = row["kind"]
    service = row["service"] or ""
    if kind in FUNNEL_KINDS:
        cells = [
            (kind, "all", ""),
            (kind, "service", service),
            (kind, "source", row["source"]),
        ]
        if kind == "presave_failed":
            cells.append((kind, "reason", f"{service}|{row['reason'] or 'unknown'}"))
        return cells
    if kind == "fulfilment_outcome":
        state, _, why = (row["reason"] or "unknown").partition(":")
        cells = [(kind, "all", ""), (kind, "outcome", f"{service}|{state}")]
        if state == "done":
            cells.append(("fulfilled", "service", service))
        elif why:
            cells.append((kind, "reason", f"{service}|{why}"))
        return cells
    if kind == "message_sent":
        return [(kind, "all", ""), (kind, "channel", service)]
    bot_class = row["bot_class"]
    if bot_class != "human":
        if kind == "page_view":
            return [("bot_view", "all", ""), ("bot_view", "bot_class", bot_class)]
        if kind == "service_click":
            return [("bot_click", "all", ""), ("bot_click", "bot_class", bot_class)]
        return []
    if kind in MESSAGE_KINDS:
        return [(kind, "all", ""), (kind, "channel", row["channel"] or "")]
    source = row["source"] or ""
    shared = [
        ("source", source),
        ("channel", row["channel"] or ""),
        ("country", row["country"] or ""),
        ("device", row["device_class"] or ""),
        ("in_app", row["in_app"] or ""),
        ("phase", row["phase"] or ""),
    ]
    if kind == "page_view":
        return [("view", "all", ""), ("view", "os", row["os"] or "")] + [
            ("view", d, v) for d, v in shared
        ]
    if kind == "service_click":
        return [
            ("click", "all", ""),
            ("click", "service", service),
            ("click", "automatic", "auto" if row["automatic"] else "tap"),
            ("click", "source_service", f"{source}|{service}"),
        ] + [("click", d, v) for d, v in shared]
    return []


def rollup_counts(
    rows: Iterable[Mapping[str, Any]],
    *,
    new_visitors: Iterable[tuple[UUID, str, datetime]] = (),
    returns: Iterable[tuple[UUID, UUID, datetime]] = (),
) -> Counter[RollupKey]:
    """Counts to add: per event row, per new visitor (scope, bucket, first-seen time),
    per returning pre-saver (link, workspace, first-seen time)."""
    # Counted per link and hour first: a batch has few distinct cells, so the expansion
    # into the workspace scope and the daily period runs per cell, not per event. Keys use
    # small ints for the ids and the hour (UUIDs and datetimes hash slowly in Python).
    scope_numbers: dict[tuple[Any, UUID], int] = {}
    scopes: list[tuple[Any, UUID]] = []
    hours: dict[int, datetime] = {}
    cells: Counter[tuple[int, int, str, str, str]] = Counter()
    for row in rows:
        pair = (row["link_id"], row["workspace_id"])
        number = scope_numbers.get(pair)
        if number is None:
            number = scope_numbers[pair] = len(scopes)
            scopes.append(pair)
        ts = row["ts"]
        hour_number = int(ts.timestamp()) // 3600
        if hour_number not in hours:
            hours[hour_number] = hour_of(ts)
        for metric, dimension, value in _cells(row):
            cells[(number, hour_number, metric, dimension, value)] += 1
    counts: Counter[RollupKey] = Counter()
    for (number, hour_number, metric, dimension, value), total in cells.items():
        link_id, workspace_id = scopes[number]
        start = hours[hour_number]
        day = day_of(start)
        counts[(workspace_id, "h", start, metric, dimension, value)] += total
        counts[(workspace_id, "d", day, metric, dimension, value)] += total
        if link_id is not None:
            counts[(link_id, "h", start, metric, dimension, value)] += total
            counts[(link_id, "d", day, metric, dimension, value)] += total
    for scope, bucket, seen in new_visitors:
        start = hour_of(seen)
        counts[(scope, "h", start, "visitor", "bucket", bucket)] += 1
        counts[(scope, "d", day_of(start), "visitor", "bucket", bucket)] += 1
    for link_id, workspace_id, seen in returns:
        start = hour_of(seen)
        for scope in (link_id, workspace_id):
            counts[(scope, "h", start, "return", "all", "")] += 1
            counts[(scope, "d", day_of(start), "return", "all", "")] += 1
    return counts


def visitor_candidates(
    rows: Iterable[Mapping[str, Any]],
) -> dict[VisitorKey, datetime]:
    """Each human page view's visitor keys (scope × day × bucket), earliest sighting kept.

    Buckets: ``all``, and ``pre``/``post`` release by the view's phase.
    """
    found: dict[VisitorKey, datetime] = {}
    for row in rows:
        visitor = row["visitor_hash"]
        if row["kind"] != "page_view" or row["bot_class"] != "human" or not visitor:
            continue
        ts = row["ts"]
        day = day_of(ts).date()
        bucket = phase_bucket(row["phase"])
        for scope in (row["link_id"], row["workspace_id"]):
            for name in ("all", bucket):
                key = (scope, day, name, visitor)
                if key not in found or ts < found[key]:
                    found[key] = ts
    return found


def day_range(start: datetime, end: datetime) -> list[datetime]:
    """UTC days from ``start``'s day up to ``end``'s (inclusive)."""
    day = day_of(start)
    days = []
    while day <= end:
        days.append(day)
        day += timedelta(days=1)
    return days
