"""What every dashboard page and action shares: who is asking and may they, and the
pieces each renders or redirects with.

Every workspace page and action is declared with ``member(Need.…)``: it proves the
session (a cookie whose token hash is a live ``user_session`` row), finds the membership
of that user in the workspace of the URL — another workspace does not exist for them
(404) — and checks the role against what the route needs (403). Every POST reads its form
through :data:`CsrfForm`, refused without this browser's token. A page is rendered with
:func:`page` (:func:`form_page` when it has forms: the notice of the action just done,
each field's error and what was typed); an action that succeeded answers
:func:`see_other` (post/redirect/get) with ``?done=`` naming its notice.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

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

NOTICES = {
    "invited": "Invitation sent.",
    "withdrawn": "Invitation withdrawn.",
    "role": "Role changed.",
    "removed": "Member removed.",
    "revoked": "API key revoked.",
    "saved": "Saved.",
    "password": "Password changed. Other browsers were signed out.",
    "signed_out": "That session was signed out.",
    "reset": "Password changed. You are signed in.",
    "joined": "Welcome! You joined the workspace.",
    "created": "Workspace created.",
    "launched": "Your campaign is live.",
    "fan_deleted": "The fan and everything stored about them were deleted.",
    "released": "Released: it is out now, and the pre-saves are being fulfilled.",
}
"""What each ``?done=`` of the workspace's pages says (a section with notices of its own,
as Messaging, passes its table to :func:`notice`)."""


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


def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notices: Mapping[str, str] = NOTICES,
) -> HTMLResponse:
    """A page with forms: the notice of the action just done, each field's error and what
    was typed, shown again after a refusal (``status`` 422)."""
    return page(
        request,
        template,
        {
            **context,
            "notice": notice(request, notices),
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


def notice(request: Request, notices: Mapping[str, str] = NOTICES) -> str | None:
    """What the action just done says (its redirect's ``?done=``), if anything."""
    return notices.get(request.query_params.get("done", ""))


def see_other(url: str, *cookies: str) -> Response:
    """The answer of an action that succeeded: the browser goes to ``url`` (a GET)."""
    response = RedirectResponse(url, status_code=303)
    for cookie in cookies:
        response.headers.append("set-cookie", cookie)
    response.headers["cache-control"] = security_headers()["cache-control"]
    return response


async def refuse(session: AsyncSession) -> None:
    """Undo what a refused action wrote before it failed (the request would commit it)."""
    await session.rollback()


def nav(m: Member, active: str) -> dict[str, Any]:
    """What the layout of a workspace page needs: who, where, and which section is open."""
    return {"user": m.user, "workspace": m.workspace, "me": m, "active": active, "Need": Need}


def workspace_url(m: Member, rest: str = "") -> str:
    return f"{PREFIX}/w/{m.workspace.id}{rest}"
