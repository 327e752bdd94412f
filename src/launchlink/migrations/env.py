"""Alembic environment: runs the same migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection

import launchlink.models  # noqa: F401  (registers every table on Base.metadata)
from launchlink.db import Base, create_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by dropping it: with foreign keys enforced, dropping a
        # parent (a workspace, a fan) would cascade-delete every child row. SQLite ignores
        # this pragma inside a transaction, so it is set as the connection opens.
        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            if sqlite:
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    # SQLite's DDL is not transactional here: each revision has been
                    # committed as it ran, so say so rather than pretend to undo it.
                    tables = sorted({str(row[0]) for row in broken})
                    raise RuntimeError(
                        "the migrations left rows whose parent row is missing in "
                        f"{', '.join(tables)} (PRAGMA foreign_key_check); restore the "
                        "backup taken before migrating, or fix those rows, before serving"
                    )
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
