# ruff: noqa: S608  (the SQL is built from this file's own constants, no input)
"""Analytics benchmark: ingest (capture → enrichment → storage) and dashboard queries.

Ingest: ``--ingest`` captured events (realistic, mostly repeated user agents, a pool of
addresses, referrers and channel codes) go through exactly what the flusher does — the
enrichment steps with the bundled geo-IP database, then one write transaction per batch
(raw rows, visitor sightings, rollup upserts) — timed together in this one process (one
core: the flusher's thread is not used, so nothing runs in parallel). The first batch
warms the caches and is not timed. Target: >= 20,000 events/s.

Queries: the rollups of ``--events`` events (default 10 million) over 90 days for one
link, and as many again over a workspace of 100 links, are generated directly with
set-based SQL in the flusher's shape (every cell of every hour and day filled; hourly
and daily; link and workspace scopes) — raw events at that size would take hours to
build on this machine, and the queries read only rollups. Then every dashboard query
(the summary's totals — breakdowns and funnel come from them —, daily and hourly series,
the launch window, the workspace's) runs ``--repeat`` times; p50/p95 printed.
Target: p95 < 100 ms.

    .venv/bin/python bench/analytics.py --database sqlite
    .venv/bin/python bench/analytics.py --database postgresql --events 1000000
    .venv/bin/python bench/analytics.py --skip-queries        # ingest only
    .venv/bin/python bench/analytics.py --skip-queries --cpu 1  # pinned to CPU 1
    .venv/bin/python bench/analytics.py --skip-ingest --keep /tmp/q-data  # build, keep
    .venv/bin/python bench/analytics.py --skip-ingest --reuse /tmp/q-data --only hourly

Ingest prints wall-time rates and this process's CPU-time rates (on a shared machine the
wall time says more about the neighbours than about the code). PostgreSQL's own CPU is
spent in its server processes and is in neither CPU figure; with a local server the
bench also reads the backend's CPU time from /proc and prints the sum (the one-core
figure). Run PostgreSQL on the other core to keep it off the pinned one.

PostgreSQL runs use a scratch database on 127.0.0.1:5432 that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from launchlink.analytics import queries, service  # noqa: E402
from launchlink.analytics.capture import Captured  # noqa: E402
from launchlink.analytics.ingest import BatchSalts, VisitIngest  # noqa: E402
from launchlink.analytics.simulate import DEVICES, ROBOTS, SOURCES  # noqa: E402
from launchlink.db import Database  # noqa: E402
from launchlink.kit.geo import BundledGeoResolver, CountryDetector  # noqa: E402
from launchlink.migrate import upgrade_to_head  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 90


def scratch_url(database: str, tmp: Path) -> tuple[str, str | None]:
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{(tmp / 'analytics.sqlite3').as_posix()}", None
    import psycopg

    name = f"launchlink_bench_analytics_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES.replace('+psycopg', '')}/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}", name


def drop(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    with psycopg.connect(f"{POSTGRES.replace('+psycopg', '')}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BackendCpu:
    """CPU seconds the PostgreSQL backends of the bench's database have used (utime +
    stime from /proc; the server runs on this machine) over the pool's connections when
    last looked up; the lookup's own backend is left out."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.name = url.rsplit("/", 1)[1]
        self.connection = psycopg.connect(
            url.replace("+psycopg", ""),
            autocommit=True,
        )
        self.tick = os.sysconf("SC_CLK_TCK")
        self.pids: list[int] = []

    def refresh(self) -> None:
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.name,),
        ).fetchall()
        self.pids = [pid for (pid,) in rows]

    def total(self) -> float:
        used = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the connection closed since
            used += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return used / self.tick

    def close(self) -> None:
        self.connection.close()


# -- ingest -------------------------------------------------------------------------------


def captured_events(count: int, seed: int = 1) -> list[Captured]:
    pick = random.Random(seed)
    workspace = uuid.uuid4()
    links = [uuid.uuid4() for _ in range(20)]
    # Zipf-like: a few user agents and links carry most of the traffic.
    agents = [d.user_agent for d in DEVICES] + [ua for _, ua in ROBOTS]
    weights = [1 / (rank + 1) for rank in range(len(agents))]
    addresses = [f"{pick.randint(1, 223)}.{pick.randint(0, 255)}.{pick.randint(0, 255)}."
                 f"{pick.randint(1, 254)}" for _ in range(20_000)]  # fmt: skip
    events: list[Captured] = []
    now = datetime.now(UTC)
    for number in range(count):
        _, referrer, _, query = pick.choice(SOURCES)
        headers: list[tuple[bytes, bytes]] = [
            (b"host", b"links.example"),
            (b"user-agent", pick.choices(agents, weights)[0].encode()),
            (b"accept", b"text/html,application/xhtml+xml,*/*;q=0.8"),
            (b"accept-language", b"en-GB,en;q=0.9"),
        ]
        if referrer:
            headers.append((b"referer", referrer.encode()))
        kind = "service_click" if number % 3 == 0 else "page_view"
        events.append(
            (
                kind, now, pick.choices(links, [1 / (i + 1) for i in range(20)])[0], workspace,
                "spotify" if kind == "service_click" else None, "live", False, None, "GET",
                "&".join(f"{k}={v}" for k, v in query.items()).encode(), headers,
                pick.choice(addresses),
            )
        )  # fmt: skip
    return events


async def bench_ingest(database: Database, count: int, batch: int) -> dict[str, float]:
    ingest = VisitIngest(
        countries=CountryDetector(BundledGeoResolver()), own_hosts=["links.example"]
    )
    events = captured_events(count + batch)
    now = datetime.now(UTC)
    async with database.transaction(write_lock=True) as session:
        salts = await service.salts_for(session, sorted(ingest.days_of(events[:1])), now)
    enrich = store = enrich_cpu = store_cpu = 0.0
    server_cpu = 0.0  # the PostgreSQL backends', while it stores
    server = BackendCpu(database.url) if database.dialect == "postgresql" else None
    seen = service.SeenVisitors()  # the flusher's and the workers' (analytics/tasks.py)
    # The workers' shape ids too; absent before migration 0026 (the A/B runs old code).
    shape_ids = service.ShapeIds() if hasattr(service, "ShapeIds") else None
    extra: dict[str, Any] = {} if shape_ids is None else {"shapes": shape_ids}
    try:  # the collector's pause per batch; absent before it too
        from launchlink.kit.gcpause import collection_paused as paused
    except ImportError:
        paused = contextlib.nullcontext  # type: ignore[assignment]
    for index, start in enumerate(range(0, len(events), batch)):
        part = events[start : start + batch]
        if server is not None:
            server.refresh()  # the pool's connections (outside the timed part)
        with paused():  # as the workers' drain does
            began, began_cpu = time.perf_counter(), time.process_time()
            result = ingest.run(part, BatchSalts(salts, now))
            enriched, enriched_cpu = time.perf_counter(), time.process_time()
            server_before = server.total() if server is not None else 0.0
            async with database.transaction(write_lock=True) as session:
                await service.store(session, result.rows, result.returns, seen=seen, **extra)
            if server is not None and index:  # the commit included
                server_cpu += server.total() - server_before
        seen.committed()
        if shape_ids is not None:
            shape_ids.committed()
        stored, stored_cpu = time.perf_counter(), time.process_time()
        if index:  # the first batch warms the caches
            enrich += enriched - began
            store += stored - enriched
            enrich_cpu += enriched_cpu - began_cpu
            store_cpu += stored_cpu - enriched_cpu
    if server is not None:
        server.close()
    return {
        "events": count,
        "enrich_per_s": count / enrich,
        "store_per_s": count / store,
        "total_per_s": count / (enrich + store),
        "batch_write_ms": 1000 * store / max(1, count // batch),
        # This process's CPU time (all its threads: aiosqlite runs SQLite in one), which a
        # shared machine inflates far less than wall time. PostgreSQL's own work is in
        # the server's processes and is not in it.
        "cpu_enrich_per_s": count / enrich_cpu,
        "cpu_store_per_s": count / store_cpu,
        "cpu_total_per_s": count / (enrich_cpu + store_cpu),
        # With the PostgreSQL backend's CPU (a local server: /proc): the one-core figure.
        **(
            {"server_cpu_us": 1e6 * server_cpu / count,
             "cpu_with_server_per_s": count / (enrich_cpu + store_cpu + server_cpu)}
            if server_cpu and database.dialect == "postgresql"
            else {}
        ),
    }  # fmt: skip


# -- queries ------------------------------------------------------------------------------

_DIMENSIONS = {
    "source": ["instagram", "tiktok", "direct", "x", "facebook", "youtube", "google", "email",
               "sms", "other"],
    "channel": ["", "ig-story", "ig-bio", "tt-video", "email-launch", "sms-drop", "qr-poster",
                "yt-desc", "x-post", "fb-ad"],
    "country": ["US", "GB", "DE", "FR", "BR", "JP", "MX", "SE", "IN", "NG", "CA", "AU", "ES",
                "IT", "NL", "PL", "KR", "ID", "PH", "AR", ""],
    "device": ["mobile", "desktop", "tablet", "other"],
    "in_app": ["", "instagram", "tiktok", "facebook", "snapchat", "twitter"],
    "os": ["iOS", "Android", "Windows", "macOS", "Linux", "iPadOS"],
    "phase": ["live", "presave", "announce"],
    "service": ["spotify", "apple_music", "youtube_music", "deezer", "tidal", "amazon_music"],
    "bot_class": ["preview", "bot", "ai_agent", "monitor", "prefetch"],
}  # fmt: skip


def _cells() -> list[tuple[str, str, str, float]]:
    """(metric, dimension, value, share of an hour's events) of every rollup cell an hour
    of dense traffic fills (rollups.py's cells), values skewed (1/rank)."""
    cells: list[tuple[str, str, str, float]] = []

    def spread(metric: str, dimension: str, values: list[str], share: float) -> None:
        weights = [1 / (rank + 1) for rank in range(len(values))]
        for value, weight in zip(values, weights, strict=True):
            cells.append((metric, dimension, value, share * weight / sum(weights)))

    shared = ("source", "channel", "country", "device", "in_app", "phase")
    cells.append(("view", "all", "", 0.6))
    for dimension in (*shared, "os"):
        spread("view", dimension, _DIMENSIONS[dimension], 0.6)
    cells.append(("click", "all", "", 0.3))
    for dimension in (*shared, "service"):
        spread("click", dimension, _DIMENSIONS[dimension], 0.3)
    spread("click", "automatic", ["tap", "auto"], 0.3)
    spread("click", "source_service", [f"{a}|{b}" for a in _DIMENSIONS["source"]
                                       for b in _DIMENSIONS["service"]], 0.3)  # fmt: skip
    cells.append(("bot_view", "all", "", 0.05))
    spread("bot_view", "bot_class", _DIMENSIONS["bot_class"], 0.05)
    spread("visitor", "bucket", ["all", "post", "pre"], 0.2)
    for step in ("presave_start", "presave_authorised"):
        cells.append((step, "all", "", 0.02))
        spread(step, "service", _DIMENSIONS["service"], 0.02)
        spread(step, "source", _DIMENSIONS["source"], 0.02)
    cells.append(("fulfilled", "service", "spotify", 0.01))
    cells.append(("return", "all", "", 0.005))
    return cells


async def build_rollups(
    database: Database, scope: str, events: int, *, dense_hours: bool = True
) -> int:
    """The rollups ``events`` events over DAYS days leave for ``scope``, generated
    directly (set-based SQL; raw events at 10 M would take hours to build here). Every
    cell of every hour and day is filled — what traffic of this size does (rollups.py);
    with ``dense_hours`` off only the series cells (``all``/``bucket``) of each hour are.
    Returns the rows written."""
    postgres = database.dialect == "postgresql"
    hours = DAYS * 24
    per_hour = events / hours
    async with database.transaction(write_lock=True) as session:
        await session.execute(text("DROP TABLE IF EXISTS bench_cell"))
        await session.execute(text(
            "CREATE TABLE bench_cell (metric TEXT, dimension TEXT, value TEXT, share FLOAT)"
        ))  # fmt: skip
        for metric, dimension, value, share in _cells():
            if dense_hours or dimension in ("all", "bucket"):
                await session.execute(
                    text("INSERT INTO bench_cell VALUES (:m, :d, :v, :s)"),
                    {"m": metric, "d": dimension, "v": value, "s": share},
                )
        for period, count, step in (("h", hours, 1), ("d", DAYS, 24)):
            series = (
                f"SELECT i FROM generate_series(0, {count - 1}) AS i"
                if postgres
                else "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
                f"WHERE i < {count - 1}) SELECT i FROM n"
            )
            start = (
                f"(TIMESTAMPTZ '{START.isoformat()}' + i * INTERVAL '{step} hour')"
                if postgres
                else f"strftime('%Y-%m-%d %H:%M:%S.000000', '{START:%Y-%m-%d %H:%M:%S}', "
                f"'+' || (i * {step}) || ' hours')"
            )
            # Counts vary by hour (a daily rhythm) so sums are not all alike.
            variation = "(0.5 + ((i * 7919) % 100) / 100.0)"
            scope_value = f"'{scope}'::uuid" if postgres else f"'{scope}'"
            await session.execute(text(
                f"INSERT INTO analytics_rollup (scope_id, period, start, metric, dimension, "
                f"value, count) SELECT {scope_value}, '{period}', {start}, c.metric, "
                f"c.dimension, c.value, CAST({per_hour * step} * c.share * {variation} + 1 "
                f"AS INTEGER) FROM ({series}) AS g CROSS JOIN bench_cell c"
            ))  # fmt: skip
        written = await session.execute(
            text(f"SELECT count(*) FROM analytics_rollup WHERE scope_id = {scope_value}")
        )
        await session.execute(text("DROP TABLE bench_cell"))
        return int(written.scalar_one())


# wall p50, wall p95, CPU p50, CPU p95 (this process), PostgreSQL backends' CPU mean (ms)
Timing = tuple[float, float, float, float, float]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


async def timed(
    repeat: int, run: Callable[[], Awaitable[Any]], server: BackendCpu | None = None
) -> Timing:
    """p50 and p95 of the wall time and of this process's CPU time (on SQLite that is the
    query's too: it runs in aiosqlite's thread; PostgreSQL's server is not counted). On a
    loaded machine the wall p95 is mostly time spent waiting for a core; the CPU p95 is
    what the code itself costs at its worst."""
    samples, cpu = [], []
    await run()  # warm: statements prepared, pages cached
    if server is not None:
        server.refresh()
        began_server = server.total()
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        await run()
        samples.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    # The backends' clock ticks are 10 ms: a mean over the runs, not a percentile.
    mean_server = (server.total() - began_server) * 1000 / repeat if server is not None else 0.0
    return (
        statistics.median(samples),
        _p95(samples),
        statistics.median(cpu),
        _p95(cpu),
        mean_server,
    )


@dataclass(frozen=True)
class QueryData:
    """The scopes build_query_data filled: one busy link; a workspace of 100 links."""

    link: uuid.UUID
    workspace: uuid.UUID
    first_of_100: uuid.UUID  # the one of the workspace's links with every hourly cell


async def build_query_data(database: Database, events: int) -> QueryData:
    link = uuid.uuid4()
    links_b, workspace_b = [uuid.uuid4() for _ in range(100)], uuid.uuid4()
    postgres = database.dialect == "postgresql"

    def rendered(value: uuid.UUID) -> str:
        return str(value) if postgres else value.hex

    began = time.perf_counter()
    rows = await build_rollups(database, rendered(link), events)
    rows += await build_rollups(database, rendered(workspace_b), events)
    for other in links_b:
        rows += await build_rollups(
            database, rendered(other), events // len(links_b), dense_hours=other == links_b[0]
        )
    if postgres:
        # Outside a transaction: an ANALYZE in one that is rolled back leaves no statistics.
        # VACUUM too: index-only scans need the visibility map, which autovacuum keeps for
        # a table filled over 90 days (this one was filled a moment ago).
        autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE analytics_rollup"))
    print(
        f"  rollups of {events:,} events for one link and {events:,} over a workspace of "
        f"{len(links_b)} links: {rows:,} rows, generated in {time.perf_counter() - began:.0f} s"
    )
    return QueryData(link, workspace_b, links_b[0])


async def api_link(database: Database, link_id: uuid.UUID) -> uuid.UUID:
    """A link row (and its workspace and release, out 30 days into the data) for the busy
    link's rollups, so the API's summary can be timed whole; its workspace's id."""
    from launchlink.accounts.service import create_workspace
    from launchlink.catalog import service as catalog
    from launchlink.catalog.schemas import ArtistCreate, ReleaseCreate
    from launchlink.models.catalog import ReleaseType
    from launchlink.models.links import Link

    async with database.transaction() as session:
        existing = await session.get(Link, link_id)
        if existing is not None:
            return existing.workspace_id
        workspace = await create_workspace(session, name="Bench Records")
        artist = await catalog.create_artist(session, workspace.id, ArtistCreate(name="Nova"))
        release = await catalog.create_release(
            session,
            workspace.id,
            ReleaseCreate(
                title="Bench",
                type=ReleaseType.single,
                artist_ids=[artist.id],
                release_mode="local",
                release_date=(START + timedelta(days=30)).date(),
            ),
        )
        session.add(Link(id=link_id, workspace_id=workspace.id, release_id=release.id,
                         slug="bench"))  # fmt: skip
        return workspace.id


async def bench_queries(
    database: Database,
    data: QueryData,
    repeat: int,
    only: str | None = None,
    *,
    freeze: bool = True,
) -> dict[str, Timing]:
    from launchlink.dashboard.insights import SERIES_METRICS as DASHBOARD_SERIES

    link, workspace_b, first_of_100 = data.link, data.workspace, data.first_of_100
    api_workspace = await api_link(database, link)
    window = queries.TimeRange(START, START + timedelta(days=DAYS))
    ragged = queries.TimeRange(START + timedelta(hours=5), START + timedelta(days=DAYS, hours=-3))
    last_month = queries.TimeRange(START + timedelta(days=DAYS - 31), START + timedelta(days=DAYS))
    release = START + timedelta(days=30)
    results: dict[str, Timing] = {}

    async def in_session(make: Callable[[Any], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            async with database.sessionmaker() as session:
                return await make(session)

        return run

    checks: dict[str, Callable[[Any], Awaitable[Any]]] = {
        # GET /api/v1/analytics/links/{id}/summary: totals, the six-metric series and the
        # launch window (and the link's and release's rows), as the endpoint assembles it.
        "API link summary, 31 days by hour": lambda s: queries.link_summary(
            s, api_workspace, link, last_month, "hour"
        ),
        "API link summary, 90 days by day": lambda s: queries.link_summary(
            s, api_workspace, link, window, "day"
        ),
        "link totals, 90 days": lambda s: queries.totals(s, link, window),
        "link totals, ragged hours": lambda s: queries.totals(s, link, ragged),
        "link daily series, 90 days": lambda s: queries.series(
            s, link, window.start, window.end, "day"
        ),
        "link hourly series, 31 days": lambda s: queries.series(
            s, link, last_month.start, last_month.end, "hour"
        ),
        "link hourly series, 31 days, the page's 4 metrics": lambda s: queries.series(
            s, link, last_month.start, last_month.end, "hour", DASHBOARD_SERIES
        ),
        "link launch window": lambda s: queries.series(
            s, link, release - timedelta(hours=48), release + timedelta(hours=72), "hour"
        ),
        "workspace (100 links) totals, 90 days": lambda s: queries.totals(s, workspace_b, window),
        "workspace (100 links) daily series": lambda s: queries.series(
            s, workspace_b, window.start, window.end, "day"
        ),
        "one of the 100 links, totals": lambda s: queries.totals(s, first_of_100, window),
        "one of the 100 links, hourly series, 31 days": lambda s: queries.series(
            s, first_of_100, last_month.start, last_month.end, "hour"
        ),
        "one of the 100 links, hourly, the page's 4 metrics": lambda s: queries.series(
            s, first_of_100, last_month.start, last_month.end, "hour", DASHBOARD_SERIES
        ),
        "workspace (100 links) totals, ragged hours": lambda s: queries.totals(
            s, workspace_b, ragged
        ),
    }
    if freeze:
        # As Application.startup does in a served process: what was built so far lives as
        # long as the process. Without it the bench's full collections re-scan every
        # module and the data build's leftovers: 50-60 ms each, every ~10th hourly series
        # (the CPU p95 of those queries was that pause, not the query).
        gc.collect()
        gc.freeze()
    server = BackendCpu(database.url) if database.dialect == "postgresql" else None
    for name, make in checks.items():
        if only is None or only in name:
            results[name] = await timed(repeat, await in_session(make), server)
    if server is not None:
        server.close()
    totals = await (await in_session(lambda s: queries.totals(s, link, window)))()
    assert sum(totals["view"]["all"].values()) + sum(totals["click"]["all"].values()) > 0
    return results


async def main_async(args: argparse.Namespace, url: str, kept: Path | None) -> None:
    database = Database(url)
    try:
        if not args.skip_ingest:
            result = await bench_ingest(database, args.ingest, args.batch)
            cpu = (
                f"{result['cpu_total_per_s']:,.0f} ev/s (enrich "
                f"{result['cpu_enrich_per_s']:,.0f}/s, store {result['cpu_store_per_s']:,.0f}/s)"
            )
            print(
                f"{args.database}: ingest {result['events']:,} events: "
                f"{result['total_per_s']:,.0f} ev/s (enrich {result['enrich_per_s']:,.0f}/s, "
                f"store {result['store_per_s']:,.0f}/s, {result['batch_write_ms']:.0f} ms "
                f"per {args.batch:,}-event batch); CPU time of this process: {cpu}"
            )
            if "server_cpu_us" in result:
                print(
                    f"  PostgreSQL backend CPU {result['server_cpu_us']:.1f} us/event; this "
                    f"process + backend: {result['cpu_with_server_per_s']:,.0f} ev/s of CPU"
                )
        if not args.skip_queries:
            if args.reuse:
                ids = json.loads(Path(args.reuse, "bench.json").read_text())["scopes"]
                data = QueryData(**{key: uuid.UUID(value) for key, value in ids.items()})
            else:
                data = await build_query_data(database, args.events)
            if kept is not None:
                scopes = {key: str(value) for key, value in asdict(data).items()}
                kept.write_text(json.dumps({"url": url, "scopes": scopes}))
            results = await bench_queries(
                database, data, args.repeat, args.only, freeze=not args.no_freeze
            )
            postgres = database.dialect == "postgresql"
            print(f"  load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
            print(
                f"  {'query':<50} wall p50 / p95 ms   CPU p50 / p95 ms (this process"
                + ("; + server: the backends' CPU, mean)" if postgres else ", query included)")
            )
            for query, (p50, p95, cpu50, cpu95, server) in results.items():
                line = f"  {query:<50} {p50:7.1f} / {p95:7.1f}   {cpu50:7.1f} / {cpu95:7.1f}"
                print(line + (f"   + {server:5.1f}" if postgres else ""))
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--ingest", type=int, default=200_000, help="events for the ingest run")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000_000, help="events per query dataset")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--keep", help="build the query data into DIR and keep it (--reuse)")
    parser.add_argument("--reuse", help="time the queries against the data --keep left in DIR")
    parser.add_argument("--only", help="time only the queries whose name contains this")
    parser.add_argument(
        "--no-freeze", action="store_true", help="skip the served process's gc.freeze()"
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin this process to one CPU (like taskset -c)"
    )
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.reuse:
        url = json.loads(Path(args.reuse, "bench.json").read_text())["url"]
        upgrade_to_head(url)  # a migration since --keep runs on the kept data
        asyncio.run(main_async(args, url, None))
        return
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        url, name = scratch_url(args.database, Path(args.keep))
        upgrade_to_head(url)
        asyncio.run(main_async(args, url, Path(args.keep, "bench.json")))
        print(f"kept in {args.keep}" + (f' (drop it: DROP DATABASE "{name}")' if name else ""))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url, name = scratch_url(args.database, Path(tmp))
        try:
            upgrade_to_head(url)
            asyncio.run(main_async(args, url, None))
        finally:
            drop(name)


if __name__ == "__main__":
    main()
