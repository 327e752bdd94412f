"""Workspaces' own service apps as fulfilment reads them (integrations/apps.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from launchlink.db import Database
from launchlink.integrations.apps import WorkspaceApps
from tests.fulfilment.harness import make_world


async def test_jobs_that_miss_the_cache_together_read_the_workspace_apps_once(
    db: Database,
) -> None:
    world = await make_world(db)
    apps = WorkspaceApps.over(world.registry, database=db, cipher=world.cipher, clock=world.clock)
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "service_credential" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        # A claimed batch starting at once, as a worker's lane does when the entry expires.
        sources = await asyncio.gather(*(apps.source(world.workspace_id) for _ in range(20)))
        again = await apps.source(world.workspace_id)
        apps.forget(world.workspace_id)
        after_change = await apps.source(world.workspace_id)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    # One read for the twenty, none while cached, one more after this process's change.
    assert len(reads) == 2
    assert all(source.get("spotify") is world.registry.get("spotify") for source in sources)
    assert not again.is_own("spotify")
    assert not after_change.is_own("spotify")
