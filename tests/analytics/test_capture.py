"""Capture → flusher → raw events and rollups, on both databases, from real requests."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from launchlink.analytics.repository import AnalyticsRepository
from launchlink.analytics.tasks import AnalyticsFlusher
from launchlink.db import Base, Database
from launchlink.models.analytics import AnalyticsEvent, AnalyticsSalt
from launchlink.models.outbox import OutboxEvent
from tests.analytics._capture_support import captured, totals, write_everything
from tests.links.test_public_support import (
    ANDROID,
    DESKTOP,
    IPHONE,
    PREVIEW_BOTS,
    make_snapshot,
)

GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
IPS = ("203.0.113.7", "198.51.100.23", "2001:db8::17")


async def _event_count(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count(AnalyticsEvent.id)))).scalar_one())


@pytest.mark.parametrize("ship", [False, True], ids=["embedded", "shipped-to-a-worker"])
async def test_people_count_robots_are_labelled_and_clicks_count_per_service(
    db: Database, ship: bool
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot, ship=ship)
    async with setup.browser(ip=IPS[0], user_agent=IPHONE, cf_ipcountry="GB") as fan:
        assert (await fan.get("/night-drive?c=ig-story")).status_code == 200
        # The page's own URL as referrer: the click inherits its channel code.
        page = "https://links.test/night-drive?c=ig-story"
        assert (await fan.get("/night-drive/spotify", headers={"referer": page})).status_code == 302
    async with setup.browser(ip=IPS[1], user_agent=ANDROID, referer="https://t.co/x") as fan:
        await fan.get("/night-drive")
        await fan.get("/night-drive/deezer")
    async with setup.browser(ip=IPS[2], user_agent=PREVIEW_BOTS["facebook"]) as preview:
        await preview.get("/night-drive")
        await preview.get("/night-drive/spotify")  # a robot gets the card, no redirect
    async with setup.browser(ip=IPS[2], user_agent=GPTBOT) as agent:
        await agent.get("/night-drive")
    async with setup.browser(ip=IPS[1], user_agent=DESKTOP, sec_purpose="prefetch") as prefetch:
        await prefetch.get("/night-drive")
    async with setup.browser(ip=IPS[1], user_agent=DESKTOP) as head:
        await head.head("/night-drive")
    assert len(setup.capture) == 9  # the requests only appended
    assert await _event_count(db) == 0

    assert await write_everything(setup) == 9

    link = await totals(db, snapshot.link_id)
    assert link["view"]["all"] == {"": 2}
    assert link["view"]["source"] == {"instagram": 1, "x": 1}
    assert link["view"]["channel"] == {"ig-story": 1, "": 1}
    assert link["view"]["country"] == {"GB": 1, "": 1}
    assert link["view"]["device"] == {"mobile": 2}
    assert link["click"]["service"] == {"spotify": 1, "deezer": 1}
    assert link["click"]["source_service"] == {"instagram|spotify": 1, "x|deezer": 1}
    assert link["click"]["channel"] == {"ig-story": 1, "": 1}
    assert link["bot_view"]["bot_class"] == {"preview": 2, "ai_agent": 1, "prefetch": 2}
    assert link["visitor"]["bucket"] == {"all": 2, "post": 2}
    workspace = await totals(db, snapshot.workspace_id)
    assert workspace["view"] == link["view"]
    assert workspace["click"] == link["click"]


@pytest.mark.parametrize("ship", [False, True], ids=["embedded", "shipped-to-a-worker"])
async def test_no_ip_address_is_stored_anywhere(db: Database, ship: bool) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot, ship=ship)
    for ip in IPS:
        async with setup.browser(ip=ip, user_agent=IPHONE, x_forwarded_for=ip) as fan:
            await fan.get("/night-drive")
            await fan.get("/night-drive/spotify")
    await write_everything(setup)
    assert await _event_count(db) == 2 * len(IPS)
    stored = await _everything_stored(db)
    for ip in IPS:
        assert ip.encode() not in stored
    assert b"Mozilla/5.0 (iPhone" in stored  # the search would have found text


async def _everything_stored(db: Database) -> bytes:
    if db.dialect == "sqlite":
        path = Path(db.engine.url.database or "")
        await db.dispose()  # checkpoints the WAL into the file
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    chunks = []
    with psycopg.connect(url) as connection:
        for table in Base.metadata.sorted_tables:
            for (row,) in connection.execute(f'SELECT row_to_json(t)::text FROM "{table.name}" t'):
                chunks.append(row.encode())
    return b"\n".join(chunks)


async def test_a_visitor_counts_once_a_day_and_again_the_next_day(db: Database) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    for _ in range(3):
        async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
            await fan.get("/night-drive")
    async with setup.browser(ip=IPS[0], user_agent=ANDROID) as other_browser:
        await other_browser.get("/night-drive")
    await setup.flusher.flush()
    setup.harness.clock.advance(timedelta(days=1))
    async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
    await setup.flusher.flush()
    link = await totals(db, snapshot.link_id)
    assert link["view"]["all"] == {"": 5}
    assert link["visitor"]["bucket"]["all"] == 3


async def test_one_flush_spanning_midnight_hashes_each_visit_with_its_own_days_salt(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
        setup.harness.clock.advance(timedelta(days=1))
        await fan.get("/night-drive")
    assert await setup.flusher.flush() == 2  # one batch, two UTC days
    async with db.transaction() as session:
        salts = list((await session.execute(select(AnalyticsSalt.salt))).scalars())
    assert len(set(salts)) == 2
    link = await totals(db, snapshot.link_id)
    assert link["visitor"]["bucket"]["all"] == 2  # the same fan, once on each day


async def test_each_days_salt_is_random_and_deleted_48_hours_after_the_day_began(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
        await setup.flusher.flush()
        setup.harness.clock.advance(timedelta(days=1))
        await fan.get("/night-drive")
        await setup.flusher.flush()
    async with db.transaction() as session:
        salts = list((await session.execute(select(AnalyticsSalt.salt))).scalars())
    assert len(set(salts)) == 2
    setup.harness.clock.advance(timedelta(days=1))
    await setup.flusher._housekeeping()
    async with db.transaction() as session:
        days = await AnalyticsRepository(session).salt_days()
    assert days == [(setup.harness.clock.now() - timedelta(days=1)).date()]


async def test_the_flusher_writes_within_a_second_and_drains_on_shutdown(db: Database) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    await setup.flusher.start()
    try:
        async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
            await fan.get("/night-drive")
        for _ in range(40):
            if await _event_count(db) == 1:
                break
            await asyncio.sleep(0.05)
        assert await _event_count(db) == 1
        async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
            for _ in range(5):
                await fan.get("/night-drive/spotify")
    finally:
        await setup.flusher.stop()
    assert await _event_count(db) == 6


async def test_a_failed_write_keeps_the_batch_for_the_next_flush(db: Database) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
    broken = AnalyticsFlusher(
        setup.capture, Database("sqlite+aiosqlite:////nonexistent/dir/x.db"),
        setup.harness.clock, setup.flusher.ingest,
    )  # fmt: skip
    with pytest.raises(OperationalError, match="unable to open"):
        await broken.flush()
    assert len(setup.capture) == 1
    assert await setup.flusher.flush() == 1


async def test_stored_clicks_become_one_link_clicked_event_per_link_and_batch(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot)
    async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
        await fan.get("/night-drive/spotify")
        await fan.get("/night-drive/spotify")
    async with setup.browser(ip=IPS[1], user_agent=ANDROID) as fan:
        await fan.get("/night-drive/deezer")
    async with setup.browser(ip=IPS[2], user_agent=PREVIEW_BOTS["facebook"]) as preview:
        await preview.get("/night-drive/spotify")  # a robot's click is not a person's
    await write_everything(setup)

    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    OutboxEvent.aggregate_id, OutboxEvent.workspace_id, OutboxEvent.payload
                ).where(OutboxEvent.type == "link.clicked")
            )
        ).all()
    assert len(rows) == 1
    [(aggregate_id, workspace_id, payload)] = rows
    assert aggregate_id == str(snapshot.link_id)
    assert workspace_id == snapshot.workspace_id
    assert payload["clicks"] == {"spotify": 2, "deezer": 1}
    assert payload["first_at"] <= payload["last_at"]
