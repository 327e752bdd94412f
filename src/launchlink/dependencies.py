"""FastAPI dependencies shared by every domain's endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts.service import Principal, authenticate_api_key
from launchlink.context import AppContext
from launchlink.errors import Forbidden, Unauthenticated
from launchlink.kit.clock import Clock


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(
    request: Request, context: Annotated[AppContext, Depends(get_context)]
) -> AsyncIterator[AsyncSession]:
    # Writes take SQLite's write lock up front (see Database.transaction); reads do not.
    writes = request.method not in SAFE_METHODS
    async with context.database.transaction(write_lock=writes) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx always means "saved".
Session = Annotated[AsyncSession, Depends(_session, scope="function")]


def get_clock(context: Annotated[AppContext, Depends(get_context)]) -> Clock:
    return context.clock


async def _principal(
    request: Request, session: Session, clock: Annotated[Clock, Depends(get_clock)]
) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send your API key as 'Authorization: Bearer <key>'")
    context: AppContext = request.app.state.context
    database = context.database if request.method in SAFE_METHODS else None
    return await authenticate_api_key(session, token.strip(), clock, database=database)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


async def _writer(principal: CurrentPrincipal) -> Principal:
    if not principal.role.can_write:
        raise Forbidden("this API key is read-only (role viewer)")
    return principal


WritingPrincipal = Annotated[Principal, Depends(_writer)]
