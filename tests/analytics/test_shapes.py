"""Request shapes: raw events refer to a shape stored once (migration 0026).

The upgrade moves rows the old wide schema wrote without changing what any reader sees
(replay, exports: the joined row), shares one shape between events of the same raw
fields and version, keeps facts apart, and computes the digest the ingest does: an
event ingested after the upgrade reuses the moved shape.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from launchlink.analytics import service
from launchlink.analytics.ingest import FACT_DIGEST, RAW_FIELDS, shape_digest
from launchlink.analytics.repository import AnalyticsRepository
from launchlink.db import Base, Database
from launchlink.migrate import alembic_config
from tests.links.test_domain_migration import empty_database_url  # noqa: F401  (fixture)

AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
CLAUDE = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)"
_WIDE = (
    "ts", "workspace_id", "link_id", "kind", "service", "phase", "automatic", "reason",
    "bot_class", "bot_reason", "device_class", "os", "browser", "in_app", "country", "source",
    "referrer_host", "channel", "utm_source", "utm_medium", "utm_campaign", "visitor_hash",
    "classifier_version", "user_agent", "referrer", "query", "accept", "sec_purpose",
    "purpose", "method",
)  # fmt: skip


def _wide(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_WIDE)
    row.update(kind="page_view", phase="live", automatic=False, bot_class="human",
               device_class="mobile", os="iOS", browser="Safari", source="instagram",
               referrer_host="instagram.com", channel="ig-story", classifier_version=5,
               user_agent=IPHONE, referrer="https://instagram.com/", query="c=ig-story",
               accept="text/html", method="GET", country="GB")  # fmt: skip
    row.update(values)
    return row


async def test_the_upgrade_moves_wide_rows_onto_shapes_and_the_ingest_reuses_them(
    empty_database_url: str,  # noqa: F811
) -> None:
    config = alembic_config(empty_database_url)
    before = ScriptDirectory.from_config(config).get_revision("0026").down_revision
    assert isinstance(before, str)
    await asyncio.to_thread(command.upgrade, config, before)
    link, workspace = uuid.uuid4(), uuid.uuid4()
    old = [
        _wide(visitor_hash="a" * 32),
        _wide(kind="service_click", service="spotify", visitor_hash="b" * 32, country="US"),
        _wide(
            user_agent=CLAUDE,
            bot_class="ai_agent",
            bot_reason="ClaudeBot",
            os=None,
            browser=None,
            device_class="other",
            classifier_version=4,
        ),
        _wide(
            kind="fulfilment_outcome",
            service="deezer",
            reason="done",
            phase=None,
            device_class="other",
            os=None,
            browser=None,
            source="direct",
            referrer_host=None,
            channel=None,
            country=None,
            user_agent=None,
            referrer=None,
            query=None,
            accept=None,
        ),
    ]
    engine = create_engine(empty_database_url.replace("+aiosqlite", ""))
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        for row in old:
            connection.execute(
                text(
                    f"INSERT INTO analytics_event ({', '.join(_WIDE)}) VALUES "
                    f"({', '.join(':' + name for name in _WIDE)})"
                ),
                {
                    **row,
                    "ts": "2026-12-03 09:30:00.000000" if sqlite else AT,
                    "workspace_id": workspace.hex if sqlite else workspace,
                    "link_id": link.hex if sqlite else link,
                },
            )
    engine.dispose()
    await asyncio.to_thread(command.upgrade, config, "head")

    database = Database(empty_database_url)
    try:
        async with database.transaction() as session:
            moved = await AnalyticsRepository(session).events_after(0, limit=10)
            shapes = [
                tuple(row)
                for row in await session.execute(
                    text("SELECT digest, classifier_version, bot_class FROM analytics_shape")
                )
            ]
        # Every reader's row is what the wide table held, ids kept.
        assert [row["id"] for row in moved] == [1, 2, 3, 4]
        for written, after in zip(old, moved, strict=True):
            assert {name: after[name] for name in _WIDE if name != "ts"} == {
                **{name: written[name] for name in _WIDE if name != "ts"},
                "workspace_id": workspace,
                "link_id": link,
            }
            assert after["ts"] == AT
        iphone = shape_digest(tuple(old[0][name] for name in RAW_FIELDS))
        claude = shape_digest(tuple(old[2][name] for name in RAW_FIELDS))
        # The view and the click share their shape; the older version's agent has its own.
        assert sorted(shapes) == sorted(
            [(iphone, 5, "human"), (claude, 4, "ai_agent"), (FACT_DIGEST, 5, "human")]
        )
        assert moved[0]["shape_id"] == moved[1]["shape_id"]

        # An event ingested now, of the moved shape: no second shape, the next id.
        fresh = {**{name: moved[0][name] for name in moved[0] if name not in ("id", "shape_id")},
                 "visitor_hash": "c" * 32}  # fmt: skip
        assert fresh["shape"] == iphone
        async with database.transaction(write_lock=True) as session:
            await service.store(session, [fresh])
        async with database.transaction() as session:
            rows = await AnalyticsRepository(session).events_after(4, limit=10)
            count = await session.execute(text("SELECT count(*) FROM analytics_shape"))
            assert count.scalar_one() == 3
        assert [(row["id"], row["shape_id"]) for row in rows] == [(5, moved[0]["shape_id"])]
    finally:
        await database.dispose()

    # And back: the wide rows as they were (the event written since included).
    await asyncio.to_thread(command.downgrade, config, before)
    engine = create_engine(empty_database_url.replace("+aiosqlite", ""))
    with engine.connect() as connection:
        back = [
            dict(row._mapping)
            for row in connection.execute(
                text(
                    "SELECT id, kind, bot_class, user_agent, visitor_hash FROM analytics_event "
                    "ORDER BY id"
                )
            )
        ]
    engine.dispose()
    assert [(row["id"], row["bot_class"], row["user_agent"]) for row in back] == [
        (1, "human", IPHONE), (2, "human", IPHONE), (3, "ai_agent", CLAUDE),
        (4, "human", None), (5, "human", IPHONE),
    ]  # fmt: skip


def _shape_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        change
        for change in compare_metadata(context, Base.metadata)
        if "analytics_event" in repr(change) or "analytics_shape" in repr(change)
    ]


async def test_the_event_and_shape_tables_match_their_migration(db: Database) -> None:
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_shape_diff) == []
