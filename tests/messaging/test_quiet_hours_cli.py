"""The operator's instance-wide quiet hours through the real CLI process
(``launchlink messaging quiet-hours list|set|reset``), on both databases: a row replaces
the built-in rule of its scope for every workspace, workspaces may only narrow it, and a
reset brings the built-in rule back."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from launchlink.db import Database
from launchlink.errors import LaunchlinkError
from launchlink.messaging import manage
from launchlink.messaging.schemas import QuietHoursRuleWrite
from launchlink.models.messaging import MessageChannel
from tests.messaging.world import make_world

ROOT = Path(__file__).resolve().parents[2]


def _cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
    env = {
        **os.environ,
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_ENVIRONMENT": "test",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [launchlink, "messaging", "quiet-hours", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_the_operator_sets_lists_and_resets_instance_quiet_hours(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    world = await make_world(db, release_date=date(2026, 6, 5))
    listed = _cli(database_url, tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "sms   US-FL   08:00-20:00  built-in" in listed.stdout

    done = _cli(
        database_url, tmp_path, "set", "--channel", "sms", "--scope", "US-FL",
        "--from", "09:00", "--until", "19:30", "--note", "house rule",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = _cli(database_url, tmp_path, "list")
    assert "sms   US-FL   09:00-19:30  instance  (house rule)" in listed.stdout
    assert "sms   US-TX   09:00-21:00  built-in" in listed.stdout

    # Every workspace sees it, and may narrow it but not widen it.
    async with db.transaction() as session:
        rules = {
            (r.channel, r.scope): r for r in await manage.quiet_hours(session, world.workspace_id)
        }
    florida = rules[(MessageChannel.sms, "US-FL")]
    assert (florida.allowed_from, florida.allowed_until, florida.source) == (540, 1170, "instance")
    with pytest.raises(LaunchlinkError, match="09:00 and 19:30"):
        async with db.transaction() as session:
            await manage.set_quiet_hours(
                session, world.workspace_id, channel=MessageChannel.sms, scope="US-FL",
                body=QuietHoursRuleWrite(allowed_from=8 * 60, allowed_until=20 * 60),
            )  # fmt: skip

    refused = _cli(
        database_url, tmp_path, "set", "--channel", "sms", "--scope", "US-FL",
        "--from", "25:00", "--until", "19:00",
    )  # fmt: skip
    assert refused.returncode == 2
    backwards = _cli(
        database_url, tmp_path, "set", "--channel", "sms", "--scope", "US-FL",
        "--from", "20:00", "--until", "19:00",
    )  # fmt: skip
    assert backwards.returncode == 2
    assert "allowed_from" in backwards.stderr

    reset = _cli(database_url, tmp_path, "reset", "--channel", "sms", "--scope", "US-FL")
    assert reset.returncode == 0, reset.stderr
    assert "sms   US-FL   08:00-20:00  built-in" in _cli(database_url, tmp_path, "list").stdout
    again = _cli(database_url, tmp_path, "reset", "--channel", "sms", "--scope", "US-FL")
    assert again.returncode == 2
    assert "no sms rule for US-FL" in again.stderr
