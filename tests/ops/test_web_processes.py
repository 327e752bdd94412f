"""`launchlink web --workers 2`: /metrics adds up every worker process's counters."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from launchlink.analytics import service as analytics_service
from launchlink.db import Database
from launchlink.migrate import upgrade_to_head
from tests._server import running_web
from tests.analytics.test_crash_and_shutdown import PHONE
from tests.analytics.test_simulate_traffic import _create_link, _workspace

pytestmark = pytest.mark.slow


def _count(text_format: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text_format.splitlines()
        if line.startswith(prefix)
    )


def test_metrics_of_two_web_processes_are_summed_whichever_answers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}"
    upgrade_to_head(url)
    env = {"LAUNCHLINK_DATABASE_URL": url, "LAUNCHLINK_VAR_DIR": str(tmp_path / "var")}
    requests = 60
    with running_web(env, workers=2) as server:
        # A new connection per request, so the kernel spreads them over both processes.
        for _ in range(requests):
            response = httpx.get(f"{server.base_url}/healthz", timeout=10)
            assert response.status_code == 200
        scrapes = [httpx.get(f"{server.base_url}/metrics", timeout=10).text for _ in range(4)]
    healthz = 'launchlink_http_requests_total{route="ops",status="200"}'
    # Every scrape sees at least all the /healthz requests, whichever process answers it.
    assert all(_count(text_format, healthz) >= requests for text_format in scrapes), scrapes[0]
    assert "launchlink_fulfilment_open_jobs" in scrapes[0]


def test_outside_tests_the_web_process_freezes_its_start_up_objects_serves_and_drains(
    tmp_path: Path,
) -> None:
    """``Application.startup`` ends with ``gc.collect(); gc.freeze()`` except in tests
    (which start many apps in one process). With it, a production web process still
    serves fans and, on SIGTERM, ships every captured event before it exits."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'frozen.sqlite3'}"
    upgrade_to_head(url)
    key = asyncio.run(_workspace(url))
    env = {
        "LAUNCHLINK_DATABASE_URL": url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_ENVIRONMENT": "production",
    }
    visits = 20
    with running_web(env, workers=1) as server:
        with httpx.Client(base_url=server.base_url, headers=key.headers, timeout=10) as api:
            _create_link(api, datetime.now(UTC) - timedelta(hours=1))
        with httpx.Client(base_url=server.base_url, headers={"user-agent": PHONE}) as fan:
            for _ in range(visits):
                assert fan.get("/known-mix", timeout=10).status_code == 200
            scrape = fan.get("/metrics", timeout=10).text
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    frozen = _count(scrape, "launchlink_gc_frozen_objects ")
    assert frozen > 10_000, scrape  # routes, templates, classifier tables, geo-IP database
    # The web process has no embedded worker: its drained buffer waits in the inbox.
    assert asyncio.run(_inbox_events(url)) == visits


async def _inbox_events(url: str) -> int:
    database = Database(url)
    try:
        async with database.transaction() as session:
            return await analytics_service.inbox_waiting(session)
    finally:
        await database.dispose()


def test_tests_do_not_freeze(tmp_path: Path) -> None:
    """The other half of the rule: an app started in a test leaves the collector alone."""
    import gc

    from launchlink.app import create_app
    from launchlink.config import Settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    upgrade_to_head(url)
    settings = Settings(database_url=url, var_dir=tmp_path / "var", environment="test")
    before = gc.get_freeze_count()

    async def cycle() -> None:
        app = create_app(settings)
        await app.startup()
        await app.shutdown()

    asyncio.run(cycle())
    assert gc.get_freeze_count() == before
