"""Benchmark: how many library writes per second the simulator sustains.

Starts the simulator in a subprocess (uvicorn, one worker, no access log), mints
tokens for many users through ``/_control/tokens``, then for a fixed time drives
``PUT /spotify/api/v1/me/library`` from a bounded number of concurrent httpx clients,
and, as a baseline on the same server, ``GET /_control/clock``. Prints sustained
requests/s, p50/p99 latency and the write/baseline ratio, then stops the server.

    .venv/bin/python bench/simulator.py [--seconds 10] [--concurrency 32] [--users 500]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

SERVER = """
import sys
from datetime import UTC, datetime, timedelta
import uvicorn
from launchlink.simulator import create_simulator_app
from launchlink.simulator.demo import demo_state
state = demo_state(upcoming_release_at=datetime.now(UTC) + timedelta(days=7))
state.upsert_app("spotify", "bench", client_secret="bench-secret", rate_limit=None)
uvicorn.run(create_simulator_app(state), host="127.0.0.1", port=int(sys.argv[1]),
            access_log=False, log_level="warning", workers=1)
"""


def cpu_seconds(pid: int) -> float:
    """User+system CPU time the server process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

    def line(self) -> str:
        per_request = self.server_cpu / self.requests * 1e6 if self.requests else 0.0
        capacity = self.requests / self.server_cpu if self.server_cpu else 0.0
        return (
            f"{self.label:<28} {self.rate:>7.0f} req/s   p50 {self.percentile(0.50):6.2f} ms   "
            f"p99 {self.percentile(0.99):6.2f} ms   errors {self.errors}/{self.requests}   "
            f"server CPU {per_request:5.0f} us/req (~{capacity:.0f} req/s per core)"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_up(root: str, deadline: float) -> None:
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{root}/_control/clock")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("simulator did not start in time")


async def drive(
    label: str,
    clients: list[httpx.AsyncClient],
    concurrency: int,
    seconds: float,
    make_request: object,
) -> Result:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    counter = itertools.count()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await make_request(client, next(counter))  # type: ignore[operator]
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(concurrency)))
    return Result(label, len(latencies), errors, time.perf_counter() - began, latencies)


async def run(seconds: float, concurrency: int, users: int, client_count: int) -> None:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        await wait_until_up(root, time.monotonic() + 20)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        clients = [
            httpx.AsyncClient(base_url=root, limits=limits, timeout=10) for _ in range(client_count)
        ]
        setup = clients[0]
        albums = (await setup.get("/_control/catalog/albums")).json()["albums"]
        uris = [
            f"spotify:album:{a['ids']['spotify']}"
            for a in albums
            if a["key"] == "midnight-cartography"
        ]
        uris += [f"spotify:track:{t['ids']['spotify']}" for a in albums[:1] for t in a["tracks"]]
        tokens = []
        for n in range(users):
            minted = await setup.post(
                "/_control/tokens",
                json={
                    "service": "spotify",
                    "client_id": "bench",
                    "user": f"bench-fan-{n}",
                    "scopes": ["user-library-modify"],
                    "ttl_seconds": 86_400,
                },
            )
            tokens.append({"Authorization": f"Bearer {minted.json()['access_token']}"})

        async def write(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.put(
                "/spotify/api/v1/me/library",
                params={"uris": uris[n % len(uris)]},
                headers=tokens[n % len(tokens)],
            )

        async def baseline(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.get("/_control/clock")

        await drive("warm-up", clients, concurrency, 1.0, write)
        before = cpu_seconds(server.pid)
        writes = await drive("PUT /me/library (write)", clients, concurrency, seconds, write)
        middle = cpu_seconds(server.pid)
        base = await drive("GET /_control/clock (base)", clients, concurrency, seconds, baseline)
        writes.server_cpu, base.server_cpu = middle - before, cpu_seconds(server.pid) - middle
        ledger = (
            await setup.get(
                "/_control/ledger", params={"service": "spotify", "user": "bench-fan-0"}
            )
        ).json()
        for client in clients:
            await client.aclose()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"simulator benchmark: {seconds:.0f} s per phase, {concurrency} concurrent requests, "
        f"{client_count} httpx clients, {users} users, uvicorn 1 worker, no access log"
    )
    print(writes.line())
    print(base.line())
    cpu_ratio = (base.server_cpu / base.requests) / (writes.server_cpu / writes.requests)
    print(
        f"write/baseline ratio: {writes.rate / base.rate:.2f} (throughput), "
        f"{cpu_ratio:.2f} (inverse server CPU per request)"
    )
    print(f"ledger rows for one user: {ledger['count']} (every write is recorded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency, args.users, args.clients))


if __name__ == "__main__":
    main()
