"""Smart-link hot path vs a bare raw-ASGI hello world, both on granian, driven by wrk.

Runs (by default) one granian worker pinned to CPU 0 and wrk pinned to CPU 1, against:
the `demo` page, the `demo/spotify` redirect, and the baseline app. Prints requests/s,
p99 latency and the ratios page/baseline and redirect/baseline (targets: page >= 0.5,
redirect >= 0.6). Needs Debian's `wrk`. Usage: python bench/smartlink.py [--duration 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


@dataclass
class Result:
    name: str
    requests_per_second: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url_host: str, port: int, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((url_host, port), timeout=1) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {url_host}\r\n\r\n".encode())
                if sock.recv(12).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer {path} within {timeout} s")


def pinned(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def run_wrk(name: str, url: str, *, duration: int, connections: int) -> Result:
    command = [
        *pinned("1"), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
        "-H", f"User-Agent: {PHONE_UA}", "-H", "Accept-Language: en-GB,en;q=0.8", url,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99_match = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    assert p99_match is not None, output
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_match.group(2)]
    return Result(name, rps, float(p99_match.group(1)) * factor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="launchlink-bench-"))
    env = {
        **os.environ,
        "LAUNCHLINK_VAR_DIR": str(work),
        "LAUNCHLINK_DATABASE_URL": f"sqlite+aiosqlite:///{work}/bench.sqlite3",
        "LAUNCHLINK_EMBEDDED_WORKER": "false",
    }
    subprocess.run([VENV_BIN / "launchlink", "migrate"], env=env, check=True, cwd=ROOT)
    subprocess.run([VENV_BIN / "launchlink", "demo"], env=env, check=True, cwd=ROOT)

    app_port, baseline_port = free_port(), free_port()
    env["LAUNCHLINK_PUBLIC_URL"] = f"http://127.0.0.1:{app_port}"
    servers = [
        subprocess.Popen(
            [
                *pinned("0"), VENV_BIN / "launchlink", "serve", "--port", str(app_port),
                "--no-migrate",
            ],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                *pinned("0"), VENV_BIN / "granian", "--interface", "asgi", "--port",
                str(baseline_port), "--workers", "1", "--no-log", "baseline_app:app",
            ],
            cwd=ROOT / "bench", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        wait_for("127.0.0.1", app_port, "/demo")
        wait_for("127.0.0.1", baseline_port, "/")
        targets = {
            "page /demo": f"http://127.0.0.1:{app_port}/demo",
            "redirect /demo/spotify": f"http://127.0.0.1:{app_port}/demo/spotify",
            "baseline hello": f"http://127.0.0.1:{baseline_port}/",
        }
        for url in targets.values():  # warm caches and JIT-free paths alike
            run_wrk("warm-up", url, duration=2, connections=args.connections)
        samples: dict[str, list[Result]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                samples[name].append(
                    run_wrk(name, url, duration=args.duration, connections=args.connections)
                )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    def median(results: list[Result]) -> Result:
        ordered = sorted(results, key=lambda r: r.requests_per_second)
        return ordered[len(ordered) // 2]

    best = {name: median(results) for name, results in samples.items()}
    print(f"\n{'target':<26}{'req/s':>12}{'p99 ms':>10}")
    for name, result in best.items():
        print(f"{name:<26}{result.requests_per_second:>12.0f}{result.p99_ms:>10.2f}")
    baseline = best["baseline hello"].requests_per_second
    page_ratio = best["page /demo"].requests_per_second / baseline
    redirect_ratio = best["redirect /demo/spotify"].requests_per_second / baseline
    print(f"\npage/baseline     {page_ratio:.2f}  (target >= 0.50)")
    print(f"redirect/baseline {redirect_ratio:.2f}  (target >= 0.60)")
    print(
        f"(granian 1 worker on CPU 0, wrk -t1 -c{args.connections} on CPU 1, "
        f"{args.rounds} rounds x {args.duration} s, median)"
    )


if __name__ == "__main__":
    main()
