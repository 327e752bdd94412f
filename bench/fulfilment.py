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
from datetime import datetime
from pathlib import Path

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
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument(
        "--expired-tokens",
        action="store_true",
        help="store Spotify access tokens as expired: every Spotify fan is refreshed first",
    )
    args = parser.parse_args()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="ll-bench-"))
    print(f"scratch directory (worker logs): {tmp}", flush=True)
    fans = {s: int(args.presaves * share) for s, share in SHARES.items()}
    fans["spotify"] += args.presaves - sum(fans.values())
    private_key, public_key = write_apple_keys(tmp)
    window = 10.0
    spec = {
        "fans": fans,
        "tokens_file": str(tmp / "tokens.json"),
        "apple_public_key_file": str(public_key),
        "rate_limits": {s: {"limit": int(args.rate * window), "window": window} for s in fans},
        "latency_ms": args.latency_ms,
    }
    (tmp / "spec.json").write_text(json.dumps(spec))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    name = ""
    if args.database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        workers = 1
    else:
        import psycopg

        name = f"ll_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        workers = args.workers
    upgrade_to_head(url)
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
    procs: list[subprocess.Popen[bytes]] = []
    try:
        wait_for_port(port, timeout=600)
        while not Path(spec["tokens_file"]).exists():
            time.sleep(0.2)
        key = Fernet.generate_key().decode()
        total = asyncio.run(seed(url, spec["tokens_file"], key, expired=args.expired_tokens))
        worker_env = env | {
            "LAUNCHLINK_DATABASE_URL": url,
            "LAUNCHLINK_ENCRYPTION_KEYS": key,
            "LAUNCHLINK_VAR_DIR": str(tmp / "var"),
            "LAUNCHLINK_FULFILMENT__CONCURRENCY": "64",
            "LAUNCHLINK_FULFILMENT__CLAIM_BATCH": "100",
            "LAUNCHLINK_FULFILMENT__SCHEDULER_SECONDS": "1",
            "LAUNCHLINK_FULFILMENT__IDLE_POLL_SECONDS": "0.2",
            "LAUNCHLINK_FULFILMENT__RATE_LIMITS": json.dumps(
                dict.fromkeys(fans, args.rate * args.ceiling)
            ),
            "RELEASE_DAY_SIMULATOR": f"http://127.0.0.1:{port}",
            "RELEASE_DAY_APPLE_KEY": str(private_key),
        }
        if args.database == "postgresql":
            import redis

            redis.Redis.from_url("redis://127.0.0.1:6379/12").flushdb()
            worker_env["LAUNCHLINK_REDIS_URL"] = "redis://127.0.0.1:6379/12"
        started_at = datetime.now().astimezone()
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.fulfilment.release_day", "worker"],
                env=worker_env,
                cwd=ROOT,
                stderr=(tmp / f"worker-{n}.log").open("wb"),
            )
            for n in range(workers)
        ]
        peak = 0.0
        meter = CpuMeter([proc.pid for proc in procs], simulator.pid)
        rss_at: list[tuple[int, float]] = []
        finished = asyncio.run(_wait_done(url, total, procs, meter, rss_at))
        elapsed = time.monotonic() - started
        for proc in procs:
            peak = max(peak, peak_rss_mb(proc.pid))
        per_service = asyncio.run(_finish_times(url, started_at))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        simulator.terminate()
        simulator.wait(timeout=30)
        if args.database == "postgresql":
            import psycopg

            with psycopg.connect(
                "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
            ) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ideal = max(count * requests_per_presave(s) / args.rate for s, count in fans.items())
    print(
        f"\nfulfilment benchmark: {total} pre-saves {fans}, R = {args.rate:.0f} req/s per app "
        f"(simulator: {int(args.rate * window)} requests / {window:.0f} s per app on every "
        f"service, Deezer's quota included), engine ceiling {args.ceiling:.0%} of R, "
        f"{args.latency_ms:.0f} ms latency, {args.database}, {workers} worker process(es)"
    )
    print(
        f"  finished {finished}/{total} in {elapsed:.1f} s; ideal {ideal:.1f} s; "
        f"utilisation {ideal / elapsed:.2f}"
    )
    for service, (count, seconds) in per_service.items():
        service_ideal = count * requests_per_presave(service) / args.rate
        print(
            f"  {service:12s} {count:6d} done in {seconds:6.1f} s, ideal {service_ideal:6.1f} s "
            f"({requests_per_presave(service):.0f} request(s) each), "
            f"utilisation {service_ideal / seconds:.2f}"
        )
    print(f"  peak worker memory (VmHWM) {peak:.0f} MB")
    worker_cpu, simulator_cpu, postgres_cpu = meter.spent()
    per = 1000 / max(1, finished)
    print(
        f"  CPU per fulfilled pre-save: workers {worker_cpu * per:.2f} ms "
        f"({worker_cpu:.1f} s over {workers} process(es)), simulator "
        f"{simulator_cpu * per:.2f} ms ({simulator_cpu:.1f} s), PostgreSQL backends "
        f"{postgres_cpu * per:.2f} ms ({postgres_cpu:.1f} s); load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    steady = meter.steady_ms(finished)
    if steady is not None:
        print(f"  worker CPU per pre-save after the first tenth (no start-up): {steady:.2f} ms")
    if rss_at:
        marks = ", ".join(f"{done}: {mb:.0f} MB" for done, mb in rss_at)
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


if __name__ == "__main__":
    main()
