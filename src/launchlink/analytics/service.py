"""Analytics rules that need the database: storing batches, salts, retention, replay."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.analytics.enrich import CLASSIFIER_VERSION, Dropped, EventDraft, reclassify
from launchlink.analytics.ingest import LABEL_FIELDS, SHAPE_FIELDS
from launchlink.analytics.repository import AnalyticsRepository, ShapeKey
from launchlink.analytics.rollups import (
    VisitorKey,
    day_of,
    rollup_counts,
    visitor_candidates,
)
from launchlink.analytics.visitors import SALT_LIFETIME, new_salt
from launchlink.events import LinkClicked, emit_many


class SeenVisitors:
    """The visitor sightings this process knows are stored (scope, day, bucket, hash).

    Most page views come from a visitor already seen that day; asking the database about
    each again was the most expensive part of a write. Keys join ``known`` only after
    their transaction committed (:meth:`committed`), so a rolled-back batch is asked about
    again. Stale entries are harmless: a sighting, once stored, stays for its day (replay
    rebuilds it from the raw events it came from; pruning takes days already over).
    """

    MAX_KEYS = 1_000_000

    def __init__(self) -> None:
        self.known: set[VisitorKey] = set()
        self.pending: list[VisitorKey] = []

    def unknown(self, candidates: Mapping[VisitorKey, datetime]) -> dict[VisitorKey, datetime]:
        known = self.known
        fresh = {key: seen for key, seen in candidates.items() if key not in known}
        self.pending.extend(fresh)
        return fresh

    def committed(self) -> None:
        if len(self.known) + len(self.pending) > self.MAX_KEYS:
            self.known.clear()  # rare (a million sightings); cheaper than an LRU
        self.known.update(self.pending)
        self.pending.clear()

    def rolled_back(self) -> None:
        self.pending.clear()


class ShapeIds:
    """The stored request shapes this process knows: (digest, classifier version) → id.

    A repeated user agent then costs a dict lookup, not a query. As with
    :class:`SeenVisitors`, ids join ``known`` only once their transaction committed (a
    rolled-back insert's id does not exist). Shapes are never deleted or renumbered
    (replay points events at a newer shape instead), so a known id stays valid.
    """

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self.known: dict[ShapeKey, int] = {}
        self.pending: dict[ShapeKey, int] = {}

    async def of(
        self, repository: AnalyticsRepository, rows: Sequence[Mapping[str, Any]]
    ) -> Mapping[ShapeKey, int]:
        known = self.known
        keys = {(row["shape"], row["classifier_version"]) for row in rows}
        if keys.issubset(known):
            return known
        wanted: dict[ShapeKey, Mapping[str, Any]] = {}
        for row in rows:
            key = (row["shape"], row["classifier_version"])
            if key not in known and key not in wanted:
                wanted[key] = row
        found = await repository.shape_ids(wanted)
        self.pending.update(found)
        return {**known, **found}

    def committed(self) -> None:
        if len(self.known) + len(self.pending) > self.MAX_KEYS:
            self.known.clear()
        self.known.update(self.pending)
        self.pending.clear()

    def rolled_back(self) -> None:
        self.pending.clear()


async def store(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    returns: Mapping[tuple[UUID, str], tuple[UUID, datetime]] | None = None,
    *,
    seen: SeenVisitors | None = None,
    shapes: ShapeIds | None = None,
) -> None:
    """Write raw rows and add what they count to the rollups, in the caller's transaction.

    With ``seen``, sightings it knows are stored are not asked about again; with
    ``shapes``, neither are the request shapes it knows; the caller tells both whether
    the transaction committed.
    """
    if not rows and not returns:
        return
    repository = AnalyticsRepository(session)
    await repository.lock_rollups()
    if rows:
        shape_ids = await (shapes if shapes is not None else ShapeIds()).of(repository, rows)
        await repository.insert_events(rows, shape_ids)
    candidates = visitor_candidates(rows)
    if seen is not None:
        candidates = seen.unknown(candidates)
    new = await repository.new_visitors(candidates) if candidates else []
    new_visitors = [(key[0], key[2], candidates[key]) for key in new]
    came_back: list[tuple[UUID, UUID, datetime]] = []
    if returns:
        presavers = await repository.presaver_browsers(list(returns))
        wanted = {key: returns[key][1] for key in returns if key in presavers}
        for link_id, browser_hash in await repository.new_returns(wanted):
            workspace_id, first_seen = returns[(link_id, browser_hash)]
            came_back.append((link_id, workspace_id, first_seen))
    await repository.add_rollups(rollup_counts(rows, new_visitors=new_visitors, returns=came_back))
    await emit_many(session, link_clicks(rows))


def link_clicks(rows: Sequence[Mapping[str, Any]]) -> list[LinkClicked]:
    """The batch's human clicks as one ``link.clicked`` per link (counts per service)."""
    per_link: dict[tuple[UUID, UUID], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if (
            row.get("kind") == "service_click"
            and row.get("bot_class") == "human"
            and row.get("link_id") is not None
            and row.get("service")
        ):
            per_link[(row["workspace_id"], row["link_id"])].append(row)
    return [
        LinkClicked(
            occurred_at=max(row["ts"] for row in clicks),
            workspace_id=workspace_id,
            link_id=link_id,
            clicks=dict(Counter(str(row["service"]) for row in clicks)),
            first_at=min(row["ts"] for row in clicks),
            last_at=max(row["ts"] for row in clicks),
        )
        for (workspace_id, link_id), clicks in per_link.items()
    ]


async def ship(
    session: AsyncSession, payloads: Sequence[tuple[bytes, int]], *, now: datetime
) -> None:
    """Queue a web process's anonymised flush, (payload, events) per chunk, for the
    workers (analytics/tasks.py)."""
    await AnalyticsRepository(session).add_to_inbox(payloads, now=now)


async def inbox_waiting(session: AsyncSession) -> int:
    return await AnalyticsRepository(session).inbox_waiting()


async def take_from_inbox(session: AsyncSession, *, limit: int) -> list[tuple[int, bytes]]:
    return await AnalyticsRepository(session).claim_inbox(limit=limit)


async def remove_from_inbox(session: AsyncSession, ids: Sequence[int]) -> None:
    await AnalyticsRepository(session).delete_from_inbox(ids)


def salt_expired(day: date, now: datetime) -> bool:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + SALT_LIFETIME <= now


async def salts_for(session: AsyncSession, days: Sequence[date], now: datetime) -> dict[date, str]:
    """The salts of ``days`` still alive, created (randomly, once) where missing."""
    live = [day for day in days if not salt_expired(day, now)]
    repository = AnalyticsRepository(session)
    found = await repository.salts(live)
    missing = [day for day in live if day not in found]
    for day in missing:
        await repository.create_salt(day, new_salt(), now)
    if missing:
        found = await repository.salts(live)  # another process may have created one first
    return found


async def forget_expired_salts(session: AsyncSession, now: datetime) -> int:
    """Delete every salt 48 h after its day began: its hashes then link to nobody."""
    first_live = (now - SALT_LIFETIME).date() + timedelta(days=1)
    return await AnalyticsRepository(session).delete_salts_before(first_live)


async def prune(session: AsyncSession, now: datetime, retention_days: float) -> int:
    """Delete raw events older than the retention (rollups stay); returns how many."""
    cutoff = now - timedelta(days=retention_days)
    repository = AnalyticsRepository(session)
    deleted = 0
    while True:
        batch = await repository.prune_events_before(cutoff)
        deleted += batch
        if batch == 0:
            break
    await repository.prune_visitors_before((now - timedelta(days=3)).date())
    return deleted


_SHAPE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_SHAPE_ID = UUID(int=0)


def _draft(shape: Mapping[str, Any]) -> EventDraft:
    """A stored shape as the classifier reads it (the labels depend on nothing else)."""
    return EventDraft(
        ts=_SHAPE_TIME,
        link_id=_SHAPE_ID,
        workspace_id=_SHAPE_ID,
        kind="page_view",
        user_agent=shape["user_agent"],
        referrer=shape["referrer"],
        query=shape["query"],
        accept=shape["accept"],
        sec_purpose=shape["sec_purpose"],
        purpose=shape["purpose"],
        method=shape["method"],
    )


async def _reclassify_shapes(repository: AnalyticsRepository, start: datetime) -> int:
    """Today's labels for every shape an event since ``start`` uses; returns the events
    whose labels changed.

    A shape of an older classifier version is not changed: the events since ``start``
    are pointed at the shape's current-version row (made if missing), so events before
    ``start`` keep the labels their kept rollups were counted with. A current-version
    shape whose labels differ is relabelled in place (the rules changed without a version
    bump, which tests/analytics forbids).
    """
    shapes = await repository.shapes_of_events_since(start)
    current = {s["digest"]: s for s in shapes if s["classifier_version"] == CLASSIFIER_VERSION}
    changed = 0
    for shape in shapes:
        result = reclassify(_draft(shape))
        if isinstance(result, Dropped):
            continue  # a shape no event could have been stored with; left as it is
        fresh = {name: getattr(result, name) for name in LABEL_FIELDS}
        differs = any(shape[name] != value for name, value in fresh.items())
        if shape["classifier_version"] == CLASSIFIER_VERSION:
            if differs:
                await repository.relabel_shape(shape["id"], fresh)
                changed += await repository.count_events_of_shape(shape["id"], start)
            continue
        target = current.get(shape["digest"])
        if target is None:
            row = {**{name: shape[name] for name in SHAPE_FIELDS}, **fresh,
                   "classifier_version": CLASSIFIER_VERSION}  # fmt: skip
            key = (shape["digest"], CLASSIFIER_VERSION)
            ids = await repository.shape_ids({key: row})
            target = current[shape["digest"]] = {**row, "id": ids[key]}
        moved = await repository.repoint_events(shape["id"], target["id"], start)
        if differs:
            changed += moved
    return changed


async def replay(session: AsyncSession, *, since: datetime | None = None) -> dict[str, int]:
    """Re-run today's classifier over the stored raw events and rebuild the rollups.

    Rollups from the first stored day (or ``since``'s day) on are dropped and rebuilt
    from the raw events, so a better rule fixes history; days whose raw events retention
    already deleted keep their rollups as they were. Returns counts (events, changed).
    """
    repository = AnalyticsRepository(session)
    await repository.lock_rollups(exclusive=True)
    oldest = await repository.oldest_event()
    if oldest is None:
        return {"events": 0, "changed": 0}
    start = day_of(max(oldest, since) if since is not None else oldest)
    start_events = max(start, oldest)
    await repository.clear_rollups_from(start, start.date())
    # Returns are not in the raw events (no browser id is kept there): re-add them as stored.
    await repository.add_rollups(rollup_counts((), returns=await repository.returns_since(start)))
    changed = await _reclassify_shapes(repository, start_events)
    after = 0
    events = 0
    while True:
        rows = await repository.events_after(after, limit=5000, start=start_events)
        if not rows:
            break
        after = rows[-1]["id"]
        events += len(rows)
        candidates = visitor_candidates(rows)
        new = await repository.new_visitors(candidates) if candidates else []
        new_visitors = [(key[0], key[2], candidates[key]) for key in new]
        await repository.add_rollups(rollup_counts(rows, new_visitors=new_visitors))
    return {"events": events, "changed": changed}
