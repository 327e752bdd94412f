"""Dashboard page times with a workspace of N campaigns, its audit log and M analytics
events, in-process.

    .venv/bin/python bench/dashboard.py --campaigns 100 --events 1000000 --requests 50

Signs up through the real pages, creates N releases with their links (and as many
audit entries) through the services, the rollups of M events over their links (as
bench/analytics.py builds the rollups such traffic leaves, set-based), then
times GET of each page through the whole ASGI stack (httpx.ASGITransport, no network),
SQLite WAL in a temporary directory or (``--database postgresql``) a scratch database on
127.0.0.1:5432, dropped afterwards. Server time is what the app spends (the client is
in-process). Prints the median and 95th percentile per page; target p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from analytics import build_rollups, drop, scratch_url
from launchlink.accounts import audit
from launchlink.accounts.people import Actor
from launchlink.accounts.repository import UserRepository
from launchlink.app import create_app
from launchlink.catalog import service as catalog
from launchlink.catalog.schemas import ArtistCreate, ReleaseCreate
from launchlink.config import Settings
from launchlink.links import service as links
from launchlink.links.schemas import DestinationCreate, LinkCreate
from launchlink.migrate import upgrade_to_head
from launchlink.models.accounts import Role
from launchlink.models.catalog import ReleaseType

BASE = "https://bench.example.test"
PASSWORD = "benchmark password"  # noqa: S105  (a throwaway account in a temp database)


async def run(
    tmp: str, url: str, campaigns: int, events: int, requests: int, only: list[str]
) -> None:
    if True:
        app = create_app(
            Settings(
                database_url=url, var_dir=Path(tmp, "var"), public_url=BASE, environment="test"
            )
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            page = await c.get("/dashboard/signup")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf
            signed = await c.post(
                "/dashboard/signup",
                data={
                    "csrf": csrf.group(1),
                    "name": "Bench",
                    "email": "bench@example.com",
                    "password": PASSWORD,
                    "workspace_name": "Bench Records",
                    "kind": "label",
                },
            )
            base = signed.headers["location"].rsplit("/", 1)[0]
            workspace_id = base.rsplit("/", 1)[1]
            link_ids = await _fill(app.context.database, workspace_id, campaigns)
            if events:
                started = time.perf_counter()
                database = app.context.database
                ids = [UUID(workspace_id), *link_ids]
                for n, scope in enumerate(ids):
                    # The rollups these events leave (bench/analytics.py): every cell for
                    # the workspace and the timed campaign, the series cells for the rest.
                    await build_rollups(
                        database,
                        str(scope) if database.dialect == "postgresql" else scope.hex,
                        events if n == 0 else events // len(link_ids),
                        # the newest campaign is the one timed (the list is newest first)
                        dense_hours=n == 0 or scope == link_ids[-1],
                    )
                if database.dialect == "postgresql":
                    # Outside a transaction (bench/analytics.py): the planner needs the
                    # statistics, index-only scans the visibility map — the state
                    # autovacuum keeps a table in that has been filled over 90 days.
                    autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
                    async with autocommit.connect() as connection:
                        await connection.execute(text("VACUUM ANALYZE"))
                took = time.perf_counter() - started
                print(f"rollups of {events} events over {len(link_ids)} links in {took:.0f} s")
            first = await c.get(f"{base}/campaigns")
            campaign = re.search(rf"{base}/campaigns/([0-9a-f-]{{36}})", first.text)
            assert campaign
            one = f"{base}/campaigns/{campaign.group(1)}"
            paths = {
                "campaigns": f"{base}/campaigns",
                "campaign": one,
                "counts": f"{one}/counts",
                "fulfilment": f"{one}/fulfilment",
                # The bench's events span 2026-09-01 to 2026-11-30 (bench/analytics.py).
                "analytics": f"{base}/analytics?from=2026-09-01&to=2026-11-30",
                "analytics1": f"{base}/analytics?from=2026-09-01&to=2026-11-30"
                f"&campaign={campaign.group(1)}",
                "analyticsH": f"{base}/analytics?from=2026-11-01&to=2026-11-30&interval=hour",
                "fans": f"{base}/fans",
                "webhooks": f"{base}/webhooks",
                "members": f"{base}/members",
                "audit": f"{base}/audit",
                "qr.svg": f"{one}/qr.svg",
            }
            if only:
                paths = {name: path for name, path in paths.items() if name in only}
            dialect = app.context.database.dialect
            print(
                f"{dialect}: {campaigns} campaigns, {events} events, {requests} requests per "
                "page (ms; cpu = this process's CPU time, the database server's not included)"
            )
            for name, path in paths.items():
                await c.get(path)  # warm: templates compiled, statements cached
                times, cpu = [], []
                for _ in range(requests):
                    started, began_cpu = time.perf_counter(), time.process_time()
                    response = await c.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - began_cpu) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                times.sort()
                cpu.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(
                    f"  {name:11s} median {statistics.median(times):6.1f}  p95 {p95:6.1f}  "
                    f"cpu median {statistics.median(cpu):6.1f}  "
                    f"p95 {cpu[max(0, int(len(cpu) * 0.95) - 1)]:6.1f}"
                )
        await app.context.database.dispose()


async def _fill(database: object, workspace_id: str, campaigns: int) -> list[UUID]:
    from launchlink.db import Database
    from launchlink.kit.clock import SystemClock

    assert isinstance(database, Database)
    workspace = UUID(workspace_id)
    made: list[UUID] = []
    async with database.transaction(write_lock=True) as session:
        user = await UserRepository(session).get_by_email("bench@example.com")
        assert user is not None
        actor = Actor(user_id=user.id, email=user.email, role=Role.owner, workspace_id=workspace)
        artist = await catalog.create_artist(session, workspace, ArtistCreate(name="Nova Reyes"))
        for n in range(campaigns):
            release = await catalog.create_release(
                session,
                workspace,
                ReleaseCreate(
                    title=f"Release {n}",
                    type=ReleaseType.single,
                    artist_ids=[artist.id],
                    release_mode="local",
                    release_date=date(2027, 1, 1 + n % 28),
                ),
            )
            link = await links.create_link(
                session,
                workspace,
                LinkCreate(
                    release_id=release.id,
                    slug=f"release-{n}",
                    destinations=[
                        DestinationCreate(
                            service="spotify", url=f"https://open.spotify.com/album/{n:022d}"
                        )
                    ],
                ),
            )
            made.append(link.id)
            await audit.record(
                session,
                actor,
                "campaign.created",
                ("link", release.id),
                after={"slug": f"release-{n}"},
                clock=SystemClock(),
            )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pages", default="", help="comma-separated page names (default all)")
    args = parser.parse_args()
    only = [name for name in args.pages.split(",") if name]
    with tempfile.TemporaryDirectory() as tmp:
        url, name = scratch_url(args.database, Path(tmp))
        try:
            upgrade_to_head(url)  # outside the event loop: Alembic runs its own
            asyncio.run(run(tmp, url, args.campaigns, args.events, args.requests, only))
        finally:
            drop(name)


if __name__ == "__main__":
    main()
