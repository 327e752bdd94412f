"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, API keys.

Every test that asks for ``db`` runs twice, once per backend. Each test starts from an
empty, fully migrated database: SQLite copies a migrated template file, PostgreSQL
truncates every table. Tests use real commits (no rolled-back outer transaction) so
that commit-time behaviour — side effects after commit, cache invalidation, locks — is
what is tested.
"""

from __future__ import annotations

import gc
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

import launchlink.models  # noqa: F401  (registers the tables)
from launchlink.db import Base, Database
from launchlink.migrate import upgrade_to_head
from tests._postgres import libpq_url
from tests._services import (
    CHROMIUM_PATH,
    IN_CI,
    POSTGRES_ADMIN_URL,
    missing_services,
    service_missing,
)


@dataclass
class DatabaseBackend:
    name: str
    template: Path | None = None
    url: str | None = None

    def fresh_url(self, tmp_path: Path) -> str:
        if self.template is not None:
            target = tmp_path / "launchlink.sqlite3"
            shutil.copyfile(self.template, target)
            return f"sqlite+aiosqlite:///{target.as_posix()}"
        assert self.url is not None
        _truncate_postgres(self.url)
        return self.url


def _truncate_postgres(url: str) -> None:
    """Empty every table. A connection a previous test left open (a background task that
    outlived its app, a session never closed) would hold locks TRUNCATE waits on forever, so
    such leftovers are ended first and reported, and the wait itself is bounded."""
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        leftovers = connection.execute(
            "SELECT pid, state, left(query, 120) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        for pid, state, query in leftovers:
            leftover_connections.append(f"{state}: {query!r}")
            connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
        connection.execute("SET lock_timeout = '60s'")
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


leftover_connections: list[str] = []
"""Connections found open between tests (reported at the end of the run)."""


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> DatabaseBackend:
    template = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade_to_head(f"sqlite+aiosqlite:///{template.as_posix()}")
    return DatabaseBackend(name="sqlite", template=template)


@pytest.fixture(scope="session")
def postgres_backend() -> Iterator[DatabaseBackend]:
    admin_url = libpq_url(POSTGRES_ADMIN_URL)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        service_missing("PostgreSQL", f"cannot connect to {POSTGRES_ADMIN_URL}: {error}")
        raise  # unreachable: service_missing skips or fails
    name = f"launchlink_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_to_head(url)
        yield DatabaseBackend(name="postgresql", url=url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_backend(request: pytest.FixtureRequest) -> DatabaseBackend:
    if request.param == "sqlite":
        backend: DatabaseBackend = request.getfixturevalue("sqlite_backend")
    else:
        backend = request.getfixturevalue("postgres_backend")
    return backend


@pytest.fixture
def database_url(database_backend: DatabaseBackend, tmp_path: Path) -> Iterator[str]:
    yield database_backend.fresh_url(tmp_path)
    # A connection the test dropped without closing is found here, in the test that dropped
    # it (ResourceWarning is an error), not by a later test's TRUNCATE waiting on its locks.
    gc.collect()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def chromium_path() -> str:
    from tests._services import chromium_available

    if not chromium_available():
        service_missing("Chromium", f"{CHROMIUM_PATH} not found (apt-get install chromium)")
    return CHROMIUM_PATH


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if leftover_connections:
        terminalreporter.write_line(
            f"{len(leftover_connections)} PostgreSQL connection(s) outlived their test and were"
            " ended before the next one:",
            yellow=True,
            bold=True,
        )
        for line in leftover_connections[:20]:
            terminalreporter.write_line(f"  - {line}", yellow=True)
    if not missing_services:
        return
    width = 78
    terminalreporter.write_line("")
    terminalreporter.write_line("!" * width, red=True, bold=True)
    verdict = "FAILED (CI=true)" if IN_CI else "SKIPPED"
    terminalreporter.write_line(
        f"  Tests needing these services were {verdict}:", red=True, bold=True
    )
    for name, reason in missing_services.items():
        terminalreporter.write_line(f"  - {name}: {reason}", red=True, bold=True)
    terminalreporter.write_line(
        "  They run in CI; start the services locally to run them here.", red=True
    )
    terminalreporter.write_line("!" * width, red=True, bold=True)
