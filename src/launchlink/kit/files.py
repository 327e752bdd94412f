"""Private files on disk: generated secrets, the SQLite database, the dev outbox.

Everything launchlink writes under ``var/`` is readable by its owner only (directories
0700, files 0600), and a file another process may read at the same moment is never seen
half-written: it is written to a temporary name in the same directory (created 0600, so
the secret is never readable by others even for an instant), flushed to disk, then given
its final name in one step. :func:`create_once` uses ``link`` for that step, which fails
when the name exists, so two processes starting together agree on the first value;
:func:`replace` uses ``rename``, which replaces.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) 0700, or tighten it to 0700 if we own it."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIR)
    return path


def tighten(path: Path, mode: int) -> None:
    """Drop group/other permissions of a file or directory we own (no-op otherwise)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


def ensure_private_file(path: Path) -> None:
    """Create an empty 0600 file if absent (so a program creating it later inherits 0600,
    as SQLite's -wal and -shm files do), or tighten an existing one."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    tighten(path, PRIVATE_FILE)


def _write_temporary(directory: Path, name: str, text: str) -> Path:
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _sync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def create_once(path: Path, text: str) -> bool:
    """Give ``path`` the content ``text`` unless it already exists; True if ours won.

    Readers see either no file or the whole of it, never a partial one.
    """
    directory = ensure_private_dir(path.parent)
    temporary = _write_temporary(directory, path.name, text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    _sync_directory(directory)
    return True


def replace(path: Path, text: str) -> None:
    """Write ``path`` atomically (readers see the old or the new content), 0600."""
    directory = ensure_private_dir(path.parent)
    temporary = _write_temporary(directory, path.name, text)
    try:
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(directory)
