"""Smart-link hot path vs a bare raw-ASGI hello world, both on granian, driven by wrk.

Runs (by default) one granian worker pinned to CPU 0 and wrk pinned to CPU 1, against:
the `demo` page, the `demo/spotify` redirect, and the baseline app. Prints requests/s,
p99 latency and the ratios page/baseline and redirect/baseline (targets: page >= 0.5,
redirect >= 0.6). Needs Debian's `wrk`. Usage: python bench/smartlink.py [--duration 10]

``--capture``: the cost of analytics capture on the redirect, measured soundly on a
shared machine. Two app servers run side by side on CPU 0, one with capture off
(``LAUNCHLINK_ANALYTICS__ENABLED=false``) and one with it on (shipping to the inbox as a
web process with workers does), and the redirect is driven on each in turn, ``--rounds``
times, alternating which goes first; each run also records the server's CPU time (its
process tree, from /proc), so CPU per request compares the two even when the neighbours'
load moves. Prints per round and the median of the on/off ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
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


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (granian serves from a
    child), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def capture_cost(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Interleaved off/on rounds of the redirect in one run (see the module docstring)."""
    ports = {"off": free_port(), "on": free_port()}
    servers: dict[str, subprocess.Popen[bytes]] = {}
    for mode, port in ports.items():
        servers[mode] = subprocess.Popen(
            [*pinned("0"), VENV_BIN / "launchlink", "serve", "--port", str(port), "--no-migrate"],
            env={**env, "LAUNCHLINK_ANALYTICS__ENABLED": "true" if mode == "on" else "false",
                 "LAUNCHLINK_PUBLIC_URL": f"http://127.0.0.1:{port}"},
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    rounds: list[dict[str, tuple[Result, float]]] = []
    try:
        for port in ports.values():
            wait_for("127.0.0.1", port, "/demo", timeout=180)  # two start at once
        for port in ports.values():
            url = f"http://127.0.0.1:{port}/demo/spotify"
            run_wrk("warm-up", url, duration=3, connections=args.connections)
        for number in range(args.rounds):
            order = ["off", "on"] if number % 2 == 0 else ["on", "off"]
            found: dict[str, tuple[Result, float]] = {}
            for mode in order:
                url = f"http://127.0.0.1:{ports[mode]}/demo/spotify"
                before = tree_cpu_seconds(servers[mode].pid)
                result = run_wrk(mode, url, duration=args.duration, connections=args.connections)
                cpu = tree_cpu_seconds(servers[mode].pid) - before
                requests = result.requests_per_second * args.duration
                found[mode] = (result, 1e6 * cpu / max(1.0, requests))
            rounds.append(found)
            off, on = found["off"], found["on"]
            ratio = on[0].requests_per_second / off[0].requests_per_second
            print(
                f"round {number + 1} ({order[0]} first): off {off[0].requests_per_second:,.0f} "
                f"req/s {off[1]:.1f} us CPU/req p99 {off[0].p99_ms:.1f} ms | on "
                f"{on[0].requests_per_second:,.0f} req/s {on[1]:.1f} us CPU/req p99 "
                f"{on[0].p99_ms:.1f} ms | on/off {ratio:.3f}",
                flush=True,
            )
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=20)
    ratios = [r["on"][0].requests_per_second / r["off"][0].requests_per_second for r in rounds]
    cpu_off = statistics.median(r["off"][1] for r in rounds)
    cpu_on = statistics.median(r["on"][1] for r in rounds)
    print(
        f"\ncapture on/off req/s: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {len(ratios)} rounds); "
        f"server CPU per request: off {cpu_off:.1f} us, on {cpu_on:.1f} us "
        f"(+{100 * (cpu_on / cpu_off - 1):.1f} %)"
    )
    print(
        f"(granian 1 worker per server, both on CPU 0, wrk -t1 -c{args.connections} on CPU 1, "
        f"{args.rounds} interleaved rounds x {args.duration} s; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    parser.add_argument(
        "--capture", action="store_true", help="capture off vs on, interleaved, on the redirect"
    )
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
    if args.capture:
        try:
            capture_cost(args, env)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return

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
