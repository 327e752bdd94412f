"""Scaling out on PostgreSQL + Redis: web processes, worker processes, and both at once.

Three parts (``--part``, default all):

* ``web`` — smart-link redirects/s (``/demo/spotify``, an iPhone user agent) served by
  ``launchlink web --workers 1`` and ``--workers 2`` on PostgreSQL + Redis, driven by
  ``wrk``; prints both, p99 and the 2/1 ratio (target >= 1.7 on 2 cores — note that wrk
  runs on the same 2 cores, so the second web process competes with the load generator).
* ``fulfilment`` — ``bench/fulfilment.py`` with 1, 2 and 4 worker processes on PostgreSQL
  (``--workers-list``), utilisation of the configured ceiling and peak RSS per worker.
* ``p99`` — the redirect's p99 with nothing else running, then while a fulfilment run
  (``--p99-presaves``) runs on the same machine.

Needs PostgreSQL on 127.0.0.1:5432 (trust), Redis on 127.0.0.1:6379 (db 9) and Debian's
``wrk``. Scratch databases are dropped afterwards. Not a test: run it by hand.

    .venv/bin/python bench/scale.py --part web --duration 10
    .venv/bin/python bench/scale.py --part fulfilment --presaves 20000 --workers-list 1,2,4
    .venv/bin/python bench/scale.py --part fulfilment --presaves 1000000 --rate 100 \
        --window 300 --warmup 90 --workers-list 1,2,4
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from smartlink import free_port, run_wrk, wait_for  # noqa: E402

VENV_BIN = Path(sys.executable).parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/9"


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"launchlink_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seeded_env(url: str, work: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LAUNCHLINK_VAR_DIR": str(work),
        "LAUNCHLINK_DATABASE_URL": url,
        "LAUNCHLINK_REDIS_URL": REDIS,
        "LAUNCHLINK_EMBEDDED_WORKER": "false",
        "LAUNCHLINK_DATABASE_POOL_SIZE": "4",
        "LAUNCHLINK_OPS__LOG_FORMAT": "text",
    }
    subprocess.run([VENV_BIN / "launchlink", "migrate"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [VENV_BIN / "launchlink", "demo"], env=env, check=True, cwd=ROOT, capture_output=True
    )
    return env


@contextmanager
def web(env: dict[str, str], workers: int) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [VENV_BIN / "launchlink", "web", "--port", str(port), "--workers", str(workers)],
        env={**env, "LAUNCHLINK_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for("127.0.0.1", port, "/healthz", timeout=180)
        yield f"http://127.0.0.1:{port}/demo/spotify"
    finally:
        process.terminate()
        process.wait(timeout=30)


def part_web(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="launchlink-scale-"))
    try:
        with scratch_database() as url:
            env = seeded_env(url, work)
            samples: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
            for _ in range(args.rounds):
                for workers in (1, 2):
                    with web(env, workers) as target:
                        run_wrk("warm-up", target, duration=2, connections=args.connections)
                        result = run_wrk(
                            f"{workers}",
                            target,
                            duration=args.duration,
                            connections=args.connections,
                        )
                    samples[workers].append((result.requests_per_second, result.p99_ms))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = {workers: sorted(found)[len(found) // 2] for workers, found in samples.items()}
    print(
        f"\nweb processes on PostgreSQL + Redis, redirect /demo/spotify, wrk -c{args.connections}"
    )
    for workers, (rps, p99) in best.items():
        print(f"  {workers} process(es): {rps:10,.0f} req/s   p99 {p99:7.2f} ms")
    print(f"  2/1 = {best[2][0] / best[1][0]:.2f} (target >= 1.7)")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")


def part_fulfilment(args: argparse.Namespace) -> None:
    """One ``bench/fulfilment.py`` run for every worker count: it seeds the pre-saves once
    and runs each count on a clone of that database (``CREATE DATABASE … TEMPLATE``). With
    ``--window`` each count is measured over a steady-state window of a queue that does not
    drain (a million at R = 100 would take hours per count); without, each drains."""
    command = [
        sys.executable, str(ROOT / "bench" / "fulfilment.py"), "--presaves", str(args.presaves),
        "--workers-list", args.workers_list, "--database", "postgresql", "--rate", str(args.rate),
    ]  # fmt: skip
    if args.window:
        command += ["--window", str(args.window), "--warmup", str(args.warmup)]
    print(f"\nfulfilment on PostgreSQL + Redis, {args.presaves:,} pre-saves, R = {args.rate}")
    print("  " + " ".join(command[1:]), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def part_p99(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="launchlink-scale-"))
    try:
        with scratch_database() as url:
            env = seeded_env(url, work)
            with web(env, 1) as target:
                run_wrk("warm-up", target, duration=2, connections=args.connections)
                idle = run_wrk("idle", target, duration=args.duration, connections=args.connections)
                run = subprocess.Popen(
                    [
                        sys.executable, str(ROOT / "bench" / "fulfilment.py"), "--presaves",
                        str(args.p99_presaves), "--workers", "2", "--database", "postgresql",
                        "--rate", str(args.rate),
                    ],
                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                try:
                    time.sleep(args.p99_warmup)  # seeding done, workers running
                    busy = run_wrk(
                        "busy", target, duration=args.duration, connections=args.connections
                    )
                    still_running = run.poll() is None
                finally:
                    run.terminate()
                    run.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nredirect p99, 1 web process, wrk -c{args.connections}")
    print(
        f"  idle:              {idle.requests_per_second:10,.0f} req/s  p99 {idle.p99_ms:7.2f} ms"
    )
    print(
        f"  during fulfilment: {busy.requests_per_second:10,.0f} req/s  p99 {busy.p99_ms:7.2f} ms"
        f"  ({args.p99_presaves} pre-saves, 2 workers; still running at the end: {still_running})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["web", "fulfilment", "p99", "all"], default="all")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median)")
    parser.add_argument("--presaves", type=int, default=5000, help="per fulfilment run")
    parser.add_argument("--workers-list", default="1,2,4")
    parser.add_argument("--rate", type=float, default=150.0, help="per-app limit R (req/s)")
    parser.add_argument(
        "--window",
        type=float,
        default=0.0,
        help="fulfilment: measure this many seconds of steady state per worker count (0: drain)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="fulfilment: seconds from the first pre-save final to the window",
    )
    parser.add_argument("--p99-presaves", type=int, default=100_000)
    parser.add_argument("--p99-warmup", type=float, default=60.0, help="seconds before measuring")
    args = parser.parse_args()
    if args.part in ("web", "p99", "all") and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    if args.part in ("web", "all"):
        part_web(args)
    if args.part in ("fulfilment", "all"):
        part_fulfilment(args)
    if args.part in ("p99", "all"):
        part_p99(args)


if __name__ == "__main__":
    main()
