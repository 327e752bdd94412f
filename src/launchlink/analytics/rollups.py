"""From enriched event rows to rollup counts (pure; shared by the flusher and replay).

A rollup key is ``(scope_id, period, start, metric, dimension, value)``: the scope is the
event's link and, separately, its workspace; the period an hour (``h``) or a UTC day
(``d``). Only people count in ``view`` and ``click``; robots and prefetches count in
``bot_view``/``bot_click`` per class, never elsewhere. The pre-save funnel's steps come
from forms and sign-ins a robot cannot pass (CSRF, OAuth), so they count as they come.

Events are first counted per *signature* (the few fields a rollup reads): a batch of
thousands of page views has a few hundred distinct signatures, so the expansion into
keys runs per signature, not per event.
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
VIEW_DIMENSIONS = ("source", "channel", "country", "device", "in_app", "phase", "os")
CLICK_DIMENSIONS = ("service", "source", "channel", "country", "device", "in_app", "phase")
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


_Signature = tuple[Any, ...]


def _signature(row: Mapping[str, Any]) -> _Signature:
    return (
        row["link_id"], row["workspace_id"], hour_of(row["ts"]), row["kind"], row["bot_class"],
        row["source"], row["channel"], row["country"], row["device_class"], row["in_app"],
        row["phase"], row["os"], row["service"], row["automatic"], row["reason"],
    )  # fmt: skip


def _values(sig: _Signature) -> dict[str, str]:
    return {
        "source": sig[5] or "",
        "channel": sig[6] or "",
        "country": sig[7] or "",
        "device": sig[8] or "",
        "in_app": sig[9] or "",
        "phase": sig[10] or "",
        "os": sig[11] or "",
        "service": sig[12] or "",
    }


def _metric_cells(sig: _Signature) -> list[tuple[str, str, str]]:
    """(metric, dimension, value) cells one event of this signature counts in."""
    kind, bot_class, service, automatic, reason = sig[3], sig[4], sig[12] or "", sig[13], sig[14]
    human = bot_class == "human"
    if kind in FUNNEL_KINDS:
        cells = [(kind, "all", ""), (kind, "service", service), (kind, "source", sig[5] or "")]
        if kind == "presave_failed":
            cells.append((kind, "reason", f"{service}|{reason or 'unknown'}"))
        return cells
    if kind == "fulfilment_outcome":
        state, _, why = (reason or "unknown").partition(":")
        cells = [(kind, "all", ""), (kind, "outcome", f"{service}|{state}")]
        if state == "done":
            cells.append(("fulfilled", "service", service))
        elif why:
            cells.append((kind, "reason", f"{service}|{why}"))
        return cells
    if kind == "message_sent":
        return [(kind, "all", ""), (kind, "channel", service)]
    if not human:
        metric = "bot_click" if kind == "service_click" else "bot_view"
        return [(metric, "all", ""), (metric, "bot_class", bot_class)] if kind in (
            "page_view", "service_click",
        ) else []  # fmt: skip
    values = _values(sig)
    if kind == "page_view":
        return [("view", "all", "")] + [("view", d, values[d]) for d in VIEW_DIMENSIONS]
    if kind == "service_click":
        cells = [("click", "all", "")] + [("click", d, values[d]) for d in CLICK_DIMENSIONS]
        cells.append(("click", "automatic", "auto" if automatic else "tap"))
        cells.append(("click", "source_service", f"{values['source']}|{service}"))
        return cells
    if kind in MESSAGE_KINDS:
        return [(kind, "all", ""), (kind, "channel", values["channel"])]
    return []


def rollup_counts(
    rows: Iterable[Mapping[str, Any]],
    *,
    new_visitors: Iterable[tuple[UUID, str, datetime]] = (),
    returns: Iterable[tuple[UUID, UUID, datetime]] = (),
) -> Counter[RollupKey]:
    """Counts to add: per event row, per new visitor (scope, bucket, first-seen time),
    per returning pre-saver (link, workspace, first-seen time)."""
    signatures: Counter[_Signature] = Counter(_signature(row) for row in rows)
    counts: Counter[RollupKey] = Counter()
    for sig, number in signatures.items():
        link_id, workspace_id, hour = sig[0], sig[1], sig[2]
        day = day_of(hour)
        scopes = (workspace_id,) if link_id is None else (link_id, workspace_id)
        for metric, dimension, value in _metric_cells(sig):
            for scope in scopes:
                counts[(scope, "h", hour, metric, dimension, value)] += number
                counts[(scope, "d", day, metric, dimension, value)] += number
    for scope, bucket, seen in new_visitors:
        hour = hour_of(seen)
        counts[(scope, "h", hour, "visitor", "bucket", bucket)] += 1
        counts[(scope, "d", day_of(hour), "visitor", "bucket", bucket)] += 1
    for link_id, workspace_id, seen in returns:
        hour = hour_of(seen)
        for scope in (link_id, workspace_id):
            counts[(scope, "h", hour, "return", "all", "")] += 1
            counts[(scope, "d", day_of(hour), "return", "all", "")] += 1
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
