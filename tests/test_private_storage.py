"""Secrets and the SQLite files on disk: private to the owner, never seen half-written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from launchlink.config import Settings
from tests._server import running_server

STARTERS = 8

_STARTER = """
import sys, time
from pathlib import Path
from launchlink.config import Settings
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
settings = Settings(var_dir=Path(sys.argv[1]))
print(settings.resolved_secret_key(), ",".join(settings.resolved_encryption_keys()))
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_processes_starting_together_agree_on_whole_private_secrets(tmp_path: Path) -> None:
    var = tmp_path / "var"
    go = tmp_path / "go"
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTER, str(var), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTERS)
    ]
    time.sleep(1.5)  # every interpreter up and waiting
    go.touch()
    results = [starter.communicate(timeout=60) for starter in starters]
    assert all(starter.returncode == 0 for starter in starters), [err for _, err in results]
    seen = {out.strip() for out, _ in results}
    assert len(seen) == 1, seen
    secret, keys = seen.pop().split(" ")
    assert len(secret) >= 64
    assert keys
    assert (var / "secret_key").read_text() == secret
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600
    assert _mode(var / "encryption_keys") == 0o600
    assert sorted(p.name for p in var.iterdir()) == ["encryption_keys", "secret_key"]


def test_an_empty_secret_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret_key").write_text("")
    with pytest.raises(ValueError, match="secret_key is empty"):
        Settings(var_dir=var).resolved_secret_key()


def test_a_secret_left_readable_by_others_is_made_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret_key").write_text("an-older-secret-value-kept-as-it-is")
    (var / "secret_key").chmod(0o644)
    assert Settings(var_dir=var).resolved_secret_key() == "an-older-secret-value-kept-as-it-is"
    assert _mode(var / "secret_key") == 0o600


def test_the_default_sqlite_files_and_var_are_private_once_served(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = {"LAUNCHLINK_VAR_DIR": str(var)}
    previous = os.umask(0o022)  # the usual umask: files would be world-readable
    try:
        with running_server(env) as server:
            assert httpx.get(f"{server.base_url}/demo").status_code == 404
            database = var / "launchlink.sqlite3"
            files = [database, var / "launchlink.sqlite3-wal", var / "launchlink.sqlite3-shm"]
            assert all(path.exists() for path in files), sorted(p.name for p in var.iterdir())
            modes = {path.name: _mode(path) for path in files}
    finally:
        os.umask(previous)
    assert modes == dict.fromkeys(modes, 0o600)
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600
