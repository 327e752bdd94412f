"""Run ``launchlink serve`` in a subprocess for tests that need a real HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        """Resident memory of the server and its children (granian serves from a child)."""
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in children:
            found.append(int(child))
            found.extend(_children(int(child)))
    return found


@contextmanager
def running_server(
    env: dict[str, str], *, server: str = "uvicorn", port: int | None = None
) -> Iterator[RunningServer]:
    """``port``: given when the settings must name it (``LAUNCHLINK_PUBLIC_URL``)."""
    port = port or free_port()
    # A file, not a pipe: a chatty server cannot block on it.
    with tempfile.TemporaryFile() as log:
        yield from _serve(env, ["serve", "--server", server, "--port", str(port)], port, log)


@contextmanager
def running_web(env: dict[str, str], *, workers: int = 1) -> Iterator[RunningServer]:
    """``launchlink web`` (the scaled form: granian, no embedded worker)."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        command = ["web", "--port", str(port), "--workers", str(workers)]
        # Spawned workers import the whole app afresh: slow on a busy 2-core machine.
        yield from _serve(env, command, port, log, startup_seconds=180)


def _serve(
    env: dict[str, str],
    command: list[str],
    port: int,
    log: IO[bytes],
    *,
    startup_seconds: float = 60,
) -> Iterator[RunningServer]:
    launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
    process = subprocess.Popen(
        [launchlink, *command],
        env={**os.environ, "LAUNCHLINK_ENVIRONMENT": "test", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start within {startup_seconds:.0f} s")
            time.sleep(0.2)
        yield RunningServer(port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
