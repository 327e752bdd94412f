"""``launchlink fulfil --release ID``: plain progress lines when piped, a table that fits 80
columns, an exit when only parked work is left, ``--resume`` that runs parked jobs now."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
import uvicorn
from rich.console import Console
from sqlalchemy import select
from starlette.routing import Mount, Router
from typer.testing import CliRunner

from launchlink.cli import app
from launchlink.db import Database
from launchlink.fulfilment.console import progress_table
from launchlink.fulfilment.limiter import DatabaseLimiter
from launchlink.fulfilment.service import Progress, ServiceProgress
from launchlink.kit.crypto import TokenCipher
from launchlink.models.fulfilment import FulfilmentJob
from launchlink.models.presave import Presave, PresaveState
from launchlink.simulator.app import create_simulator_app
from launchlink.simulator.state import SimulatorState
from tests.fulfilment.harness import World, drain, make_world

KEY = "0" * 43 + "="  # a valid Fernet key shared by the test world and the command


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_ENCRYPTION_KEYS": KEY,
        "COLUMNS": "200",
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


async def _release_with_outcomes(database_url: str) -> UUID:
    database = Database(database_url)
    try:
        world = await make_world(database)
        later = datetime.now(UTC) + timedelta(days=10)  # not due: the worker leaves it
        await world.add_fan("spotify", user="later-1", due_at=later)
        saved = await world.add_fan("spotify", user="saved-1", due_at=later)
        async with database.transaction() as session:
            presave = await session.get(Presave, saved)
            assert presave is not None
            presave.state, presave.final_reason = PresaveState.done, "saved"
            presave.finished_at = datetime.now(UTC)
        return world.release_id
    finally:
        await database.dispose()


def test_piped_output_is_one_plain_line_per_interval_until_nothing_is_due(
    env: dict[str, str], database_url: str
) -> None:
    release_id = asyncio.run(_release_with_outcomes(database_url))

    code, output = invoke(env, "fulfil", "--release", str(release_id), "--interval", "0.2")

    assert code == 0, output
    assert "\x1b" not in output  # no colour, no cursor movement: CliRunner is not a TTY
    lines = output.splitlines()
    progress = [line for line in lines if " spotify " in line]
    assert progress, output
    assert "spotify 1/2 done, 0 due, 0 waiting, 1 later, 0 issues" in progress[-1]
    assert progress[-1].endswith("ETA 0 s")
    assert lines[-1] == "nothing due is left to do"
    assert "│" not in output  # no table
    assert "━" not in output  # no bar


def test_the_live_table_fits_80_columns_with_a_million_fans() -> None:
    huge = [
        ServiceProgress(
            service,
            total=1_234_567,
            scheduled=400_000,
            pending=234_567,
            waiting_for_release=99_999,
            done=456_789,
            partial=12_345,
            needs_reauth=1_000,
            failed=31_000,
            per_minute=12_000,
            paused_until=datetime(2026, 9, 4, tzinfo=UTC) if service == "apple_music" else None,
        )
        for service in ("spotify", "apple_music", "deezer", "tidal", "soundcloud", "youtube")
    ]
    console = Console(width=80, record=True, force_terminal=True, color_system=None)

    console.print(progress_table(Progress(UUID(int=7), huge)))

    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    header = next(line for line in text.splitlines() if "service" in line)
    for column in ("total", "done", "due", "waiting", "later", "issues", "/min", "progress"):
        assert column in header  # not wrapped, not cut
    rows = {line.split()[0]: line for line in text.splitlines() if line.split()[:1]}
    assert rows["apple_music*"].split()[1:8] == [
        "1.2M",
        "457k",
        "235k",
        "99999",
        "400k",
        "44345",
        "12000",
    ]
    assert {"spotify", "deezer", "tidal", "soundcloud", "youtube"} <= set(rows)


def test_resuming_an_unknown_service_is_refused_naming_the_services(
    env: dict[str, str], database_url: str
) -> None:
    release_id = asyncio.run(_release_with_outcomes(database_url))

    code, output = invoke(env, "fulfil", "--release", str(release_id), "--resume", "bogus")

    assert code == 2
    assert "'bogus'" in output
    assert "spotify, apple_music, deezer, tidal, soundcloud, youtube" in output
    assert "resume" in output
    assert "Traceback" not in output


def test_fulfil_of_an_unknown_release_is_a_clear_error(env: dict[str, str]) -> None:
    code, output = invoke(env, "fulfil", "--release", str(UUID(int=42)))

    assert code == 2
    assert "no release 00000000-0000-0000-0000-00000000002a" in output
    assert "Traceback" not in output


def test_fulfil_refuses_a_release_id_that_is_not_an_id(env: dict[str, str]) -> None:
    code, output = invoke(env, "fulfil", "--release", "night-tide")

    assert code == 2
    assert "--release" in output


# -- a day-long Retry-After, another process, and --resume --------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_simulator() -> Iterator[Callable[[SimulatorState], int]]:
    """Serve a simulator on a real port (at /_sim, as the embedded one) for the command."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(state: SimulatorState) -> int:
        port = _free_port()
        router = Router(routes=[Mount("/_sim", app=create_simulator_app(state))])
        server = uvicorn.Server(
            uvicorn.Config(router, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.05)
        return port

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


async def _parked_by_a_day_long_retry_after(database_url: str) -> tuple[World, UUID]:
    """Another process's worker got Spotify's day-long 429: the pause is in the database."""
    database = Database(database_url)
    try:
        world = await make_world(database)
        world.state.set_clock(datetime.now(UTC))  # the command runs on the real clock
        world.cipher = TokenCipher([KEY])
        presave_id = await world.add_fan("spotify", user="parked-1")
        world.state.set_faults("spotify", burst_429=1, retry_after_mode="huge")
        await drain(world.engine(limiter=DatabaseLimiter(database)))
        async with database.transaction() as session:
            job = await session.scalar(
                select(FulfilmentJob).where(FulfilmentJob.presave_id == presave_id)
            )
        assert job is not None
        assert job.waiting_for == "service_paused"
        assert job.next_attempt_at > datetime.now(UTC) + timedelta(hours=23)
        return world, presave_id
    finally:
        await database.dispose()


async def _state_of(database_url: str, presave_id: UUID) -> PresaveState:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            presave = await session.get(Presave, presave_id)
            assert presave is not None
            return presave.state
    finally:
        await database.dispose()


def test_only_parked_work_left_exits_saying_what_and_until_when_then_resume_runs_it(
    env: dict[str, str],
    database_url: str,
    serve_simulator: Callable[[SimulatorState], int],
) -> None:
    world, presave_id = asyncio.run(_parked_by_a_day_long_retry_after(database_url))
    port = serve_simulator(world.state)
    command_env = env | {
        "LAUNCHLINK_FULFILMENT__LIMITER": "database",
        "LAUNCHLINK_SIMULATOR_EMBEDDED": "true",
        "LAUNCHLINK_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    release = str(world.release_id)

    started = time.monotonic()
    code, output = invoke(command_env, "fulfil", "--release", release, "--interval", "0.2")

    assert code == 3, output  # stopped with work left, not "finished"
    assert time.monotonic() - started < 30  # it did not wait for tomorrow
    assert "nothing more can be done now; parked:" in output
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert f"spotify: 1 parked until {tomorrow}" in output
    assert "1 service paused, next at" in output
    assert "Retry-After" in output
    assert "launchlink fulfil --resume spotify" in output
    assert asyncio.run(_state_of(database_url, presave_id)) is PresaveState.resolving

    code, output = invoke(
        command_env, "fulfil", "--release", release, "--resume", "spotify", "--interval", "0.2"
    )

    assert code == 0, output
    assert "spotify resumed: 1 parked job(s) can run now" in output
    assert asyncio.run(_state_of(database_url, presave_id)) is PresaveState.done
    assert "added" in world.ledger_adds(presave_id)
