"""People in workspaces: sign-up, login, sessions, invitations, roles, password resets.

Services take the session and never commit. Emails are events emitted in the unit of work
(``invitation.issued``, ``password_reset.requested``): the messaging package sends them
through the outbox once the change has committed, and a rollback leaves neither. Every
change is written to the audit log in the same transaction (``audit.record``), so a change
and its entry exist together or not at all.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts import audit
from launchlink.accounts.audit import Actor as Actor  # re-exported: callers know it from here
from launchlink.accounts.errors import InvalidCredentials, RoleRefused, SignUpClosed, TokenRefused
from launchlink.accounts.repository import (
    ApiKeyListing,
    InvitationRepository,
    MemberRepository,
    SessionRepository,
    UserRepository,
)
from launchlink.accounts.service import create_workspace, get_workspace, issue_api_key
from launchlink.errors import Conflict, NotFound, ValidationFailed
from launchlink.events import InvitationIssued, PasswordResetRequested, emit
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import (
    TokenCipher,
    hash_password,
    password_needs_rehash,
    verify_password,
)
from launchlink.models import ApiKey, Invitation, Membership, User, UserSession, Workspace
from launchlink.models.accounts import Role, WorkspaceKind
from launchlink.web.security import BadSignature, Signer, token_hash

SESSION_LIFETIME = timedelta(days=14)
SESSION_TOUCH_RESOLUTION = timedelta(minutes=5)
INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
MIN_PASSWORD = 10
MAX_PASSWORD = 200
INVITATION_PURPOSE = "invitation"
RESET_PURPOSE = "password-reset"


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"a password needs at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(
            f"a password has at most {MAX_PASSWORD} characters", field="password"
        )


# -- sign-up and login ---------------------------------------------------------------------


async def is_fresh_instance(session: AsyncSession) -> bool:
    return await MemberRepository(session).user_count() == 0


async def _serialise_sign_ups(session: AsyncSession) -> None:
    # Two first sign-ups at once must not both become owner of a fresh instance. SQLite's
    # write lock (taken at BEGIN by the caller) already serialises them; PostgreSQL needs
    # a lock of its own.
    await MemberRepository(session).serialise_sign_ups()


async def sign_up(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    workspace_name: str,
    kind: WorkspaceKind,
    open_sign_up: bool,
    clock: Clock,
) -> tuple[User, Workspace]:
    """A new account and its own workspace (owner). The first account of a fresh instance
    is always allowed; later ones only when the operator opened sign-up."""
    check_password(password)
    await _serialise_sign_ups(session)
    if not open_sign_up and not await is_fresh_instance(session):
        raise SignUpClosed()
    user = await _new_user(session, email=email, name=name, password=password)
    workspace = await new_workspace(session, user=user, name=workspace_name, kind=kind, clock=clock)
    return user, workspace


async def _new_user(session: AsyncSession, *, email: str, name: str, password: str) -> User:
    users = UserRepository(session)
    if await users.get_by_email(email) is not None:
        raise Conflict("an account with this email exists; log in instead", field="email")
    return await users.add(
        User(email=email, name=name.strip() or email, password_hash=hash_password(password))
    )


async def new_workspace(
    session: AsyncSession, *, user: User, name: str, kind: WorkspaceKind, clock: Clock
) -> Workspace:
    workspace = await create_workspace(session, name=name, kind=kind)
    actor = await _join(session, user, workspace.id, Role.owner)
    await audit.record(
        session,
        actor,
        "workspace.created",
        ("workspace", workspace.id),
        after={"name": workspace.name, "kind": workspace.kind.value},
        clock=clock,
    )
    await audit.record(
        session,
        actor,
        "member.added",
        ("user", user.id),
        after={"email": user.email, "role": Role.owner.value},
        clock=clock,
    )
    return workspace


async def _join(session: AsyncSession, user: User, workspace_id: UUID, role: Role) -> Actor:
    """``user`` becomes a member of the workspace with ``role`` (a member already keeps
    theirs); returns them as the actor of what follows."""
    users = UserRepository(session)
    if await users.get_membership(workspace_id, user.id) is None:
        await users.add_membership(
            Membership(workspace_id=workspace_id, user_id=user.id, role=role)
        )
    return Actor(user_id=user.id, email=user.email, role=role, workspace_id=workspace_id)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    user = await UserRepository(session).get_by_email(email)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise InvalidCredentials()
    if user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# -- sessions ------------------------------------------------------------------------------


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    clock: Clock,
    user_agent: str,
    replacing: str | None = None,
) -> str:
    """A fresh session token for ``user`` (the cookie value). The browser's previous session,
    if any, is revoked: a token planted before login is worth nothing after it."""
    sessions = SessionRepository(session)
    now = clock.now()
    if replacing:
        found = await sessions.get_live(token_hash(replacing), now)
        if found is not None:
            await sessions.revoke(at=now, user_id=found[0].user_id, session_id=found[0].id)
    token = secrets.token_urlsafe(32)
    await sessions.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=now + SESSION_LIFETIME,
            last_seen_at=now,
            user_agent=user_agent[:300],
        )
    )
    return token


async def session_user(
    session: AsyncSession, token: str | None, clock: Clock
) -> tuple[UserSession, User] | None:
    if not token or len(token) > 100:
        return None
    now = clock.now()
    found = await SessionRepository(session).get_live(token_hash(token), now)
    if found is None:
        return None
    user_session, user = found
    if now - user_session.last_seen_at > SESSION_TOUCH_RESOLUTION:
        await SessionRepository(session).touch(user_session.id, now)
    return user_session, user


async def end_session(session: AsyncSession, token: str | None, clock: Clock) -> None:
    found = await session_user(session, token, clock)
    if found is not None:
        await SessionRepository(session).revoke(
            at=clock.now(), user_id=found[1].id, session_id=found[0].id
        )


async def sessions_of(session: AsyncSession, user_id: UUID, clock: Clock) -> list[UserSession]:
    return await SessionRepository(session).live_of_user(user_id, clock.now())


async def revoke_session(
    session: AsyncSession, *, user: User, session_id: UUID, clock: Clock
) -> None:
    if not await SessionRepository(session).revoke(
        at=clock.now(), user_id=user.id, session_id=session_id
    ):
        raise NotFound("no such session (it may have ended already)")


# -- workspaces and members ----------------------------------------------------------------


async def workspaces_of(session: AsyncSession, user_id: UUID) -> list[tuple[Workspace, Role]]:
    return await MemberRepository(session).workspaces_of(user_id)


async def role_in(session: AsyncSession, workspace_id: UUID, user_id: UUID) -> Role | None:
    membership = await UserRepository(session).get_membership(workspace_id, user_id)
    return membership.role if membership is not None else None


async def members_of(session: AsyncSession, workspace_id: UUID) -> list[tuple[User, Membership]]:
    return await MemberRepository(session).members_of(workspace_id)


def _may_assign(actor: Actor, role: Role) -> None:
    if not actor.role.can_administer:
        raise RoleRefused("only owners and admins manage members")
    if role is Role.owner and actor.role is not Role.owner:
        raise RoleRefused("only an owner can make someone an owner", field="role")


async def change_role(
    session: AsyncSession, actor: Actor, *, user_id: UUID, role: Role, clock: Clock
) -> None:
    members = MemberRepository(session)
    membership = await UserRepository(session).get_membership(actor.workspace_id, user_id)
    if membership is None:
        raise NotFound("this person is not a member of the workspace")
    _may_assign(actor, role)
    if membership.role is Role.owner and actor.role is not Role.owner:
        raise RoleRefused("only an owner can change an owner's role", field="role")
    if membership.role is role:
        return
    if membership.role is Role.owner and await members.owner_count(actor.workspace_id) <= 1:
        raise RoleRefused("a workspace keeps at least one owner; make someone else owner first")
    before = membership.role
    membership.role = role
    await audit.record(
        session,
        actor,
        "member.role_changed",
        ("user", user_id),
        before={"role": before.value},
        after={"role": role.value},
        clock=clock,
    )


async def remove_member(
    session: AsyncSession, actor: Actor, *, user_id: UUID, clock: Clock
) -> None:
    members = MemberRepository(session)
    membership = await UserRepository(session).get_membership(actor.workspace_id, user_id)
    if membership is None:
        raise NotFound("this person is not a member of the workspace")
    leaving = user_id == actor.user_id
    if not leaving:
        _may_assign(actor, membership.role)
    if membership.role is Role.owner and await members.owner_count(actor.workspace_id) <= 1:
        raise RoleRefused("a workspace keeps at least one owner; make someone else owner first")
    role = membership.role
    await members.remove(membership)
    await audit.record(
        session,
        actor,
        "member.left" if leaving else "member.removed",
        ("user", user_id),
        before={"role": role.value},
        clock=clock,
    )


# -- invitations ---------------------------------------------------------------------------


async def invite(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    role: Role,
    signer: Signer,
    cipher: TokenCipher,
    clock: Clock,
) -> Invitation:
    """Invite ``email`` into the actor's workspace; the email leaves after commit."""
    _may_assign(actor, role)
    workspace = await get_workspace(session, actor.workspace_id)
    existing = await UserRepository(session).get_by_email(email)
    if existing is not None and await role_in(session, workspace.id, existing.id) is not None:
        raise Conflict(f"{email} is already a member of this workspace", field="email")
    invitations = InvitationRepository(session)
    now = clock.now()
    # A new invitation replaces the open one: only the latest link works.
    await invitations.withdraw_open(workspace.id, email, now)
    invitation = await invitations.add(
        Invitation(
            workspace_id=workspace.id,
            email=email,
            role=role,
            invited_by_id=actor.user_id,
            expires_at=now + INVITATION_LIFETIME,
        )
    )
    await audit.record(
        session,
        actor,
        "invitation.sent",
        ("invitation", invitation.id),
        after={"email": email, "role": role.value},
        clock=clock,
    )
    await emit(
        session,
        InvitationIssued(
            occurred_at=now,
            workspace_id=workspace.id,
            invitation_id=invitation.id,
            sealed_token=_seal(cipher, invitation_token(signer, invitation)),
        ),
    )
    return invitation


def _seal(cipher: TokenCipher, token: str) -> str:
    # Only the sender may read the link: the outbox row holds it encrypted.
    return cipher.encrypt(token).decode("ascii")


def invitation_token(signer: Signer, invitation: Invitation) -> str:
    return signer.sign(
        INVITATION_PURPOSE, {"i": str(invitation.id)}, expires_at=invitation.expires_at
    )


async def open_invitation(
    session: AsyncSession, token: str, *, signer: Signer, clock: Clock
) -> tuple[Invitation, Workspace]:
    now = clock.now()
    try:
        payload = signer.unsign(INVITATION_PURPOSE, token, now=now)
        invitation_id = UUID(str(payload["i"]))
    except (BadSignature, KeyError, ValueError):
        raise TokenRefused(
            "this invitation link is not valid or has expired; ask for a new one"
        ) from None
    invitation = await InvitationRepository(session).by_token_id(invitation_id)
    if invitation is None or invitation.revoked_at is not None:
        raise TokenRefused("this invitation was withdrawn; ask for a new one")
    if invitation.accepted_at is not None:
        raise TokenRefused("this invitation was used already; log in instead")
    if invitation.expires_at <= now:
        raise TokenRefused("this invitation has expired; ask for a new one")
    return invitation, await get_workspace(session, invitation.workspace_id)


async def accept_invitation(
    session: AsyncSession,
    invitation: Invitation,
    *,
    user: User | None,
    name: str = "",
    password: str = "",
    clock: Clock,
) -> User:
    """Join the workspace: as the signed-in ``user`` (whose email must be the one invited),
    or as a new account for the invited address."""
    if user is None:
        check_password(password)
        user = await _new_user(session, email=invitation.email, name=name, password=password)
    elif user.email != invitation.email:
        raise RoleRefused(
            f"this invitation is for {invitation.email}; log in with that address to accept it"
        )
    actor = await _join(session, user, invitation.workspace_id, invitation.role)
    invitation.accepted_at = clock.now()
    await audit.record(
        session,
        actor,
        "invitation.accepted",
        ("invitation", invitation.id),
        after={"email": user.email, "role": invitation.role.value},
        clock=clock,
    )
    return user


async def open_invitations(
    session: AsyncSession, workspace_id: UUID, clock: Clock
) -> list[Invitation]:
    return await InvitationRepository(session).open_of_workspace(workspace_id, clock.now())


async def withdraw_invitation(
    session: AsyncSession, actor: Actor, *, invitation_id: UUID, clock: Clock
) -> None:
    invitation = await InvitationRepository(session).get(actor.workspace_id, invitation_id)
    if invitation is None:
        raise NotFound("no such invitation")
    _may_assign(actor, invitation.role)
    if invitation.revoked_at is not None or invitation.accepted_at is not None:
        return
    invitation.revoked_at = clock.now()
    await audit.record(
        session,
        actor,
        "invitation.withdrawn",
        ("invitation", invitation.id),
        before={"email": invitation.email, "role": invitation.role.value},
        clock=clock,
    )


# -- passwords -----------------------------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    # Part of the reset token: once the password changes, every earlier link is void.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


async def request_password_reset(
    session: AsyncSession, *, email: str, signer: Signer, cipher: TokenCipher, clock: Clock
) -> None:
    """Mail a reset link when the address has an account; silently nothing otherwise
    (the page says the same either way)."""
    user = await UserRepository(session).get_by_email(email)
    if user is None:
        return
    now = clock.now()
    token = signer.sign(
        RESET_PURPOSE,
        {"u": str(user.id), "h": _password_fingerprint(user)},
        expires_at=now + RESET_LIFETIME,
    )
    await emit(
        session,
        PasswordResetRequested(
            occurred_at=now, workspace_id=None, user_id=user.id, sealed_token=_seal(cipher, token)
        ),
    )


async def user_for_reset(
    session: AsyncSession, token: str, *, signer: Signer, clock: Clock
) -> User:
    refused = TokenRefused(
        "this reset link is not valid, was used, or has expired; ask for a new one"
    )
    try:
        payload = signer.unsign(RESET_PURPOSE, token, now=clock.now())
        user_id = UUID(str(payload["u"]))
    except (BadSignature, KeyError, ValueError):
        raise refused from None
    user = await MemberRepository(session).get_user(user_id)
    if user is None or payload.get("h") != _password_fingerprint(user):
        raise refused
    return user


async def set_password(
    session: AsyncSession, *, user: User, password: str, reason: str, clock: Clock
) -> None:
    """Set a new password and sign out every session of the user (the caller starts a new
    one for the browser that did it)."""
    check_password(password)
    user.password_hash = hash_password(password)
    await SessionRepository(session).revoke(at=clock.now(), user_id=user.id)
    await _record_in_every_workspace(session, user, f"user.{reason}", clock=clock)


async def _record_in_every_workspace(
    session: AsyncSession,
    user: User,
    action: str,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
    clock: Clock,
) -> None:
    # A change to the person is seen in the audit log of every workspace they belong to.
    for workspace, role in await workspaces_of(session, user.id):
        actor = Actor(user_id=user.id, email=user.email, role=role, workspace_id=workspace.id)
        await audit.record(
            session, actor, action, ("user", user.id), before=before, after=after, clock=clock
        )


async def change_password(
    session: AsyncSession, *, user: User, current: str, new: str, clock: Clock
) -> None:
    if not verify_password(current, user.password_hash):
        raise ValidationFailed("this is not your current password", field="current")
    await set_password(session, user=user, password=new, reason="password_changed", clock=clock)


async def rename_user(session: AsyncSession, *, user: User, name: str, clock: Clock) -> None:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("a name has 1 to 200 characters", field="name")
    before = user.name
    if before == name:
        return
    user.name = name
    await _record_in_every_workspace(
        session, user, "user.renamed", before={"name": before}, after={"name": name}, clock=clock
    )


# -- API keys ------------------------------------------------------------------------------


async def api_keys_of(session: AsyncSession, workspace_id: UUID) -> list[ApiKey]:
    return await ApiKeyListing(session).of_workspace(workspace_id)


async def create_api_key(
    session: AsyncSession, actor: Actor, *, name: str, role: Role, clock: Clock
) -> str:
    """The new key's secret: shown once, never stored."""
    if not actor.role.can_administer:
        raise RoleRefused("only owners and admins manage API keys")
    if role is Role.owner:
        raise RoleRefused("an API key is at most admin", field="role")
    issued = await issue_api_key(session, workspace_id=actor.workspace_id, name=name, role=role)
    await audit.record(
        session,
        actor,
        "api_key.created",
        ("api_key", issued.api_key.id),
        after={"name": issued.api_key.name, "prefix": issued.api_key.prefix, "role": role.value},
        clock=clock,
    )
    return issued.plaintext


async def revoke_api_key(
    session: AsyncSession, actor: Actor, *, api_key_id: UUID, clock: Clock
) -> None:
    if not actor.role.can_administer:
        raise RoleRefused("only owners and admins manage API keys")
    key = await ApiKeyListing(session).get(actor.workspace_id, api_key_id)
    if key is None:
        raise NotFound("no such API key")
    if key.revoked_at is not None:
        return
    key.revoked_at = clock.now()
    await audit.record(
        session,
        actor,
        "api_key.revoked",
        ("api_key", key.id),
        before={"name": key.name, "prefix": key.prefix},
        clock=clock,
    )


async def has_account(session: AsyncSession, email: str) -> bool:
    return await UserRepository(session).get_by_email(email) is not None


async def get_user(session: AsyncSession, user_id: UUID) -> User | None:
    return await MemberRepository(session).get_user(user_id)
