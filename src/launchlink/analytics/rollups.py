"""From enriched event rows to rollup counts (pure; shared by the flusher and replay).

A rollup key is ``(scope_id, period, start, metric, dimension, value)``: the scope is the
event's link and, separately, its workspace; the period an hour (``h``) or a UTC day
(``d``). Only people count in ``view`` and ``click``; robots and prefetches count in
``bot_view``/``bot_click`` per class, never elsewhere. The pre-save funnel's steps come
from forms and sign-ins a robot cannot pass (CSRF, OAuth), so they count as they come.

Events are first counted per link × hour × signature (what the cells read but the
country, which is counted apart), new visitors per scope × hour × bucket: a batch of
thousands of events has far fewer of either, so the expansion into cells, the workspace
scope and the daily period runs per signature, not per event.

Every daily count is the sum of its day's hourly counts (both are counted here from the
same events): totals read a ragged end of more than half a day as its day less the
other hours (queries.TimeRange.spans), so a cell must never be counted in one period only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any
from uuid import UUID

from launchlink.analytics.capture import FUNNEL_KINDS

RollupKey = tuple[UUID, str, datetime, str, str, str]
# scope (its UUID's hex: a str hashes in C, a UUID in Python), day, bucket, hash
VisitorKey = tuple[UUID | str, Any, str, str]

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


_COUNTRY_METRIC = {"page_view": "view", "service_click": "click"}


_SIGNATURE_FIELDS = ("kind", "service", "reason", "source", "bot_class", "channel",
                     "device_class", "in_app", "phase", "os", "automatic")  # fmt: skip
# Everything :func:`_cells` reads but the country (counted on its own, see below); an
# itemgetter builds the tuple in one C call.
_signature = itemgetter(*_SIGNATURE_FIELDS)
_ROW_FACTS = itemgetter("link_id", "workspace_id", "ts", "bot_class", "kind", "country")
_VISITOR_FACTS = itemgetter("visitor_hash", "kind", "bot_class", "ts", "phase")


def _cells_of_signature(signature: tuple[Any, ...]) -> list[tuple[str, str, str]]:
    row = dict(zip(_SIGNATURE_FIELDS, signature, strict=True))
    row["country"] = None
    return [cell for cell in _cells(row) if cell[1] != "country"]


def rollup_counts(
    rows: Iterable[Mapping[str, Any]],
    *,
    new_visitors: Iterable[tuple[UUID | str, str, datetime]] = (),
    returns: Iterable[tuple[UUID, UUID, datetime]] = (),
) -> Counter[RollupKey]:
    """Counts to add: per event row, per new visitor (scope, bucket, first-seen time),
    per returning pre-saver (link, workspace, first-seen time)."""
    # Counted per link, hour and signature first (one dict increment per event; a batch
    # of thousands of events has a few hundred signatures: most visits repeat a request
    # shape), the country on its own (with it in the signature nearly every event would
    # be one), then expanded into cells, the workspace scope and the daily period per
    # signature, not per event. Keys use small ints for the ids and the hour (UUIDs and
    # datetimes hash slowly in Python); the ids by identity within this call (equal ids
    # held twice only add a second number, summed in the last step).
    scope_numbers: dict[tuple[int, int], int] = {}
    scopes: list[tuple[Any, UUID]] = []
    hours: dict[int, datetime] = {}
    signatures: dict[tuple[Any, ...], int] = {}
    by_signature: dict[tuple[int, int, int], int] = {}
    countries: dict[tuple[int, int, str, str], int] = {}
    country_metric = _COUNTRY_METRIC
    signature_of, facts = _signature, _ROW_FACTS
    for row in rows:
        link_id, workspace_id, ts, bot_class, kind, country = facts(row)
        pair = (id(link_id), id(workspace_id))
        number = scope_numbers.get(pair)
        if number is None:
            number = scope_numbers[pair] = len(scopes)
            scopes.append((link_id, workspace_id))
        hour_number = int(ts.timestamp()) // 3600
        if hour_number not in hours:
            hours[hour_number] = hour_of(ts)
        signature = signature_of(row)
        signature_number = signatures.get(signature)
        if signature_number is None:
            signature_number = signatures[signature] = len(signatures)
        key = (number, hour_number, signature_number)
        by_signature[key] = by_signature.get(key, 0) + 1
        if bot_class == "human":
            metric = country_metric.get(kind)
            if metric is not None:
                place = (number, hour_number, metric, country or "")
                countries[place] = countries.get(place, 0) + 1
    cells_of = [_cells_of_signature(signature) for signature in signatures]
    cells: dict[tuple[int, int, str, str, str], int] = {}
    for (number, hour_number, signature_number), total in by_signature.items():
        for metric, dimension, value in cells_of[signature_number]:
            cell = (number, hour_number, metric, dimension, value)
            cells[cell] = cells.get(cell, 0) + total
    for (number, hour_number, metric, value), total in countries.items():
        cells[(number, hour_number, metric, "country", value)] = total
    counts: Counter[RollupKey] = Counter()
    days: dict[int, datetime] = {}
    for (number, hour_number, metric, dimension, value), total in cells.items():
        link_id, workspace_id = scopes[number]
        start = hours[hour_number]
        day = days.get(hour_number)
        if day is None:
            day = days[hour_number] = day_of(start)
        counts[(workspace_id, "h", start, metric, dimension, value)] += total
        counts[(workspace_id, "d", day, metric, dimension, value)] += total
        if link_id is not None:
            counts[(link_id, "h", start, metric, dimension, value)] += total
            counts[(link_id, "d", day, metric, dimension, value)] += total
    # New visitors (a batch of first visits has thousands): per scope, hour and bucket
    # first, as above, then into the hourly and daily cells.
    visitors: dict[tuple[UUID | str, int, str], int] = {}
    for scope, bucket, seen in new_visitors:
        hour_number = int(seen.timestamp()) // 3600
        if hour_number not in hours:
            hours[hour_number] = hour_of(seen)
        sighting = (scope, hour_number, bucket)
        visitors[sighting] = visitors.get(sighting, 0) + 1
    for (held, hour_number, bucket), total in visitors.items():
        scope = held if isinstance(held, UUID) else UUID(hex=held)
        start = hours[hour_number]
        day = days.get(hour_number)
        if day is None:
            day = days[hour_number] = day_of(start)
        counts[(scope, "h", start, "visitor", "bucket", bucket)] += total
        counts[(scope, "d", day, "visitor", "bucket", bucket)] += total
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

    Buckets: ``all``, and ``pre``/``post`` release by the view's phase. Scopes are their
    ids' hex (:data:`VisitorKey`).
    """
    found: dict[VisitorKey, datetime] = {}
    days: dict[int, Any] = {}  # the UTC day per day number: a batch spans one or two
    # Each id's hex once, found by the object's identity (``held`` keeps it alive, so
    # the identity is not reused meanwhile).
    texts: dict[int, str] = {}
    held: list[UUID] = []
    facts = _VISITOR_FACTS
    for row in rows:
        visitor, kind, bot_class, ts, phase = facts(row)
        if not visitor or kind != "page_view" or bot_class != "human":
            continue
        number = int(ts.timestamp()) // 86_400
        day = days.get(number)
        if day is None:
            day = days[number] = day_of(ts).date()
        bucket = phase_bucket(phase)
        link_id, workspace_id = row["link_id"], row["workspace_id"]
        link = texts.get(id(link_id))
        if link is None:
            link = texts[id(link_id)] = link_id.hex
            held.append(link_id)
        workspace = texts.get(id(workspace_id))
        if workspace is None:
            workspace = texts[id(workspace_id)] = workspace_id.hex
            held.append(workspace_id)
        for scope in (link, workspace):
            for name in ("all", bucket):
                key = (scope, day, name, visitor)
                seen = found.get(key)
                if seen is None or ts < seen:
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
