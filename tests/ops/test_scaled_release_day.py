"""The scaled form on release day, as processes: two ``launchlink web`` and two workers on
PostgreSQL + Redis at once, against the platform simulator in its own process.

While the workers fulfil 1,200 Spotify pre-saves, a link changed through one web process is
served changed by the other within a second; one worker is SIGKILLed mid-fulfilment and the
other mid-outbox (deliveries still pending), and both are restarted. Afterwards every save
is in the simulator's ledger exactly once, every pre-save is done, and every outcome event
reached analytics exactly once with no delivery left pending or parked.

Spotify only: an interrupted Spotify save is checked before it is written again, so "once"
is exact (Apple and Deezer offer no check; tests/fulfilment/test_chaos.py bounds their
repeats).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from cryptography.fernet import Fernet

from launchlink.db import Database
from tests._postgres import connect, scalar
from tests._server import free_port, running_web
from tests._services import REDIS_URL, service_missing, tcp_reachable
from tests.api.conftest import artist_body, release_body
from tests.builders import create_workspace_with_key
from tests.conftest import DatabaseBackend
from tests.fulfilment.release_day import seed, wait_for_port, write_apple_keys
from tests.ops.test_scale_out import FAN, FIRST, SECOND

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FANS = 1200
DEADLINE_SECONDS = 240


def _done(database_url: str) -> int:
    return scalar(database_url, "SELECT count(*) FROM presave WHERE state = 'done'")


def _outbox_backlog(database_url: str) -> int:
    """Events not yet turned into deliveries plus deliveries not handled yet."""
    return scalar(
        database_url,
        "SELECT (SELECT count(*) FROM outbox_event WHERE fanned_out_at IS NULL)"
        " + (SELECT count(*) FROM outbox_delivery WHERE state <> 'handled')",
    )


async def test_two_web_processes_and_two_killed_workers_lose_and_double_nothing(
    postgres_backend: DatabaseBackend, tmp_path: Path
) -> None:
    if not tcp_reachable("127.0.0.1", 6379):
        service_missing("Redis", f"cannot connect to {REDIS_URL}")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    database_url = postgres_backend.fresh_url(tmp_path)
    private_key, public_key = write_apple_keys(tmp_path)
    port = free_port()
    spec = {
        "fans": {"spotify": FANS},
        "tokens_file": str(tmp_path / "tokens.json"),
        "apple_public_key_file": str(public_key),
        "rate_limits": {"spotify": {"limit": 1500, "window": 5}},
        "latency_ms": 10,
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    key = Fernet.generate_key().decode()
    shared = {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_REDIS_URL": REDIS_URL,
        "LAUNCHLINK_ENCRYPTION_KEYS": key,
        "LAUNCHLINK_SECRET_KEY": "scaled-release-day-secret-key-scaled-release-day",
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_DATABASE_POOL_SIZE": "3",
        "LAUNCHLINK_DATABASE_POOL_OVERFLOW": "3",
    }
    worker_env = (
        env
        | shared
        | {
            "LAUNCHLINK_FULFILMENT__LEASE_SECONDS": "6",
            "LAUNCHLINK_FULFILMENT__CONCURRENCY": "32",
            "LAUNCHLINK_FULFILMENT__SCHEDULER_SECONDS": "1",
            "LAUNCHLINK_FULFILMENT__IDLE_POLL_SECONDS": "0.2",
            "LAUNCHLINK_FULFILMENT__RATE_LIMITS": json.dumps({"spotify": 200}),
            # A killed dispatcher's leases come back within seconds, not a minute.
            "LAUNCHLINK_OUTBOX__LEASE_SECONDS": "5",
            "LAUNCHLINK_OUTBOX__BATCH": "20",
            "RELEASE_DAY_SIMULATOR": f"http://127.0.0.1:{port}",
            "RELEASE_DAY_APPLE_KEY": str(private_key),
        }
    )
    simulator = subprocess.Popen(
        [
            sys.executable,
            *("-m", "tests.fulfilment.release_day", "simulator"),
            *("--port", str(port), "--spec", str(tmp_path / "spec.json")),
        ],
        env=env,
        cwd=ROOT,
    )
    workers: list[subprocess.Popen[bytes]] = []
    logs: list[BinaryIO] = []
    control = httpx.Client(base_url=f"http://127.0.0.1:{port}/_control", timeout=30)

    def start_worker() -> subprocess.Popen[bytes]:
        # `launchlink worker`'s run_worker, with the simulator's connectors.
        logs.append((tmp_path / f"worker-{len(logs)}.log").open("wb"))
        return subprocess.Popen(
            [sys.executable, "-m", "tests.fulfilment.release_day", "worker"],
            env=worker_env,
            cwd=ROOT,
            stderr=logs[-1],
        )

    try:
        wait_for_port(port)
        total = await seed(database_url, spec["tokens_file"], key)
        assert total == FANS
        database = Database(database_url)
        try:
            owner = await create_workspace_with_key(database, name="Scaled Day Records")
        finally:
            await database.dispose()
        with running_web(shared) as one, running_web(shared) as other:
            workers = [start_worker(), start_worker()]
            started = time.monotonic()
            while _done(database_url) == 0 and time.monotonic() - started < DEADLINE_SECONDS:
                await asyncio.sleep(0.1)  # the change lands while the workers fulfil
            async with (
                httpx.AsyncClient(base_url=one.base_url, headers=owner.headers, timeout=10) as a,
                httpx.AsyncClient(base_url=other.base_url, headers=FAN, timeout=10) as b,
            ):
                took = await _change_link_through_one_and_read_the_other(a, b)
            killed_mid_fulfilment = killed_mid_outbox = False
            done_at_kill = backlog_at_kill = 0
            while time.monotonic() - started < DEADLINE_SECONDS:
                await asyncio.sleep(0.2)
                done = _done(database_url)
                if not killed_mid_fulfilment and done >= FANS // 5:
                    workers[0].send_signal(signal.SIGKILL)
                    workers[0].wait()
                    workers[0] = start_worker()
                    killed_mid_fulfilment, done_at_kill = True, done
                    continue
                if killed_mid_fulfilment and not killed_mid_outbox:
                    backlog = _outbox_backlog(database_url)
                    if backlog > 0 and done >= FANS // 2:
                        workers[1].send_signal(signal.SIGKILL)
                        workers[1].wait()
                        workers[1] = start_worker()
                        killed_mid_outbox, backlog_at_kill = True, backlog
                if killed_mid_outbox and done == FANS and _outbox_backlog(database_url) == 0:
                    break
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=30)

        with connect(database_url) as connection:
            states = dict(
                connection.execute("SELECT state, count(*) FROM presave GROUP BY state").fetchall()
            )
            deliveries = dict(
                connection.execute(
                    "SELECT state, count(*) FROM outbox_delivery GROUP BY state"
                ).fetchall()
            )
            outcomes = connection.execute(
                "SELECT count(*), count(DISTINCT reason) FROM analytics_event"
                " WHERE kind = 'fulfilment_outcome'"
            ).fetchone()
        ledger = control.get("/ledger").json()["entries"]
    finally:
        control.close()
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        simulator.terminate()
        simulator.wait(timeout=10)
        for log in logs:
            log.close()

    print(
        f"\nscaled release day: {FANS} pre-saves, link seen changed after {took:.2f} s, "
        f"killed mid-fulfilment at {done_at_kill} done and mid-outbox with {backlog_at_kill} "
        f"deliveries open; states {states}; deliveries {deliveries}; outcomes {outcomes}"
    )
    assert took < 1.0, f"the other web process served the old link for {took:.2f} s"
    assert killed_mid_fulfilment
    assert killed_mid_outbox
    assert states == {"done": FANS}, states
    added = Counter((e["user_id"], e["item"]) for e in ledger if e["outcome"] == "added")
    assert len(added) == FANS * 3  # the album and its 2 tracks per fan
    assert set(added.values()) == {1}, "a save was written twice"
    # Every fan's "done" outcome reached analytics once: nothing lost, nothing twice.
    assert outcomes == (FANS, 1)
    assert set(deliveries) == {"handled"}, deliveries


async def _change_link_through_one_and_read_the_other(
    a: httpx.AsyncClient, b: httpx.AsyncClient
) -> float:
    artist = (await a.post("/api/v1/artists", json=artist_body())).json()
    release = await a.post("/api/v1/releases", json=release_body([artist["id"]]))
    assert release.status_code == 201, release.text
    link = await a.post(
        "/api/v1/links",
        json={
            "release_id": release.json()["id"],
            "slug": "scaled-day",
            "destinations": [{"service": "spotify", "url": FIRST}],
        },
    )
    assert link.status_code == 201, link.text
    assert await _location(b) == FIRST  # now cached by the other process
    changed = await a.patch(
        f"/api/v1/links/{link.json()['id']}/destinations/spotify", json={"url": SECOND}
    )
    assert changed.status_code == 200, changed.text
    committed = time.monotonic()
    seen = FIRST
    while seen != SECOND and time.monotonic() - committed < 5:
        await asyncio.sleep(0.02)
        seen = await _location(b)
    assert seen == SECOND
    return time.monotonic() - committed


async def _location(client: httpx.AsyncClient) -> str:
    response = await client.get("/scaled-day/spotify")
    assert response.status_code == 302, response.text
    return response.headers["location"]
