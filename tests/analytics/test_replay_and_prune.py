"""Replay after a rule change fixes stored events and rollups; retention prunes raw events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from launchlink.analytics import service
from launchlink.analytics.enrich import CLASSIFIER_VERSION
from launchlink.analytics.ingest import BatchSalts
from launchlink.db import Database
from launchlink.models.analytics import AnalyticsEvent, AnalyticsShape, AnalyticsVisitor
from tests.analytics._capture_support import Captured, captured, totals
from tests.links.test_public_support import ANDROID, IPHONE, make_snapshot

CLAUDE = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
    "+claudebot@anthropic.com)"
)


async def _store_as_an_old_rule_would_have(setup: Captured, *, human_agents: set[str]) -> None:
    """Flush the buffer, but with rows for ``human_agents`` classified as people (the
    mistake an older classifier made), rollups included."""
    now = setup.harness.clock.now()
    batch = setup.capture.take()
    async with setup.flusher.database.transaction() as session:
        salts = await service.salts_for(session, sorted(setup.flusher.ingest.days_of(batch)), now)
    result = setup.flusher.ingest.run(batch, BatchSalts(salts, now))
    for row in result.rows:
        if row["user_agent"] in human_agents:
            row.update(bot_class="human", bot_reason=None, classifier_version=1)
    async with setup.flusher.database.transaction() as session:
        await service.store(session, result.rows, result.returns)


async def _classes(db: Database) -> dict[tuple[str | None, str], int]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(AnalyticsShape.user_agent, AnalyticsShape.bot_class, func.count())
            .join(AnalyticsEvent, AnalyticsEvent.shape_id == AnalyticsShape.id)
            .group_by(AnalyticsShape.user_agent, AnalyticsShape.bot_class)
        )  # fmt: skip
        return {(str(r[0])[:20], str(r[1])): int(r[2]) for r in rows}


async def test_replaying_after_a_rule_change_fixes_stored_events_and_their_rollups(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    async with setup.browser(ip="203.0.113.7", user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
        await fan.get("/night-drive/spotify")
    async with setup.browser(ip="198.51.100.23", user_agent=CLAUDE) as agent:
        await agent.get("/night-drive")
        await agent.get("/night-drive")
    await _store_as_an_old_rule_would_have(setup, human_agents={CLAUDE})
    before = await totals(db, snapshot.link_id)
    assert before["view"]["all"] == {"": 3}  # the agent counted as a person
    assert before["visitor"]["bucket"]["all"] == 2

    async with db.transaction() as session:
        counts = await service.replay(session)

    assert counts == {"events": 4, "changed": 2}
    assert await _classes(db) == {
        (IPHONE[:20], "human"): 2,
        (CLAUDE[:20], "ai_agent"): 2,
    }
    async with db.transaction() as session:
        versions = set(
            (
                await session.execute(
                    select(AnalyticsShape.classifier_version).join(
                        AnalyticsEvent, AnalyticsEvent.shape_id == AnalyticsShape.id
                    )
                )
            ).scalars()
        )
    assert versions == {CLASSIFIER_VERSION}
    for scope in (snapshot.link_id, snapshot.workspace_id):
        after = await totals(db, scope)
        assert after["view"]["all"] == {"": 1}
        assert after["view"]["device"] == {"mobile": 1}
        assert after["bot_view"]["bot_class"] == {"ai_agent": 2}
        assert after["visitor"]["bucket"]["all"] == 1
        assert after["click"]["service"] == {"spotify": 1}
    # A second replay changes nothing and counts the same.
    async with db.transaction() as session:
        assert await service.replay(session) == {"events": 4, "changed": 0}
    assert await totals(db, snapshot.link_id) == after


async def test_pruning_deletes_raw_events_past_retention_and_keeps_the_rollups(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    async with setup.browser(ip="203.0.113.7", user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
        await fan.get("/night-drive/spotify")
    await setup.flusher.flush()
    setup.harness.clock.advance(timedelta(days=10))
    async with setup.browser(ip="203.0.113.7", user_agent=ANDROID) as fan:
        await fan.get("/night-drive")
    await setup.flusher.flush()
    kept_rollups = await totals(db, snapshot.link_id)
    now = setup.harness.clock.now()

    async with db.transaction() as session:
        deleted = await service.prune(session, now, retention_days=7)

    assert deleted == 2
    async with db.transaction() as session:
        left = list(
            (
                await session.execute(
                    select(AnalyticsShape.user_agent).join(
                        AnalyticsEvent, AnalyticsEvent.shape_id == AnalyticsShape.id
                    )
                )
            ).scalars()
        )
        sighting_days = set((await session.execute(select(AnalyticsVisitor.day))).scalars())
    assert left == [ANDROID]
    assert sighting_days == {now.date()}  # sightings older than 3 days are no use to dedupe
    assert await totals(db, snapshot.link_id) == kept_rollups
    assert kept_rollups["view"]["all"] == {"": 2}
    async with db.transaction() as session:
        assert await service.prune(session, now, retention_days=7) == 0
