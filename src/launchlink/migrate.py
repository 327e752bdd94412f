"""Apply the Alembic migrations; called at start-up and by ``launchlink migrate``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def _prepare(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade_to_head(database_url: str) -> None:
    """Blocking; run it outside an event loop (or via :func:`upgrade_to_head_async`)."""
    _prepare(database_url)
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    # Alembic's env drives its own event loop, so it runs in a worker thread.
    await asyncio.to_thread(upgrade_to_head, database_url)
