"""Engine, sessions and the unit of work.

Rules (see docs/architecture.md): repositories hold all SQL; services take a session and
never commit; the unit of work (:func:`Database.transaction`, used by the request scope,
the CLI and tasks) commits or rolls back, and only after a successful commit runs the
side effects registered with :func:`after_commit`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from launchlink.config import Settings

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL.

    SQLite has no time zone type and hands back naive values; storing UTC and
    re-attaching it on load keeps the "aware datetimes only" rule true everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused by the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, effect: AfterCommit) -> None:
    """Run ``effect`` once the session's transaction has committed; drop it on rollback."""
    session.info.setdefault("after_commit", []).append(effect)


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 10
) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below) so SQLite's own implicit transactions do not
        # get in the way of savepoints and of BEGIN IMMEDIATE for single-writer claims.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine plus its session factory; one per process."""

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 10
    ) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._session_info: dict[str, Any] = {}

    def share_with_sessions(self, key: str, value: object) -> None:
        """Put ``value`` into the ``info`` of every session made from now on (each session
        gets its own copy of the dict): how a per-process piece, such as the link change
        bus, reaches code that only holds a session."""
        self._session_info[key] = value
        self.sessionmaker.configure(info=dict(self._session_info))

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The process's database, sized by ``database_pool_size`` (PostgreSQL only)."""
        return cls(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_overflow,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, write_lock: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, rollback on error, then side effects.

        ``write_lock`` takes SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``) so a
        read-then-write sequence cannot be interleaved by another writer; PostgreSQL
        relies on row locks instead and ignores it.
        """
        async with self.sessionmaker() as session:
            if write_lock and self.dialect == "sqlite":
                await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                session.info.pop("after_commit", None)
                raise
            for effect in session.info.pop("after_commit", []):
                try:
                    await effect()
                except Exception:
                    logger.exception("side effect after commit failed")

    async def dispose(self) -> None:
        await self.engine.dispose()
