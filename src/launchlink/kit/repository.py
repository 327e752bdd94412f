"""The workspace-scoped repository: the one place workspace isolation is written.

Every row a workspace owns is read through :meth:`WorkspaceScoped.scoped`, so a query of
another workspace's id finds nothing (and the API answers 404) without each repository
repeating ``workspace_id ==`` by hand. Subclasses name their model and add their own
queries built on :meth:`scoped`; queries that are deliberately instance-wide (the public
page by host and slug, a hostname's owner) stay explicit in the subclass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import Delete, Select, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from launchlink.kit.pagination import Page, decode_cursor, page_from


async def advisory_xact_locks(session: AsyncSession, keys: Iterable[str]) -> None:
    """PostgreSQL: hold a transaction-scoped advisory lock per key, taken in one order so
    two transactions sharing keys cannot deadlock; released at commit or rollback.

    A no-op on SQLite, where the caller's ``BEGIN IMMEDIATE`` (``write_lock=True``)
    already serialises every writer.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


class WorkspaceOwned(Protocol):
    """A mapped row that belongs to one workspace and has a UUID key."""

    workspace_id: Any


M = TypeVar("M", bound=WorkspaceOwned)


def in_workspace(model: type[M], workspace_id: UUID) -> Select[M]:
    """``SELECT model WHERE workspace_id = :workspace_id``: where every query of a
    workspace's rows begins, in a repository class of its own or not."""
    return select(model).where(model.workspace_id == workspace_id)


def delete_in_workspace(model: type[M], workspace_id: UUID) -> Delete:
    """``DELETE FROM model WHERE workspace_id = :workspace_id`` (narrow it further)."""
    return delete(model).where(model.workspace_id == workspace_id)


class WorkspaceScoped(Generic[M]):
    """``get`` / ``get_many`` / ``list_page`` / ``add`` / ``delete`` within one workspace.

    ``model`` is the mapped class; ``key`` its UUID key attribute when it is not ``id``
    (a campaign is keyed by its link). ``list_page`` pages by that key, which is a uuid7
    and so time-ordered (see :mod:`launchlink.kit.pagination`).
    """

    model: ClassVar[type[Any]]
    key: ClassVar[str] = "id"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _key(self) -> InstrumentedAttribute[UUID]:
        column: InstrumentedAttribute[UUID] = getattr(self.model, self.key)
        return column

    def scoped(self, workspace_id: UUID) -> Select[M]:
        """``SELECT model WHERE workspace_id = :workspace_id``: start every query here."""
        return in_workspace(self.model, workspace_id)

    async def get(self, workspace_id: UUID, row_id: UUID, *, for_update: bool = False) -> M | None:
        query = self.scoped(workspace_id).where(self._key() == row_id)
        if for_update:
            # populate_existing: a row already in the session is refreshed from the lock.
            query = query.with_for_update(of=self.model).execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalars().first()

    async def get_many(self, workspace_id: UUID, row_ids: Sequence[UUID]) -> list[M]:
        if not row_ids:
            return []
        query = self.scoped(workspace_id).where(self._key().in_(row_ids))
        return list((await self.session.execute(query)).scalars())

    async def list_page(self, workspace_id: UUID, *, cursor: str | None, limit: int) -> Page[M]:
        """One page in key order; ``cursor`` is the ``next_cursor`` of the page before."""
        key = self._key()
        query = self.scoped(workspace_id)
        after = decode_cursor(cursor)
        if after is not None:
            query = query.where(key > after)
        rows = list((await self.session.execute(query.order_by(key).limit(limit + 1))).scalars())
        return page_from(rows, limit=limit, key=attrgetter(self.key))

    async def add(self, row: M) -> M:
        self.session.add(row)
        await self.session.flush()
        return row

    async def add_if_free(self, row: M) -> bool:
        """Insert ``row``; False (and nothing written) when a unique constraint refuses it."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def delete(self, row: M) -> None:
        await self.session.delete(row)
        await self.session.flush()
