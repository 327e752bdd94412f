"""``launchlink fulfil --release ID``: its progress table, and a clear error for a bad id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from launchlink.cli import app
from launchlink.db import Database
from launchlink.models.presave import Presave, PresaveState
from tests.fulfilment.harness import make_world


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
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


def test_fulfil_shows_each_services_counts_until_nothing_is_pending(
    env: dict[str, str], database_url: str
) -> None:
    release_id = asyncio.run(_release_with_outcomes(database_url))

    code, output = invoke(env, "fulfil", "--release", str(release_id))

    assert code == 0, output
    assert f"release {release_id}" in output
    [row] = [line for line in output.splitlines() if "spotify" in line]
    cells = [cell.strip() for cell in row.split("│") if cell.strip()]
    # service, total, done, pending, waiting for release, not yet due, ...
    assert cells[:6] == ["spotify", "2", "1", "0", "0", "1"]
    assert "ETA 0 s" in output
    assert "━" in row  # the progress bar


def test_fulfil_of_an_unknown_release_is_a_clear_error(env: dict[str, str]) -> None:
    code, output = invoke(env, "fulfil", "--release", str(UUID(int=42)))

    assert code == 2
    assert "no release 00000000-0000-0000-0000-00000000002a" in output
    assert "Traceback" not in output


def test_fulfil_refuses_a_release_id_that_is_not_an_id(env: dict[str, str]) -> None:
    code, output = invoke(env, "fulfil", "--release", "night-tide")

    assert code == 2
    assert "--release" in output
