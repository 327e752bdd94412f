"""Release day at scale, shared by the chaos test and ``bench/fulfilment.py``.

* ``python -m tests.fulfilment.release_day simulator --port P --spec spec.json`` serves a
  simulator (its own process) with the release, the demo apps at the given rate limits and
  one minted grant per fan, written to ``spec["tokens_file"]``;
* ``python -m tests.fulfilment.release_day worker`` runs one ``launchlink`` worker
  (``run_worker``, as ``launchlink worker`` does) against that simulator;
* :func:`seed` writes the workspace, release, fans, encrypted grants and due pre-saves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from launchlink.kit.ids import uuid7
from launchlink.simulator.profile import simulator_connectors

SERVICES = ("spotify", "apple_music", "deezer")
SIM_SERVICE = {"spotify": "spotify", "apple_music": "apple", "deezer": "deezer"}


def serve_simulator(port: int, spec: dict[str, Any]) -> None:
    import uvicorn

    from launchlink.kit.clock import SystemClock
    from launchlink.simulator.app import create_simulator_app
    from launchlink.simulator.profile import (
        DEMO_APPLE_TEAM_ID,
        DEMO_CLIENT_ID,
        register_demo_apps,
    )
    from launchlink.simulator.state import SimulatorState
    from tests.fulfilment.harness import SCOPES, sim_catalog

    available = datetime.now(UTC) - timedelta(days=1)
    state = SimulatorState(clock=SystemClock(), seed=sim_catalog(available_from=available))
    register_demo_apps(
        state,
        redirect_uris=["http://app.test/cb"],
        apple_public_key_pem=Path(spec["apple_public_key_file"]).read_text(),
    )
    for service, limit in spec["rate_limits"].items():
        sim = SIM_SERVICE[service]
        client = DEMO_APPLE_TEAM_ID if sim == "apple" else DEMO_CLIENT_ID
        state.upsert_app(
            sim, client, rate_limit={"limit": limit["limit"], "window_seconds": limit["window"]}
        )
    for service in SERVICES:
        state.set_faults(SIM_SERVICE[service], latency_ms=spec.get("latency_ms", 0))
    tokens: dict[str, list[list[str | None]]] = {}
    for service, count in spec["fans"].items():
        minted: list[list[str | None]] = []
        for n in range(count):
            user = f"{service}-{n}"
            if service == "apple_music":
                minted.append([user, state.issue_music_user_token(user), None])
                continue
            deezer = service == "deezer"
            state.create_user(SIM_SERVICE[service], user)
            access, refresh = state.mint_user_token(
                SIM_SERVICE[service],
                DEMO_CLIENT_ID,
                user,
                SCOPES[service],
                ttl_seconds=None if deezer else 6 * 3600,
                with_refresh_token=not deezer,
            )
            minted.append([user, access.token, refresh.token if refresh else None])
        tokens[service] = minted
    Path(spec["tokens_file"]).write_text(json.dumps(tokens))
    app = create_simulator_app(state)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


async def seed(
    database_url: str, tokens_file: str, encryption_key: str, *, expired: bool = False
) -> int:
    """One workspace, one release with a link, and a due pre-save per minted grant.

    ``expired``: Spotify access tokens are stored as expired, so every Spotify fan needs a
    refresh first (as on a real release day: Spotify's tokens live one hour)."""
    from sqlalchemy import insert

    from launchlink.accounts import service as accounts
    from launchlink.db import Database
    from launchlink.kit.crypto import TokenCipher
    from launchlink.models.catalog import Release, ReleaseMode, ReleaseType, Track
    from launchlink.models.links import Link
    from launchlink.models.presave import Fan, Presave, PresaveState, ServiceGrant, ServiceMode
    from tests.fulfilment.harness import ISRCS, SCOPES, UPC

    tokens: dict[str, list[list[str | None]]] = json.loads(Path(tokens_file).read_text())
    cipher = TokenCipher([encryption_key])
    database = Database(database_url)
    now = datetime.now(UTC)
    count = 0
    try:
        async with database.transaction() as session:
            workspace = await accounts.create_workspace(
                session, name=f"Bench {uuid.uuid4().hex[:6]}"
            )
            release = Release(
                workspace_id=workspace.id,
                title="Night Tide",
                type=ReleaseType.album,
                upc=UPC,
                release_mode=ReleaseMode.global_,
                release_instant=now,
                time_zone="UTC",
            )
            session.add(release)
            await session.flush()
            for n, isrc in enumerate(ISRCS, start=1):
                session.add(Track(release_id=release.id, position=n, title=f"Tide {n}", isrc=isrc))
            link = Link(
                workspace_id=workspace.id,
                release_id=release.id,
                slug=f"tide-{uuid.uuid4().hex[:6]}",
            )
            session.add(link)
            await session.flush()
            ids = (workspace.id, release.id, link.id)
        rows: list[tuple[str, list[str | None]]] = [
            (service, entry) for service, entries in tokens.items() for entry in entries
        ]
        for start in range(0, len(rows), 2000):
            fans, grants, presaves = [], [], []
            for service, (user, access, refresh) in rows[start : start + 2000]:
                fan_id, grant_id = uuid7(), uuid7()
                fans.append(
                    {
                        "id": fan_id,
                        "workspace_id": ids[0],
                        "country": "US",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                grants.append(
                    {
                        "id": grant_id,
                        "workspace_id": ids[0],
                        "fan_id": fan_id,
                        "service": service,
                        "account_id": user,
                        "access_token": cipher.encrypt(str(access)),
                        "refresh_token": cipher.encrypt(refresh) if refresh else None,
                        "access_expires_at": (
                            now + (timedelta(minutes=-1) if expired else timedelta(hours=6))
                        )
                        if service == "spotify"
                        else None,
                        "scopes": SCOPES.get(service, []),
                        "standing": False,
                        "standing_artist_ids": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                presaves.append(
                    {
                        "id": uuid7(),
                        "workspace_id": ids[0],
                        "link_id": ids[2],
                        "release_id": ids[1],
                        "fan_id": fan_id,
                        "service": service,
                        "mode": ServiceMode.direct_save,
                        "grant_id": grant_id,
                        "state": PresaveState.waiting,
                        "country": "US",
                        "time_zone": "UTC",
                        "due_at": now,
                        "actions": {"save_release": True},
                        "outcome": {},
                        "standing": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            async with database.transaction() as session:
                await session.execute(insert(Fan), fans)
                await session.execute(insert(ServiceGrant), grants)
                await session.execute(insert(Presave), presaves)
            count += len(presaves)
    finally:
        await database.dispose()
    return count


def worker_settings(env: dict[str, str]) -> Any:
    from launchlink.config import Settings

    settings = Settings()
    private_pem = Path(env["RELEASE_DAY_APPLE_KEY"]).read_text()
    settings.connectors = simulator_connectors(
        env["RELEASE_DAY_SIMULATOR"], apple_private_key_pem=private_pem
    )
    return settings


def run_one_worker() -> None:
    from launchlink.fulfilment.tasks import run_worker

    settings = worker_settings(dict(os.environ))
    asyncio.run(run_worker(settings, services=SERVICES))


def write_apple_keys(directory: Path) -> tuple[Path, Path]:
    from tests.fulfilment.harness import apple_key_pair

    private, public = apple_key_pair()
    private_file, public_file = directory / "apple.p8", directory / "apple.pub"
    private_file.write_text(private)
    public_file.write_text(public)
    return private_file, public_file


def wait_for_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["simulator", "worker"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--spec", default="")
    args = parser.parse_args()
    if args.role == "simulator":
        serve_simulator(args.port, json.loads(Path(args.spec).read_text()))
    else:
        run_one_worker()


if __name__ == "__main__":
    sys.exit(main())
