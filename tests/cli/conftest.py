from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from launchlink.cli import app


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"LAUNCHLINK_DATABASE_URL": database_url, "LAUNCHLINK_VAR_DIR": str(tmp_path / "var")}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output
