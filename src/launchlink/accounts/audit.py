"""The audit log: every change to a workspace, who made it, when, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts.repository import AuditRepository
from launchlink.kit.clock import Clock
from launchlink.models import AuditEntry
from launchlink.models.accounts import Role


@dataclass(frozen=True)
class Actor:
    """Who does something in a workspace: a signed-in user with their role there."""

    user_id: UUID
    email: str
    role: Role
    workspace_id: UUID


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: tuple[str, UUID | str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    clock: Clock,
) -> None:
    """Write one entry in the caller's transaction (it commits with the change)."""
    await AuditRepository(session).add(
        AuditEntry(
            workspace_id=actor.workspace_id,
            actor_id=actor.user_id,
            actor=actor.email,
            action=action,
            target_type=target[0],
            target_id=str(target[1]),
            before=before,
            after=after,
            at=clock.now(),
        )
    )


async def record_change(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: tuple[str, UUID | str],
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    clock: Clock,
) -> bool:
    """:func:`record`, only when ``after`` differs from ``before``: saving a form unchanged
    is not a change to audit. True when an entry was written."""
    if after == before:
        return False
    await record(session, actor, action, target, before=before, after=after, clock=clock)
    return True


async def entries(
    session: AsyncSession, workspace_id: UUID, *, limit: int = 100, before: datetime | None = None
) -> list[AuditEntry]:
    return await AuditRepository(session).of_workspace(workspace_id, limit=limit, before=before)
