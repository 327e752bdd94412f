"""The scaled form, as processes: `launchlink web` twice on PostgreSQL + Redis.

A link changed through one web process is served changed by the other within a second
(page caches are per process; the change log, woken by NOTIFY, invalidates them).
tests/ops/test_scaled_release_day.py runs two web processes and two workers at once and
SIGKILLs workers mid-fulfilment and mid-outbox; tests/fulfilment/test_chaos.py (4 worker
processes) and tests/outbox/test_sigkill.py push each of those harder.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from launchlink.db import Database
from tests._server import running_web
from tests._services import REDIS_URL, service_missing, tcp_reachable
from tests.api.conftest import artist_body, release_body
from tests.builders import create_workspace_with_key
from tests.conftest import DatabaseBackend

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

FIRST = "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"
SECOND = "https://open.spotify.com/album/1DFixLWuPkv3KT3TnV35m3"
# A fan's phone, not a crawler: crawlers get the page, fans the redirect.
FAN = {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
}


def _redis_db9() -> str:
    return REDIS_URL.rsplit("/", 1)[0] + "/9"


async def test_a_link_changed_through_one_web_process_is_served_by_the_other_within_a_second(
    postgres_backend: DatabaseBackend, tmp_path: Path
) -> None:
    if not tcp_reachable("127.0.0.1", 6379):
        service_missing("Redis", "nothing listens on 127.0.0.1:6379")
    url = postgres_backend.fresh_url(tmp_path)
    database = Database(url)
    try:
        owner = await create_workspace_with_key(database, name="Scale Records")
    finally:
        await database.dispose()
    env = {
        "LAUNCHLINK_DATABASE_URL": url,
        "LAUNCHLINK_REDIS_URL": _redis_db9(),
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_ENCRYPTION_KEYS": "Ye3m2RkPlm6wS1GlwK7xHnYc7p1m1GJX5w0Kx2o0m0A=",
        "LAUNCHLINK_SECRET_KEY": "scale-out-test-secret-key-scale-out-test",
        "LAUNCHLINK_DATABASE_POOL_SIZE": "2",
        "LAUNCHLINK_DATABASE_POOL_OVERFLOW": "2",
    }
    with running_web(env) as one, running_web(env) as other:
        async with (
            httpx.AsyncClient(base_url=one.base_url, headers=owner.headers, timeout=10) as a,
            httpx.AsyncClient(base_url=other.base_url, headers=FAN, timeout=10) as b,
        ):
            artist = (await a.post("/api/v1/artists", json=artist_body())).json()
            release = await a.post("/api/v1/releases", json=release_body([artist["id"]]))
            assert release.status_code == 201, release.text
            link = await a.post(
                "/api/v1/links",
                json={
                    "release_id": release.json()["id"],
                    "slug": "scaled",
                    "destinations": [{"service": "spotify", "url": FIRST}],
                },
            )
            assert link.status_code == 201, link.text
            before = await _location(b)
            assert before == FIRST  # and now the other process has it cached

            changed = await a.patch(
                f"/api/v1/links/{link.json()['id']}/destinations/spotify", json={"url": SECOND}
            )
            assert changed.status_code == 200, changed.text
            committed = time.monotonic()
            seen = before
            while seen != SECOND and time.monotonic() - committed < 5:
                await asyncio.sleep(0.02)
                seen = await _location(b)
            took = time.monotonic() - committed
            ready = await b.get("/readyz")
    assert seen == SECOND
    assert took < 1.0, f"the other process served the old link for {took:.2f} s"
    assert ready.status_code == 200, ready.text
    assert "redis:responseTime" in ready.json()["checks"]


async def _location(client: httpx.AsyncClient) -> str:
    response = await client.get("/scaled/spotify")
    assert response.status_code == 302, response.text
    return response.headers["location"]
