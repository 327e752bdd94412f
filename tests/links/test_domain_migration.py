"""Upgrading to ownership-checked domains takes no live custom-domain link down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from launchlink.accounts import service as accounts
from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.migrate import alembic_config
from tests._services import POSTGRES_ADMIN_URL
from tests.conftest import DatabaseBackend

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.fixture
def empty_database_url(database_backend: DatabaseBackend, tmp_path: Path) -> Iterator[str]:
    """A database of its own (the shared test database is already at head)."""
    if database_backend.name == "sqlite":
        yield f"sqlite+aiosqlite:///{(tmp_path / 'old.sqlite3').as_posix()}"
        return
    name = f"launchlink_migration_{uuid.uuid4().hex[:10]}"
    admin = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    admin_url = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed_before_ownership(url: str) -> uuid.UUID:
    """A workspace with a custom domain and a link on it, as revision 0004 stored them."""
    engine = create_engine(url.replace("+aiosqlite", ""))
    sqlite = engine.dialect.name == "sqlite"
    workspace, release, domain, link = (uuid.uuid4() for _ in range(4))

    def value(identifier: uuid.UUID) -> object:
        return identifier.hex if sqlite else identifier

    now = "CURRENT_TIMESTAMP"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workspace (id, name, kind, created_at, updated_at) "
                f"VALUES (:id, 'Old Records', 'label', {now}, {now})"
            ),
            {"id": value(workspace)},
        )
        connection.execute(
            text(
                "INSERT INTO custom_domain (id, workspace_id, hostname, created_at, updated_at) "
                f"VALUES (:id, :ws, 'music.old.test', {now}, {now})"
            ),
            {"id": value(domain), "ws": value(workspace)},
        )
        connection.execute(
            text(
                "INSERT INTO release (id, workspace_id, title, type, release_mode, "
                "release_instant, time_zone, created_at, updated_at) VALUES (:id, :ws, "
                f"'Old Album', 'album', 'global', '2020-01-01 00:00:00', 'UTC', {now}, {now})"
            ),
            {"id": value(release), "ws": value(workspace)},
        )
        connection.execute(
            text(
                "INSERT INTO link (id, workspace_id, release_id, slug, host, custom_domain_id, "
                f"version, created_at, updated_at) VALUES (:id, :ws, :release, 'old', "
                f"'music.old.test', :domain, 1, {now}, {now})"
            ),
            {
                "id": value(link),
                "ws": value(workspace),
                "release": value(release),
                "domain": value(domain),
            },
        )
    engine.dispose()
    return workspace


async def test_a_domain_registered_before_the_upgrade_keeps_serving(
    empty_database_url: str, tmp_path: Path
) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0004")
    workspace_id = _seed_before_ownership(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "head")

    settings = Settings(
        database_url=empty_database_url,
        var_dir=tmp_path / "var",
        public_url="https://links.example.test",
        environment="test",
    )
    app = create_app(settings)
    try:
        async with app.context.database.transaction() as session:
            key = await accounts.issue_api_key(session, workspace_id=workspace_id, name="t")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://x.test") as client:
            page = await client.get(
                "/old", headers={"host": "music.old.test", "user-agent": IPHONE}
            )
            domains = await client.get(
                "/api/v1/domains", headers={"authorization": f"Bearer {key.plaintext}"}
            )
    finally:
        await app.shutdown()
    assert page.status_code == 200
    assert "Old Album" in page.text
    [domain] = domains.json()
    assert domain["status"] == "verified"
    assert domain["verified_at"] is None  # it predates the ownership check


async def test_the_ownership_revision_downgrades_and_upgrades_again(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0004")
    _seed_before_ownership(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "0004")
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(empty_database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as connection:
            hostnames = connection.execute(text("SELECT hostname FROM custom_domain")).all()
    finally:
        engine.dispose()
    assert hostnames == [("music.old.test",)]
