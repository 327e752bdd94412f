"""A real server process: SIGKILL loses at most the last flush interval of events (plus
the batch being written, docs/analytics.md); SIGTERM drains the buffer before exiting."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from launchlink.analytics.settings import AnalyticsSettings
from launchlink.db import Database
from launchlink.models.analytics import AnalyticsEvent
from tests._server import RunningServer, running_server
from tests.analytics.test_simulate_traffic import _create_link, _workspace

pytestmark = pytest.mark.slow

FLUSH_SECONDS = AnalyticsSettings().flush_seconds
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


async def _stored(database_url: str) -> int:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            return int((await session.execute(select(func.count(AnalyticsEvent.id)))).scalar_one())
    finally:
        await database.dispose()


def _visit(server: RunningServer, times: int) -> None:
    with httpx.Client(base_url=server.base_url, headers={"user-agent": PHONE}) as fan:
        for _ in range(times):
            assert fan.get("/known-mix", timeout=10).status_code == 200


def _server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"LAUNCHLINK_DATABASE_URL": database_url, "LAUNCHLINK_VAR_DIR": str(tmp_path / "var")}


def test_a_killed_server_loses_at_most_the_events_of_its_last_flush_interval(
    database_url: str, tmp_path: Path
) -> None:
    key = asyncio.run(_workspace(database_url))
    with running_server(_server_env(database_url, tmp_path)) as server:
        with httpx.Client(base_url=server.base_url, headers=key.headers, timeout=10) as api:
            _create_link(api, datetime.now(UTC) - timedelta(hours=1))
        _visit(server, 30)
        # Older than one flush interval (plus a generous write time on a loaded machine):
        # these must survive the kill.
        time.sleep(FLUSH_SECONDS + 2.0)
        _visit(server, 30)  # the last moment's events: the ones a kill may lose
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    stored = asyncio.run(_stored(database_url))
    assert 30 <= stored <= 60


def test_a_terminated_server_writes_every_buffered_event_before_it_exits(
    database_url: str, tmp_path: Path
) -> None:
    key = asyncio.run(_workspace(database_url))
    with running_server(_server_env(database_url, tmp_path)) as server:
        with httpx.Client(base_url=server.base_url, headers=key.headers, timeout=10) as api:
            _create_link(api, datetime.now(UTC) - timedelta(hours=1))
        _visit(server, 25)
        server.process.send_signal(signal.SIGTERM)  # at once: the events are still buffered
        # uvicorn re-raises the signal once its shutdown (lifespan included) is done.
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert asyncio.run(_stored(database_url)) == 25
