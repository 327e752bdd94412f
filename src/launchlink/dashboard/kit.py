"""Who is asking, and may they: the dashboard's one authorisation dependency.

Every workspace page and action is declared with ``member(Need.…)``: it proves the
session (a cookie whose token hash is a live ``user_session`` row), finds the membership
of that user in the workspace of the URL — another workspace does not exist for them
(404) — and checks the role against what the route needs (403). Every POST reads its form
through :data:`CsrfForm`, refused without this browser's token.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from starlette.responses import HTMLResponse

from launchlink.accounts import people
from launchlink.accounts.audit import Actor
from launchlink.dependencies import Session, get_clock
from launchlink.errors import Forbidden, LaunchlinkError, NotFound
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.models.accounts import Role, WorkspaceKind
from launchlink.presave.front import parse_cookies
from launchlink.presave.ratelimit import FormRateLimiter
from launchlink.web.forms import MAX_FORM_BYTES, read_form
from launchlink.web.security import (
    BROWSER_COOKIE,
    CSRF_FIELD,
    CookieJar,
    Signer,
    new_browser_id,
    security_headers,
)
from launchlink.web.templates import render

SESSION_COOKIE = "ll_session"
PREFIX = "/dashboard"


@dataclass(frozen=True)
class DashboardKit:
    signer: Signer
    cookies: CookieJar
    cipher: TokenCipher
    """Seals the links of emails into their outbox events."""
    deliver: Callable[[], Awaitable[None]]
    """One outbox tick after a commit that emitted an email (the web fast path)."""
    limiter: FormRateLimiter
    open_sign_up: bool
    trusted_proxies: tuple[str, ...]


def kit_of(request: Request) -> DashboardKit:
    kit: DashboardKit = request.app.state.dashboard
    return kit


Kit = Annotated[DashboardKit, Depends(kit_of)]
CurrentClock = Annotated[Clock, Depends(get_clock)]


class NeedsLogin(LaunchlinkError):
    """No live session: the browser is sent to the login page (and back afterwards)."""

    status_code = 401
    code = "unauthenticated"


class Need(enum.Enum):
    """What a route does, from least to most: each role allows what it ranks for."""

    view = Role.viewer
    edit = Role.editor
    manage = Role.admin
    own = Role.owner


@dataclass(frozen=True)
class WorkspaceView:
    id: UUID
    name: str
    kind: WorkspaceKind
    role: Role


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user as plain values (safe to use after a rollback)."""

    user_id: UUID
    email: str
    name: str
    session_id: UUID
    workspaces: tuple[WorkspaceView, ...]


@dataclass(frozen=True)
class Member:
    user: SignedIn
    workspace: WorkspaceView
    actor: Actor

    def can(self, need: Need) -> bool:
        return self.workspace.role.rank >= need.value.rank


async def _signed_in(request: Request, session: Session, clock: CurrentClock) -> SignedIn:
    token = parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE)
    found = await people.session_user(session, token, clock)
    if found is None:
        raise NeedsLogin("please log in")
    user_session, user = found
    workspaces = tuple(
        WorkspaceView(id=w.id, name=w.name, kind=w.kind, role=role)
        for w, role in await people.workspaces_of(session, user.id)
    )
    return SignedIn(
        user_id=user.id,
        email=user.email,
        name=user.name,
        session_id=user_session.id,
        workspaces=workspaces,
    )


CurrentUser = Annotated[SignedIn, Depends(_signed_in)]


def member(need: Need) -> Any:
    """The dependency of every workspace route: signed in, a member, allowed."""

    async def _member(workspace_id: UUID, user: CurrentUser) -> Member:
        workspace = next((w for w in user.workspaces if w.id == workspace_id), None)
        if workspace is None:
            raise NotFound("there is no workspace here, or you are not a member of it")
        if workspace.role.rank < need.value.rank:
            raise Forbidden(
                f"your role in {workspace.name} ({workspace.role.value}) cannot do this; "
                f"ask an owner or admin"
            )
        actor = Actor(
            user_id=user.user_id, email=user.email, role=workspace.role, workspace_id=workspace.id
        )
        return Member(user=user, workspace=workspace, actor=actor)

    return Depends(_member)


def browser_id(request: Request, kit: DashboardKit) -> str | None:
    return kit.signer.browser_id_of(
        parse_cookies(request.headers.get("cookie")).get(BROWSER_COOKIE)
    )


def _csrf_form_of(max_bytes: int) -> Any:
    async def _csrf_form(request: Request, kit: Kit) -> dict[str, str]:
        form = await read_form(request, max_bytes=max_bytes)
        browser = browser_id(request, kit)
        if browser is None or not kit.signer.csrf_ok(browser, form.get(CSRF_FIELD)):
            raise Forbidden(
                "this form expired or was sent from another site; go back, reload and try again"
            )
        return form

    return _csrf_form


CsrfForm = Annotated[dict[str, str], Depends(_csrf_form_of(MAX_FORM_BYTES))]
LargeCsrfForm = Annotated[dict[str, str], Depends(_csrf_form_of(256 * 1024))]
"""A form carrying a pasted file (the bulk CSV)."""


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    set_cookies: tuple[str, ...] = (),
) -> HTMLResponse:
    """A rendered page carrying this browser's CSRF token (and its browser cookie when it
    has none yet)."""
    kit = kit_of(request)
    cookies = list(set_cookies)
    browser = browser_id(request, kit)
    if browser is None:
        browser = new_browser_id()
        cookies.append(kit.cookies.set(BROWSER_COOKIE, kit.signer.browser_cookie(browser)))
    body = render(
        template,
        {
            "csrf": kit.signer.csrf_token(browser),
            "prefix": PREFIX,
            "path": request.url.path,
            "errors": {},
            "values": {},
            "notice": None,
            **context,
        },
    )
    response = HTMLResponse(body, status_code=status, headers=security_headers())
    for cookie in cookies:
        response.headers.append("set-cookie", cookie)
    return response
