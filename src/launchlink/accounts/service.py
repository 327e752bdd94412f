"""Account actions. Services take a session and never commit (the caller's unit of work does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts.repository import ApiKeyRepository, UserRepository, WorkspaceRepository
from launchlink.db import Database, after_commit
from launchlink.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import hash_api_key, hash_password, new_api_key
from launchlink.models import ApiKey, Membership, User, Workspace
from launchlink.models.accounts import Role, WorkspaceKind

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    """Who is calling the API: always exactly one workspace, with one role."""

    workspace_id: UUID
    role: Role
    api_key_id: UUID


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    plaintext: str
    """Shown once, never stored."""


async def create_workspace(
    session: AsyncSession, *, name: str, kind: WorkspaceKind = WorkspaceKind.label
) -> Workspace:
    name = name.strip()
    if not name:
        raise ValidationFailed("a workspace needs a name", field="name")
    return await WorkspaceRepository(session).add(Workspace(name=name, kind=kind))


async def get_workspace(session: AsyncSession, workspace_id: UUID) -> Workspace:
    workspace = await WorkspaceRepository(session).get(workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}", field="workspace")
    return workspace


async def set_base_language(
    session: AsyncSession, workspace_id: UUID, language: str, *, shipped: tuple[str, ...]
) -> tuple[str, str]:
    """The workspace's language for fans we have no translation for (one of ``shipped``):
    its fan pages are rendered again (their links' versions move) and its messages use
    it from their next send. Returns (before, after)."""
    if language not in shipped:
        raise ValidationFailed(
            f"{language!r} is not a language we have pages in; choose one of " + ", ".join(shipped),
            field="base_language",
        )
    workspace = await get_workspace(session, workspace_id)
    before = workspace.base_language
    if before != language:
        # Imported here: the links package builds on accounts, not the other way round.
        from launchlink.links.changes import touch_links
        from launchlink.links.repository import LinkRepository

        workspace.base_language = language
        await session.flush()
        await touch_links(
            session, await LinkRepository(session).link_ids_of_workspace(workspace_id)
        )
    return before, language


async def issue_api_key(
    session: AsyncSession, *, workspace_id: UUID, name: str, role: Role = Role.admin
) -> IssuedApiKey:
    await get_workspace(session, workspace_id)
    plaintext, prefix = new_api_key()
    api_key = ApiKey(
        workspace_id=workspace_id,
        name=name.strip() or "API key",
        prefix=prefix,
        key_hash=hash_api_key(plaintext),
        role=role,
    )
    await ApiKeyRepository(session).add(api_key)
    return IssuedApiKey(api_key=api_key, plaintext=plaintext)


async def authenticate_api_key(
    session: AsyncSession, plaintext: str, clock: Clock, *, database: Database | None = None
) -> Principal:
    api_key = await ApiKeyRepository(session).get_active_by_hash(hash_api_key(plaintext))
    if api_key is None:
        raise Unauthenticated("this API key is not valid (revoked, mistyped or never issued)")
    now = clock.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        if database is None:
            await ApiKeyRepository(session).touch(api_key.id, now)
        else:
            # Its own short write after the request's unit of work, so a read-only request
            # never has to upgrade to a writer half-way (SQLite would refuse that under load).
            key_id = api_key.id

            async def touch() -> None:
                async with database.transaction(write_lock=True) as write:
                    await ApiKeyRepository(write).touch(key_id, now)

            after_commit(session, touch)
    return Principal(workspace_id=api_key.workspace_id, role=api_key.role, api_key_id=api_key.id)


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str | None,
    workspace_id: UUID | None = None,
    role: Role = Role.editor,
) -> User:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ValidationFailed(f"{email!r} is not an email address", field="email")
    if password is not None and len(password) < 10:
        raise ValidationFailed("a password needs at least 10 characters", field="password")
    users = UserRepository(session)
    if await users.get_by_email(email) is not None:
        raise Conflict(f"a user with email {email} already exists", field="email")
    user = await users.add(
        User(
            email=email,
            name=name.strip() or email,
            password_hash=hash_password(password) if password else None,
        )
    )
    if workspace_id is not None:
        await get_workspace(session, workspace_id)
        await users.add_membership(
            Membership(workspace_id=workspace_id, user_id=user.id, role=role)
        )
    return user
