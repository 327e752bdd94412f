"""Fulfilment benchmark: N pre-saves (Spotify 60 %, Apple 25 %, Deezer 15 %) against the
simulator in its own process, with a per-app rate limit R and 30 ms service latency.

Prints wall time against the ideal (count / R per service), utilisation = ideal / actual
(target >= 0.9), peak worker memory (target < 300 MB) and its growth with the pre-saves
done, and CPU time per fulfilled pre-save in the workers, the simulator and PostgreSQL (the
figure that survives a loaded machine). Not a test: run it by hand.

    .venv/bin/python bench/fulfilment.py --presaves 100000 --rate 100 --database sqlite
    .venv/bin/python bench/fulfilment.py --presaves 100000 --rate 100 --workers 4 \
        --database postgresql

The simulator's per-app limit (Deezer's quota included) is R; the engine's ceiling is
``--ceiling`` x R. Ideal time counts HTTP requests: Deezer saves album and tracks one
request each (3 per pre-save), Spotify and Apple in one.

PostgreSQL runs use Redis for the shared limiter (127.0.0.1:6379, db 12) and a scratch
database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from tests.fulfilment.release_day import seed, wait_for_port, write_apple_keys  # noqa: E402

from launchlink.migrate import upgrade_to_head  # noqa: E402

SHARES = {"spotify": 0.60, "apple_music": 0.25, "deezer": 0.15}
ITEMS_PER_PRESAVE = 3  # the album and its 2 tracks


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def requests_per_presave(service: str) -> float:
    """What the rate limit is spent on: Spotify and Apple save album + tracks in one request,
    Deezer needs one request per item (so its ideal time is 3x its count / R)."""
    from launchlink.fulfilment.executor import requests_for

    return requests_for(service, ITEMS_PER_PRESAVE)


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class CpuMeter:
    """CPU seconds spent by the workers, the simulator and this database's PostgreSQL
    backends since the run started: the figure a loaded machine does not distort much
    (wall time and utilisation it does). Backends are found in pg_stat_activity at every
    sample; one that ends between samples loses its last few seconds, the workers' pooled
    connections live as long as they do."""

    def __init__(self, workers: list[int], simulator: int) -> None:
        self.workers = workers
        self.simulator = simulator
        self.start = {pid: cpu_seconds(pid) for pid in [*workers, simulator]}
        self.last: dict[int, float] = dict(self.start)
        self.backends: dict[int, tuple[float, float]] = {}
        """pid → (CPU when first seen, CPU last seen)."""
        self.steady_from: tuple[int, float] | None = None
        """(pre-saves final, worker CPU) once a tenth is done: start-up and warm-up behind."""

    def mark(self, done: int, total: int) -> None:
        if self.steady_from is None and done >= total / 10:
            self.steady_from = (done, self.spent()[0])

    def steady_ms(self, done: int) -> float | None:
        """Worker CPU per pre-save after the first tenth (no start-up in it)."""
        if self.steady_from is None or done <= self.steady_from[0]:
            return None
        cpu = self.spent()[0] - self.steady_from[1]
        return 1000 * cpu / (done - self.steady_from[0])

    def sample(self, backend_pids: list[int]) -> None:
        for pid in [*self.workers, self.simulator]:
            now = cpu_seconds(pid)
            if now:
                self.last[pid] = now
        for pid in backend_pids:
            now = cpu_seconds(pid)
            if not now:
                continue
            first, _ = self.backends.get(pid, (now, now))
            self.backends[pid] = (first, now)

    def spent(self) -> tuple[float, float, float]:
        """(workers, simulator, PostgreSQL backends) CPU seconds."""
        workers = sum(self.last[pid] - self.start[pid] for pid in self.workers)
        simulator = self.last[self.simulator] - self.start[self.simulator]
        postgres = sum(last - first for first, last in self.backends.values())
        return workers, simulator, postgres


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presaves", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=150.0, help="per-app limit R (req/s)")
    parser.add_argument("--ceiling", type=float, default=0.95, help="our share of R")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--workers-list",
        default="",
        help="comma-separated worker counts run one after the other on clones of one seeded "
        "database (PostgreSQL; default: --workers)",
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument(
        "--expired-tokens",
        action="store_true",
        help="store Spotify access tokens as expired: every Spotify fan is refreshed first",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=0.0,
        help="measure a steady-state window of this many seconds after --warmup instead of "
        "draining every pre-save (0: drain)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="seconds from the first pre-save made final to the window's start",
    )
    parser.add_argument(
        "--simulator-fans",
        type=int,
        default=50_000,
        help="distinct simulator accounts per service (PostgreSQL): beyond them, pre-saves "
        "reuse their tokens (fans, grants and pre-saves stay distinct rows)",
    )
    args = parser.parse_args()
    counts = [int(n) for n in (args.workers_list or str(args.workers)).split(",")]
    if args.database == "sqlite":
        counts = [1]  # one worker process: SQLite has one writer
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="ll-bench-"))
    print(f"scratch directory (worker logs): {tmp}", flush=True)
    fans = {s: int(args.presaves * share) for s, share in SHARES.items()}
    fans["spotify"] += args.presaves - sum(fans.values())
    accounts = (
        dict(fans)
        if args.database == "sqlite"
        else {s: min(count, args.simulator_fans) for s, count in fans.items()}
    )
    private_key, public_key = write_apple_keys(tmp)
    window = 10.0
    spec = {
        "fans": accounts,
        "tokens_file": str(tmp / "tokens.json"),
        "apple_public_key_file": str(public_key),
        "rate_limits": {s: {"limit": int(args.rate * window), "window": window} for s in fans},
        "latency_ms": args.latency_ms,
    }
    (tmp / "spec.json").write_text(json.dumps(spec))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fulfilment.release_day",
            "simulator",
            "--port",
            str(port),
            "--spec",
            str(tmp / "spec.json"),
        ],
        env=env,
        cwd=ROOT,
    )
    template = ""
    try:
        wait_for_port(port, timeout=900)
        while not Path(spec["tokens_file"]).exists():
            time.sleep(0.2)
        key = Fernet.generate_key().decode()
        seeding = time.monotonic()
        if args.database == "sqlite":
            template_url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        else:
            template = f"ll_bench_{uuid.uuid4().hex[:8]}"
            _admin(f'CREATE DATABASE "{template}"')
            template_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{template}"
        upgrade_to_head(template_url)
        phases: list[str] = []
        total = asyncio.run(
            seed(template_url, spec["tokens_file"], key, expired=args.expired_tokens)
        )
        phases.append(f"{total:,} through the ORM {time.monotonic() - seeding:.0f} s")
        if args.database == "postgresql":
            began = time.monotonic()
            copies = multiply(template_url, fans, accounts)
            total += copies
            phases.append(f"{copies:,} copied in SQL {time.monotonic() - began:.0f} s")
            if args.window:
                began = time.monotonic()
                queue_all(template_url)
                phases.append(f"queued {time.monotonic() - began:.0f} s")
            began = time.monotonic()
            _admin_on(template, "VACUUM ANALYZE")
            phases.append(f"VACUUM ANALYZE {time.monotonic() - began:.0f} s")
        print(
            f"seeded {total:,} pre-saves {fans} in {time.monotonic() - seeding:.1f} s "
            f"({'; '.join(phases)}; {sum(accounts.values()):,} distinct simulator accounts"
            + (", every pre-save queued as a due job" if args.window else "")
            + ")",
            flush=True,
        )
        for workers in counts:
            if args.database == "sqlite":
                url = template_url
            else:
                cloning = time.monotonic()
                name = f"{template}_w{workers}"
                _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
                url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
                print(
                    f"cloned the seeded database for {workers} worker(s) in "
                    f"{time.monotonic() - cloning:.1f} s",
                    flush=True,
                )
            try:
                run = Run(args, url, workers, fans, accounts, total, key, port, private_key, tmp)
                run.go(env)
                run.report()
            finally:
                if args.database == "postgresql":
                    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
        if template:
            _admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement)


def _admin_on(database: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.rsplit("/", 1)[0] + f"/{database}", autocommit=True) as c:
        c.execute(statement)


def _id(kind: int, n: str) -> str:
    """A distinct UUID per (kind, n) computed by PostgreSQL: kind in the first 8 hex digits,
    n in the last 15 (version 7 and variant bits set, as ``uuid7`` ids have)."""
    return f"uuid(lpad(to_hex({kind}), 8, '0') || '00007000' || '8' || lpad(to_hex({n}), 15, '0'))"


def multiply(url: str, fans: dict[str, int], accounts: dict[str, int]) -> int:
    """Copy the seeded pre-saves (one per simulator account) server-side until each service
    has ``fans[service]``: every copy is a new fan, grant (its account id suffixed, its
    tokens those of the account it copies) and waiting pre-save. Returns rows added."""
    import psycopg

    database = url.rsplit("/", 1)[1]
    added = 0
    with psycopg.connect(ADMIN_URL.rsplit("/", 1)[0] + f"/{database}") as connection:

        def columns(table: str) -> list[str]:
            rows = connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                " AND table_schema = 'public' ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            return [str(row[0]) for row in rows]

        connection.execute(
            "CREATE TEMP TABLE pool AS SELECT p.service, p.fan_id, p.grant_id, p.id AS presave_id,"
            " row_number() OVER (PARTITION BY p.service ORDER BY p.id) - 1 AS k FROM presave p"
        )
        connection.execute("CREATE INDEX ON pool (service, k)")
        tables = {
            "fan": ("f", "fan_id", {"id": _id(1, "n")}),
            "service_grant": (
                "g",
                "grant_id",
                {
                    "id": _id(2, "n"),
                    "fan_id": _id(1, "n"),
                    "account_id": "g.account_id || ':' || n",
                },
            ),
            "presave": (
                "p",
                "presave_id",
                {"id": _id(3, "n"), "fan_id": _id(1, "n"), "grant_id": _id(2, "n")},
            ),
        }
        offset = 0
        for service, count in fans.items():
            pool = accounts[service]
            if count > pool:
                for table, (alias, key, fresh) in tables.items():
                    names = columns(table)
                    values = [fresh.get(name, f"{alias}.{name}") for name in names]
                    connection.execute(
                        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608 - bench SQL
                        f"SELECT {', '.join(values)} FROM generate_series(%(lo)s::bigint, "
                        f"%(hi)s::bigint) AS n JOIN pool ON pool.service = %(service)s "
                        f"AND pool.k = (n - %(offset)s) %% %(pool)s "
                        f"JOIN {table} AS {alias} ON {alias}.id = pool.{key}",
                        {
                            "lo": offset + pool,
                            "hi": offset + count - 1,
                            "service": service,
                            "offset": offset,
                            "pool": pool,
                        },
                    )
                added += count - pool
            offset += count
        connection.commit()
    return added


def queue_all(url: str) -> None:
    """Every waiting pre-save due now, as the scheduler queues them (``promote_due``: state
    ``due``, a ``presave_event``, an open job claimable now), in three set-based statements:
    the million are queued before the workers start, so the window measures fulfilment."""
    import psycopg

    database = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL.rsplit("/", 1)[0] + f"/{database}") as connection:
        connection.execute(
            "INSERT INTO fulfilment_job (id, presave_id, release_id, service, open,"
            " next_attempt_at, claims, attempts, created_at) SELECT gen_random_uuid(), id,"
            " release_id, service, true, now(), 0, 0, now() FROM presave WHERE state = 'waiting'"
        )
        connection.execute(
            "INSERT INTO presave_event (id, presave_id, state, at) SELECT gen_random_uuid(),"
            " id, 'due', now() FROM presave WHERE state = 'waiting'"
        )
        connection.execute(
            "UPDATE presave SET state = 'due', updated_at = now() WHERE state = 'waiting'"
        )
        connection.commit()


class Run:
    """One set of worker processes on one database: drained, or measured over a window."""

    def __init__(
        self,
        args: argparse.Namespace,
        url: str,
        workers: int,
        fans: dict[str, int],
        accounts: dict[str, int],
        total: int,
        key: str,
        port: int,
        private_key: Path,
        tmp: Path,
    ) -> None:
        self.args = args
        self.url = url
        self.workers = workers
        self.fans = fans
        self.accounts = accounts
        self.total = total
        self.key = key
        self.port = port
        self.private_key = private_key
        self.tmp = tmp
        self.lines: list[str] = []

    def go(self, env: dict[str, str]) -> None:
        args = self.args
        worker_env = env | {
            "LAUNCHLINK_DATABASE_URL": self.url,
            "LAUNCHLINK_ENCRYPTION_KEYS": self.key,
            "LAUNCHLINK_VAR_DIR": str(self.tmp / "var"),
            "LAUNCHLINK_FULFILMENT__CONCURRENCY": "64",
            "LAUNCHLINK_FULFILMENT__CLAIM_BATCH": "100",
            "LAUNCHLINK_FULFILMENT__SCHEDULER_SECONDS": "1",
            "LAUNCHLINK_FULFILMENT__IDLE_POLL_SECONDS": "0.2",
            "LAUNCHLINK_FULFILMENT__RATE_LIMITS": json.dumps(
                dict.fromkeys(self.fans, args.rate * args.ceiling)
            ),
            "RELEASE_DAY_SIMULATOR": f"http://127.0.0.1:{self.port}",
            "RELEASE_DAY_APPLE_KEY": str(self.private_key),
        }
        if args.database == "postgresql":
            import redis

            redis.Redis.from_url(LIMITER_REDIS).flushdb()
            worker_env["LAUNCHLINK_REDIS_URL"] = LIMITER_REDIS
        started_at = datetime.now().astimezone()
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.fulfilment.release_day", "worker"],
                env=worker_env,
                cwd=ROOT,
                stderr=(self.tmp / f"worker-{self.workers}-{n}.log").open("wb"),
            )
            for n in range(self.workers)
        ]
        self.meter = CpuMeter([proc.pid for proc in procs], self.simulator_pid())
        self.rss_at: list[tuple[int, float]] = []
        self.peaks: list[float] = []
        try:
            if args.window:
                self.measured = asyncio.run(_window(self, procs))
            else:
                self.finished = asyncio.run(
                    _wait_done(self.url, self.total, procs, self.meter, self.rss_at)
                )
                self.elapsed = time.monotonic() - started
                self.per_service = asyncio.run(_finish_times(self.url, started_at))
            self.peaks = [peak_rss_mb(proc.pid) for proc in procs]
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)

    def simulator_pid(self) -> int:
        for line in subprocess.run(
            ["pgrep", "-f", f"release_day simulator --port {self.port}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split():
            return int(line)
        return 0

    def report(self) -> None:
        if self.args.window:
            _report_window(self)
        else:
            _report_drain(self)


LIMITER_REDIS = "redis://127.0.0.1:6379/12"


def _describe(run: Run) -> str:
    args = run.args
    return (
        f"{run.total:,} pre-saves {run.fans}, R = {args.rate:.0f} req/s per app (simulator: "
        f"{int(args.rate * 10)} requests / 10 s per app on every service, Deezer's quota "
        f"included), engine ceiling {args.ceiling:.0%} of R = {args.rate * args.ceiling:.0f} "
        f"req/s, {args.latency_ms:.0f} ms latency, {args.database}, {run.workers} worker "
        "process(es)"
    )


def _cpu_line(run: Run, spent: tuple[float, float, float], fulfilled: int) -> str:
    worker_cpu, simulator_cpu, postgres_cpu = spent
    per = 1000 / max(1, fulfilled)
    return (
        f"  CPU per fulfilled pre-save: workers {worker_cpu * per:.2f} ms "
        f"({worker_cpu:.1f} s over {run.workers} process(es)), simulator "
        f"{simulator_cpu * per:.2f} ms ({simulator_cpu:.1f} s), PostgreSQL backends "
        f"{postgres_cpu * per:.2f} ms ({postgres_cpu:.1f} s); load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def _report_drain(run: Run) -> None:
    args = run.args
    ideal = max(count * requests_per_presave(s) / args.rate for s, count in run.fans.items())
    print(f"\nfulfilment benchmark: {_describe(run)}")
    print(
        f"  finished {run.finished}/{run.total} in {run.elapsed:.1f} s; ideal {ideal:.1f} s; "
        f"utilisation {ideal / run.elapsed:.2f}"
    )
    for service, (count, seconds) in run.per_service.items():
        service_ideal = count * requests_per_presave(service) / args.rate
        print(
            f"  {service:12s} {count:6d} done in {seconds:6.1f} s, ideal {service_ideal:6.1f} s "
            f"({requests_per_presave(service):.0f} request(s) each), "
            f"utilisation {service_ideal / seconds:.2f}"
        )
    print(f"  peak worker memory (VmHWM) {max(run.peaks, default=0):.0f} MB")
    print(_cpu_line(run, run.meter.spent(), run.finished))
    steady = run.meter.steady_ms(run.finished)
    if steady is not None:
        print(f"  worker CPU per pre-save after the first tenth (no start-up): {steady:.2f} ms")
    if run.rss_at:
        marks = ", ".join(f"{done}: {mb:.0f} MB" for done, mb in run.rss_at)
        print(f"  largest worker RSS by pre-saves final: {marks}")


async def _wait_done(
    url: str,
    total: int,
    procs: list[subprocess.Popen[bytes]],
    meter: CpuMeter,
    rss_at: list[tuple[int, float]],
) -> int:
    """Poll until every pre-save is final; sample CPU and, at each tenth of the run, the
    largest worker's RSS (how memory grows with the pre-saves behind it)."""
    from sqlalchemy import func, select, text

    from launchlink.db import Database
    from launchlink.models.presave import FINAL_PRESAVE_STATES, Presave

    database = Database(url)
    step = max(1, total // 10)
    # The count scans the pre-saves: every 2 s at a million it would be a load of its own.
    poll = max(2.0, total / 50_000)
    try:
        while True:
            await asyncio.sleep(poll)
            async with database.transaction() as session:
                done = await session.scalar(
                    select(func.count()).where(Presave.state.in_(FINAL_PRESAVE_STATES))
                )
                backends = list(
                    await session.scalars(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> pg_backend_pid()"
                        )
                    )
                    if database.dialect == "postgresql"
                    else []
                )
            meter.sample(backends)
            meter.mark(int(done or 0), total)
            peak = max(peak_rss_mb(p.pid) for p in procs)
            largest = max(rss_mb(p.pid) for p in procs)
            if done and (not rss_at or done // step > rss_at[-1][0] // step):
                rss_at.append((int(done), largest))
            print(f"  {done}/{total} final, worker peak {peak:.0f} MB", flush=True)
            if done is not None and done >= total:
                return int(done)
    finally:
        await database.dispose()


async def _finish_times(url: str, started_at: datetime) -> dict[str, tuple[int, float]]:
    from sqlalchemy import func, select

    from launchlink.db import Database
    from launchlink.models.presave import Presave

    database = Database(url)
    try:
        async with database.transaction() as session:
            rows = (
                await session.execute(
                    select(Presave.service, func.count(), func.max(Presave.finished_at)).group_by(
                        Presave.service
                    )
                )
            ).all()
    finally:
        await database.dispose()
    return {row[0]: (int(row[1]), (row[2] - started_at).total_seconds()) for row in rows}


@dataclass
class Snapshot:
    at: float
    final: dict[str, int]
    open_presaves: dict[str, int]
    open_jobs: int


@dataclass
class Window:
    warmup: float
    start: Snapshot
    end: Snapshot
    spent: tuple[float, float, float]
    largest_rss: list[float]


async def _snapshot(database: Any) -> Snapshot:
    from sqlalchemy import func, select

    from launchlink.models.fulfilment import FulfilmentJob
    from launchlink.models.presave import FINAL_PRESAVE_STATES, Presave

    at = time.monotonic()
    async with database.transaction() as session:
        final = Presave.state.in_(FINAL_PRESAVE_STATES)
        rows = (
            await session.execute(
                select(
                    Presave.service,
                    func.count().filter(final),
                    func.count().filter(~final),
                ).group_by(Presave.service)
            )
        ).all()
        jobs = await session.scalar(
            select(func.count()).select_from(FulfilmentJob).where(FulfilmentJob.open.is_(True))
        )
    return Snapshot(
        at,
        {row[0]: int(row[1]) for row in rows},
        {row[0]: int(row[2]) for row in rows},
        int(jobs or 0),
    )


async def _window(run: Run, procs: list[subprocess.Popen[bytes]]) -> Window:
    """Warm up, then measure --window seconds: pre-saves made final per service (counted
    at both ends), CPU of workers, simulator and PostgreSQL backends in between, and the
    RSS of each worker sampled every 2 s through the whole run."""
    from sqlalchemy import text

    from launchlink.db import Database

    database = Database(run.url)
    launched = time.monotonic()
    largest = [0.0] * len(procs)

    async def sample() -> None:
        async with database.transaction() as session:
            backends = list(
                await session.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()"
                    )
                )
            )
        run.meter.sample(backends)
        for n, proc in enumerate(procs):
            largest[n] = max(largest[n], rss_mb(proc.pid))
            if proc.poll() is not None:
                raise SystemExit(f"worker {n} exited with {proc.returncode}: see {run.tmp}")

    async def sample_until(deadline: float) -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
            await sample()

    async def any_final() -> bool:
        from sqlalchemy import exists, select

        from launchlink.models.presave import FINAL_PRESAVE_STATES, Presave

        async with database.transaction() as session:
            return bool(
                await session.scalar(
                    select(exists().where(Presave.state.in_(FINAL_PRESAVE_STATES)))
                )
            )

    try:
        # Warm-up counts from the first pre-save made final: on a loaded machine start-up
        # (imports, connections, the release's lookups) alone can take a minute.
        while not await any_final():
            await sample_until(time.monotonic() + 2)
        first = time.monotonic()
        print(f"  first pre-save final {first - launched:.0f} s after launch", flush=True)
        await sample_until(first + run.args.warmup)
        start = await _snapshot(database)
        await sample()
        before = run.meter.spent()
        print(
            f"  window starts after {start.at - launched:.0f} s: "
            f"{sum(start.final.values()):,} final so far, {start.open_jobs:,} open jobs",
            flush=True,
        )
        await sample_until(start.at + run.args.window)
        end = await _snapshot(database)
        await sample()
        after = run.meter.spent()
    finally:
        await database.dispose()
    spent = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    return Window(start.at - launched, start, end, spent, largest)


def _report_window(run: Run) -> None:
    args = run.args
    window: Window = run.measured
    seconds = window.end.at - window.start.at
    fulfilled = {s: window.end.final.get(s, 0) - window.start.final.get(s, 0) for s in run.fans}
    ceiling = args.rate * args.ceiling
    print(f"\nfulfilment benchmark, steady-state window: {_describe(run)}")
    print(
        f"  queued: all {run.total:,} pre-saves were due jobs before the workers started; "
        f"open pre-saves at the window's start {sum(window.start.open_presaves.values()):,} "
        f"({window.start.open_jobs:,} open jobs), at its end "
        f"{sum(window.end.open_presaves.values()):,} ({window.end.open_jobs:,} open jobs)"
    )
    print(
        f"  window: {seconds:.1f} s, from {window.warmup:.0f} s after the workers' launch "
        f"({run.args.warmup:.0f} s after the first pre-save final); "
        f"fulfilled in the window: {sum(fulfilled.values()):,} of the {run.total:,} "
        "(the queue was not drained: this is a rate, not a completion time)"
    )
    rates = []
    for service, count in fulfilled.items():
        requests = count * requests_per_presave(service) / seconds
        rates.append(requests / ceiling)
        left = window.end.open_presaves.get(service, 0)
        note = "" if left else "  (DRAINED during the window: the rate is a lower bound)"
        print(
            f"  {service:12s} {count:7,d} final in the window, {requests:6.1f} requests/s "
            f"({requests_per_presave(service):.0f} per pre-save) against a ceiling of "
            f"{ceiling:.0f}: utilisation {requests / ceiling:.2f} of the ceiling "
            f"({requests / args.rate:.2f} of R); {left:,} still open{note}"
        )
        if count > run.accounts[service]:
            print(
                f"  {service:12s} note: more pre-saves than its {run.accounts[service]:,} "
                "simulator accounts were fulfilled: their saves repeat (answered 'already')"
            )
    print(f"  utilisation of the ceiling, lowest service: {min(rates):.2f} (target >= 0.9)")
    print(
        "  peak RSS per worker (VmHWM): "
        + ", ".join(f"{mb:.0f} MB" for mb in run.peaks)
        + "; largest RSS sampled: "
        + ", ".join(f"{mb:.0f} MB" for mb in window.largest_rss)
        + " (target < 300 MB)"
    )
    print(_cpu_line(run, window.spent, sum(fulfilled.values())).replace(":", " in the window:", 1))


if __name__ == "__main__":
    main()
