"""``GET /api/v1/releases/{id}/fulfilment`` shows pauses set by any process and why every
pre-save not done yet is not done; ``…/fulfilment/jobs`` lists those jobs a page at a time.

The work is done by an engine on *another* ``Database`` (as another worker process would);
the API reads only what is stored: job rows, the database limiter's rows, Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from launchlink.accounts import service as accounts
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.fulfilment.limiter import DatabaseLimiter, MemoryLimiter, RedisLimiter
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.models.accounts import Role
from tests._services import REDIS_URL, service_missing, tcp_reachable
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.fulfilment.harness import World, drain, fast_settings, make_world


@pytest.fixture
def limiter_choice() -> str:
    return "auto"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, limiter_choice: str) -> Settings:
    extra: dict[str, Any] = {}
    if limiter_choice == "redis":
        if not tcp_reachable("127.0.0.1", 6379):
            service_missing("Redis", "nothing listens on 127.0.0.1:6379")
        extra["redis_url"] = REDIS_URL
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url="https://links.example.test",
        environment="test",
        fulfilment=FulfilmentSettings(limiter=limiter_choice),  # type: ignore[arg-type]
        **extra,
    )


@pytest.fixture
async def worker_db(database_url: str) -> AsyncIterator[Database]:
    """The database as another process sees it: its own engine and connections."""
    database = Database(database_url)
    yield database
    await database.dispose()


async def _world_with_key(database: Database) -> tuple[World, WorkspaceKey]:
    world = await make_world(database)
    world.state.set_clock(datetime.now(UTC))  # the API runs on the real clock
    async with database.transaction() as session:
        issued = await accounts.issue_api_key(
            session, workspace_id=world.workspace_id, name="label", role=Role.viewer
        )
    return world, WorkspaceKey(world.workspace_id, issued.plaintext)


async def test_a_day_long_pause_from_another_worker_and_every_reason_are_shown(
    api: Api, worker_db: Database
) -> None:
    world, label = await _world_with_key(worker_db)
    paused = await world.add_fan("spotify", user="sp-paused")
    flaky = await world.add_fan("deezer", user="dz-flaky")
    later = await world.add_fan(
        "spotify", user="sp-later", due_at=datetime.now(UTC) + timedelta(days=3)
    )
    world.state.set_faults("spotify", burst_429=1, retry_after_mode="huge")
    world.state.set_faults("deezer", error_rate=1.0, error_status=503)
    # Another process's worker, with its limiter in its own memory: only the jobs it put
    # back are stored.
    await drain(
        world.engine(settings=fast_settings(backoff_base_seconds=600), limiter=MemoryLimiter())
    )

    response = await api.get(label, f"/releases/{world.release_id}/fulfilment")

    assert response.status_code == 200, response.text
    body = response.json()
    services = {s["service"]: s for s in body["services"]}
    spotify = services["spotify"]
    assert spotify["paused_until"] is not None
    assert datetime.fromisoformat(spotify["paused_until"]) > datetime.now(UTC) + timedelta(hours=23)
    assert "Retry-After" in spotify["pause_reason"]
    assert (spotify["active"], spotify["parked"]) == (0, 1)
    assert (services["deezer"]["active"], services["deezer"]["parked"]) == (0, 1)
    reasons = {(w["service"], w["reason"]): w for w in body["waiting"]}
    assert reasons["spotify", "service_paused"]["count"] == 1
    assert "429" in reasons["spotify", "service_paused"]["last_error"]
    assert reasons["spotify", "not_yet_due"]["count"] == 1
    assert datetime.fromisoformat(reasons["spotify", "not_yet_due"]["next_at"]) > datetime.now(
        UTC
    ) + timedelta(days=2)
    assert reasons["deezer", "transient"]["count"] == 1
    assert reasons["deezer", "transient"]["last_error"]
    assert (body["active"], body["parked"]) == (0, 2)

    jobs = await api.get(label, f"/releases/{world.release_id}/fulfilment/jobs?limit=1")
    assert jobs.status_code == 200, jobs.text
    first = jobs.json()
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    rest = await api.get(
        label,
        f"/releases/{world.release_id}/fulfilment/jobs?limit=1&cursor={first['next_cursor']}",
    )
    listed = {item["presave_id"]: item for item in first["items"] + rest.json()["items"]}
    assert set(listed) == {str(paused), str(flaky)}  # the not-yet-due one has no job yet
    assert listed[str(paused)]["reason"] == "service_paused"
    assert listed[str(flaky)]["reason"] == "transient"
    assert listed[str(flaky)]["attempts"] == 1
    only = await api.get(
        label, f"/releases/{world.release_id}/fulfilment/jobs?service=deezer&reason=transient"
    )
    assert [item["presave_id"] for item in only.json()["items"]] == [str(flaky)]
    assert str(later) not in jobs.text


@pytest.mark.parametrize("limiter_choice", ["database"])
async def test_a_pause_in_the_shared_database_limiter_is_shown(
    api: Api, worker_db: Database, limiter_choice: str
) -> None:
    world, label = await _world_with_key(worker_db)
    await world.add_fan("deezer", user="dz-waiting", due_at=datetime.now(UTC) + timedelta(days=1))
    await DatabaseLimiter(worker_db).pause("deezer", 3600, "HTTP 429 from deezer; Retry-After 3600")

    body = (await api.get(label, f"/releases/{world.release_id}/fulfilment")).json()

    [deezer] = body["services"]
    assert deezer["pause_reason"] == "HTTP 429 from deezer; Retry-After 3600"
    until = datetime.fromisoformat(deezer["paused_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)


@pytest.mark.parametrize("limiter_choice", ["redis"])
async def test_a_pause_in_redis_is_shown(
    api: Api, worker_db: Database, limiter_choice: str
) -> None:
    world, label = await _world_with_key(worker_db)
    await world.add_fan("tidal", user="td-waiting", due_at=datetime.now(UTC) + timedelta(days=1))
    other = RedisLimiter(REDIS_URL)
    reason = f"HTTP 429 from tidal; test {uuid.uuid4().hex[:6]}"
    try:
        await other.pause("tidal", 600, reason)

        body = (await api.get(label, f"/releases/{world.release_id}/fulfilment")).json()
    finally:
        await other.resume("tidal")
        await other.aclose()

    [tidal] = body["services"]
    assert tidal["pause_reason"] == reason
    assert datetime.fromisoformat(tidal["paused_until"]) > datetime.now(UTC) + timedelta(minutes=9)


async def test_bad_filters_and_other_workspaces_get_clear_errors(
    api: Api, worker_db: Database, stranger: WorkspaceKey
) -> None:
    world, label = await _world_with_key(worker_db)
    await world.add_fan("spotify", user="sp-private", email="private@example.test")
    base = f"/releases/{world.release_id}/fulfilment"

    bogus = await api.get(label, f"{base}/jobs?service=bogus")
    assert bogus.status_code == 422
    assert bogus.json()["error"]["field"] == "service"
    assert "spotify" in bogus.json()["error"]["message"]
    assert (await api.get(label, f"{base}/jobs?reason=sleeping")).status_code == 422
    assert (await api.get(label, f"{base}/jobs?cursor=%%%")).status_code == 400
    for path in (base, f"{base}/jobs", f"/releases/{UUID(int=3)}/fulfilment/jobs"):
        response = await api.get(stranger, path)
        assert response.status_code == 404, path
        assert "sp-private" not in response.text
