from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.kit.repository import WorkspaceScoped, advisory_xact_locks
from launchlink.models import (
    ApiKey,
    AuditEntry,
    Invitation,
    Membership,
    User,
    UserSession,
    Workspace,
)
from launchlink.models.accounts import Role


class WorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, workspace_id: UUID) -> Workspace | None:
        return await self.session.get(Workspace, workspace_id)

    async def get_by_name(self, name: str) -> Workspace | None:
        result = await self.session.execute(select(Workspace).where(Workspace.name == name))
        return result.scalars().first()

    async def add(self, workspace: Workspace) -> Workspace:
        self.session.add(workspace)
        await self.session.flush()
        return workspace


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email))
        return result.scalars().first()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def get_membership(self, workspace_id: UUID, user_id: UUID) -> Membership | None:
        return await self.session.get(Membership, (workspace_id, user_id))

    async def add_membership(self, membership: Membership) -> Membership:
        self.session.add(membership)
        await self.session.flush()
        return membership


class ApiKeyRepository(WorkspaceScoped[ApiKey]):
    model = ApiKey

    async def get_active_by_hash(self, key_hash: str) -> ApiKey | None:
        """The live key with this hash, whichever workspace holds it: this is how a request
        proves its workspace, so it cannot be scoped by one."""
        result = await self.session.execute(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
        return result.scalars().first()

    async def touch(self, api_key_id: UUID, at: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=at)
        )


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_session: UserSession) -> UserSession:
        self.session.add(user_session)
        await self.session.flush()
        return user_session

    async def get_live(self, token_hash: str, now: datetime) -> tuple[UserSession, User] | None:
        result = await self.session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_hash,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def live_of_user(self, user_id: UUID, now: datetime) -> list[UserSession]:
        result = await self.session.execute(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
        return list(result.scalars())

    async def revoke(
        self, *, at: datetime, user_id: UUID, session_id: UUID | None = None, token_hash: str = ""
    ) -> int:
        """Revoke one session (by id or token hash) or, with neither, all of a user's."""
        query = update(UserSession).where(
            UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
        )
        if session_id is not None:
            query = query.where(UserSession.id == session_id)
        if token_hash:
            query = query.where(UserSession.token_hash == token_hash)
        result = await self.session.execute(query.values(revoked_at=at))
        return int(getattr(result, "rowcount", 0) or 0)

    async def touch(self, session_id: UUID, at: datetime) -> None:
        await self.session.execute(
            update(UserSession).where(UserSession.id == session_id).values(last_seen_at=at)
        )


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def workspaces_of(self, user_id: UUID) -> list[tuple[Workspace, Role]]:
        result = await self.session.execute(
            select(Workspace, Membership.role)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.name, Workspace.id)
        )
        return [(row[0], row[1]) for row in result]

    async def members_of(self, workspace_id: UUID) -> list[tuple[User, Membership]]:
        result = await self.session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id)
            .order_by(User.email)
        )
        return [(row[0], row[1]) for row in result]

    async def owner_count(self, workspace_id: UUID) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.owner)
        )
        return int(result.scalar_one())

    async def remove(self, membership: Membership) -> None:
        await self.session.delete(membership)
        await self.session.flush()

    async def serialise_sign_ups(self) -> None:
        """Two first sign-ups at once must not both become owner of a fresh instance."""
        await advisory_xact_locks(self.session, ["signup"])

    async def user_count(self) -> int:
        return int((await self.session.execute(select(func.count(User.id)))).scalar_one())

    async def get_user(self, user_id: UUID) -> User | None:
        return await self.session.get(User, user_id)


class InvitationRepository(WorkspaceScoped[Invitation]):
    """A workspace's invitations (``get``, ``add`` scoped by the base)."""

    model = Invitation

    async def by_token_id(self, invitation_id: UUID) -> Invitation | None:
        """Instance-wide on purpose: the id comes from a signed invitation link, opened by
        someone who is not a member of the workspace yet."""
        return await self.session.get(Invitation, invitation_id)

    def _open(self, workspace_id: UUID) -> Select[Invitation]:
        return self.scoped(workspace_id).where(
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
        )

    async def open_of_workspace(self, workspace_id: UUID, now: datetime) -> list[Invitation]:
        result = await self.session.execute(
            self._open(workspace_id)
            .where(Invitation.expires_at > now)
            .order_by(Invitation.created_at.desc())
        )
        return list(result.scalars())

    async def withdraw_open(self, workspace_id: UUID, email: str, at: datetime) -> None:
        for invitation in (
            await self.session.execute(self._open(workspace_id).where(Invitation.email == email))
        ).scalars():
            invitation.revoked_at = at
        await self.session.flush()


class ApiKeyListing(WorkspaceScoped[ApiKey]):
    """The keys a workspace's members manage (``get`` is scoped by the base)."""

    model = ApiKey

    async def of_workspace(self, workspace_id: UUID) -> list[ApiKey]:
        result = await self.session.execute(
            self.scoped(workspace_id).order_by(
                ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc()
            )
        )
        return list(result.scalars())


class AuditRepository(WorkspaceScoped[AuditEntry]):
    model = AuditEntry

    async def of_workspace(
        self, workspace_id: UUID, *, limit: int, before: datetime | None = None
    ) -> list[AuditEntry]:
        query = self.scoped(workspace_id)
        if before is not None:
            query = query.where(AuditEntry.at < before)
        result = await self.session.execute(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
        return list(result.scalars())
