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

CPU time is what survives a loaded machine: per request the bench prints this process's
CPU time (the app; on SQLite that includes the queries, run in aiosqlite's thread) and,
on PostgreSQL, the CPU time of the database's backend processes (read from /proc: the
server's share of the page).

Old code against new, interleaved: build once and keep the data (``--keep DIR``), then
time against it (``--reuse DIR``) alternately with each tree, e.g.

    .venv/bin/python bench/dashboard.py --database postgresql --keep /tmp/dash-data
    for round in 1 2 3; do
      PYTHONPATH=/tmp/old/src .venv/bin/python bench/dashboard.py --reuse /tmp/dash-data
      .venv/bin/python bench/dashboard.py --reuse /tmp/dash-data
    done
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import httpx
from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).parent))
from analytics import BackendCpu as _BackendCpu
from analytics import build_rollups, drop, scratch_url
from launchlink.accounts import audit
from launchlink.accounts.people import Actor
from launchlink.accounts.repository import UserRepository
from launchlink.app import create_app
from launchlink.catalog import service as catalog
from launchlink.catalog.schemas import ArtistCreate, ReleaseCreate
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.links import service as links
from launchlink.links.schemas import DestinationCreate, LinkCreate
from launchlink.migrate import upgrade_to_head
from launchlink.models.accounts import Role
from launchlink.models.catalog import ReleaseType

BASE = "https://bench.example.test"
PASSWORD = "benchmark password"  # noqa: S105  (a throwaway account in a temp database)


async def run(
    tmp: str,
    url: str,
    campaigns: int,
    events: int,
    requests: int,
    only: list[str],
    *,
    build: bool = True,
    fans: int = 0,
) -> None:
    app = create_app(
        Settings(database_url=url, var_dir=Path(tmp, "var"), public_url=BASE, environment="test")
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        if build:
            base = await _sign_up(c)
            workspace_id = base.rsplit("/", 1)[1]
            link_ids = await _fill(app.context.database, workspace_id, campaigns)
            if fans:
                await _fans(app.context.database, workspace_id, link_ids, fans)
            if events:
                await _rollups(app.context.database, workspace_id, link_ids, events)
        else:
            # Every --reuse run logs in again: the login limit (10 per address in 15
            # minutes) would refuse the eleventh run; forget the bench account's hits.
            async with app.context.database.transaction() as session:
                await session.execute(
                    text("DELETE FROM presave_rate_hit WHERE bucket LIKE 'login%'")
                )
            base = await _log_in(c)
        first = await c.get(f"{base}/campaigns")
        campaign = re.search(rf"{base}/campaigns/([0-9a-f-]{{36}})", first.text)
        assert campaign
        one = f"{base}/campaigns/{campaign.group(1)}"
        paths = {
            "campaigns": f"{base}/campaigns",
            "campaign": one,
            "counts": f"{one}/counts",
            "fulfilment": f"{one}/fulfilment",
            "release": f"{one}/release",
            "design": f"{one}/design",
            "new": f"{base}/campaigns/new",
            # The bench's events span 2026-09-01 to 2026-11-30 (bench/analytics.py).
            "analytics": f"{base}/analytics?from=2026-09-01&to=2026-11-30",
            "analytics1": f"{base}/analytics?from=2026-09-01&to=2026-11-30"
            f"&campaign={campaign.group(1)}",
            "analyticsH": f"{base}/analytics?from=2026-11-01&to=2026-11-30&interval=hour",
            "fans": f"{base}/fans",
            "webhooks": f"{base}/webhooks",
            "service-apps": f"{base}/service-apps",
            "domains": f"{base}/domains",
            "api-keys": f"{base}/api-keys",
            "members": f"{base}/members",
            "audit": f"{base}/audit",
            "account": "/dashboard/account",
            "qr.svg": f"{one}/qr.svg",
        }
        if only:
            paths = {name: path for name, path in paths.items() if name in only}
        database = app.context.database
        server = _BackendCpu(url) if database.dialect == "postgresql" else None
        statements = [0]

        def count(*_: object) -> None:
            statements[0] += 1

        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        print(
            f"{database.dialect}: {campaigns} campaigns, {events} events, {requests} requests "
            f"per page, load average {_load()} (ms; cpu = this process's CPU time"
            + ("; db = the database backends' CPU time, mean" if server else "")
            + "; sql = statements per request)"
        )
        for name, path in paths.items():
            await c.get(path)  # warm: templates compiled, statements cached
            times, cpu = [], []
            statements[0] = 0
            if server:
                # The backends' clock ticks are 10 ms: per page, the total over its
                # requests divided by their number (the pool's backends, looked up first).
                server.refresh()
                began_db = server.total()
            for _ in range(requests):
                started, began_cpu = time.perf_counter(), time.process_time()
                response = await c.get(path)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            line = f"  {name:12s} median {_p(times, 50):6.1f}  p95 {_p(times, 95):6.1f}  "
            line += f"cpu median {_p(cpu, 50):6.1f}  p95 {_p(cpu, 95):6.1f}"
            if server:
                line += f"  db {(server.total() - began_db) * 1000 / requests:5.1f}"
            line += f"  sql {statements[0] / requests:4.1f}"
            print(line, flush=True)
        print(f"load average {_load()}")
        if server:
            server.close()
    await app.context.database.dispose()


def _p(values: list[float], percentile: int) -> float:
    ordered = sorted(values)
    if percentile == 50:
        return statistics.median(ordered)
    return ordered[max(0, int(len(ordered) * percentile / 100) - 1)]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _csrf(c: httpx.AsyncClient, path: str) -> str:
    page = await c.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return csrf.group(1)


async def _sign_up(c: httpx.AsyncClient) -> str:
    signed = await c.post(
        "/dashboard/signup",
        data={
            "csrf": await _csrf(c, "/dashboard/signup"),
            "name": "Bench",
            "email": "bench@example.com",
            "password": PASSWORD,
            "workspace_name": "Bench Records",
            "kind": "label",
        },
    )
    return str(signed.headers["location"]).rsplit("/", 1)[0]


async def _log_in(c: httpx.AsyncClient) -> str:
    signed = await c.post(
        "/dashboard/login",
        data={
            "csrf": await _csrf(c, "/dashboard/login"),
            "email": "bench@example.com",
            "password": PASSWORD,
        },
    )
    assert signed.status_code == 303, signed.status_code
    home = await c.get(signed.headers["location"], follow_redirects=True)
    workspace = re.search(r"(/dashboard/w/[0-9a-f-]{36})", f"{home.url.path} {home.text}")
    assert workspace, "no workspace link after login"
    return workspace.group(1)


async def _fans(database: Database, workspace_id: str, link_ids: list[UUID], count: int) -> None:
    """``count`` fans as the pre-save page leaves them, spread over the campaigns: a
    pre-save each, a consent record for the service and, for every second fan, one for
    email under the workspace's consent text (ORM bulk inserts, 5,000 rows a statement)."""
    from sqlalchemy import insert

    from launchlink.kit.ids import uuid7
    from launchlink.models import ConsentRecord, ConsentText, Fan, Link, Presave
    from launchlink.models.presave import ConsentKind, PresaveState, ServiceMode

    started = time.perf_counter()
    workspace = UUID(workspace_id)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    async with database.transaction() as session:
        rows = await session.execute(select(Link.id, Link.release_id).where(Link.id.in_(link_ids)))
        releases = {link_id: release_id for link_id, release_id in rows}
        text_row = ConsentText(
            workspace_id=workspace, kind=ConsentKind.email, version=1, text="News by email"
        )
        session.add(text_row)
        await session.flush()
        for chunk in range(0, count, 5000):
            fans, presaves, consents = [], [], []
            for n in range(chunk, min(count, chunk + 5000)):
                fan_id, presave_id, link_id = uuid7(), uuid7(), link_ids[n % len(link_ids)]
                fans.append({
                    "id": fan_id, "workspace_id": workspace, "email": f"fan{n}@example.com",
                    "country": "GB", "email_consent_at": at if n % 2 == 0 else None,
                })  # fmt: skip
                presaves.append({
                    "id": presave_id, "workspace_id": workspace, "link_id": link_id,
                    "release_id": releases[link_id], "fan_id": fan_id, "service": "spotify",
                    "mode": ServiceMode.direct_save, "state": PresaveState.waiting,
                    "time_zone": "Europe/London", "due_at": at,
                })  # fmt: skip
                consents.append({
                    "id": uuid7(), "workspace_id": workspace, "fan_id": fan_id,
                    "presave_id": presave_id, "kind": ConsentKind.connect_service,
                    "service": "spotify", "at": at,
                })  # fmt: skip
                if n % 2 == 0:
                    consents.append({
                        "id": uuid7(), "workspace_id": workspace, "fan_id": fan_id,
                        "presave_id": presave_id, "kind": ConsentKind.email,
                        "consent_text_id": text_row.id, "at": at,
                    })  # fmt: skip
            await session.execute(insert(Fan), fans)
            await session.execute(insert(Presave), presaves)
            await session.execute(insert(ConsentRecord), consents)
    print(f"{count} fans in {time.perf_counter() - started:.0f} s")


async def _rollups(
    database: Database, workspace_id: str, link_ids: list[UUID], events: int
) -> None:
    started = time.perf_counter()
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


async def _fill(database: object, workspace_id: str, campaigns: int) -> list[UUID]:
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
    parser.add_argument("--fans", type=int, default=0, help="fans with a pre-save each")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pages", default="", help="comma-separated page names (default all)")
    parser.add_argument("--keep", help="build into DIR and keep it (for --reuse)")
    parser.add_argument("--reuse", help="time against the data --keep left in DIR")
    args = parser.parse_args()
    only = [name for name in args.pages.split(",") if name]
    if args.reuse:
        kept = json.loads(Path(args.reuse, "bench.json").read_text())
        asyncio.run(
            run(args.reuse, kept["url"], kept["campaigns"], kept["events"], args.requests, only,
                build=False)
        )  # fmt: skip
        return
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        url, name = scratch_url(args.database, Path(args.keep))
        upgrade_to_head(url)
        asyncio.run(
            run(args.keep, url, args.campaigns, args.events, args.requests, only, fans=args.fans)
        )
        kept = {"url": url, "name": name, "campaigns": args.campaigns, "events": args.events}
        Path(args.keep, "bench.json").write_text(json.dumps(kept))
        print(f"kept in {args.keep}" + (f' (drop it: DROP DATABASE "{name}")' if name else ""))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url, name = scratch_url(args.database, Path(tmp))
        try:
            upgrade_to_head(url)  # outside the event loop: Alembic runs its own
            asyncio.run(
                run(tmp, url, args.campaigns, args.events, args.requests, only, fans=args.fans)
            )
        finally:
            drop(name)


if __name__ == "__main__":
    main()
