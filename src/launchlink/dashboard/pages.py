"""The dashboard's pages and actions. Each parses, authorises (``member(Need.…)``),
calls one service, and renders or redirects (post/redirect/get)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from launchlink.accounts import audit, people
from launchlink.accounts.errors import InvalidCredentials, SignUpClosed
from launchlink.analytics import queries
from launchlink.analytics.exports import MEDIA_TYPES, ExportFormat, export_stream
from launchlink.autofill.sources import LookupSources, get_lookup_sources
from launchlink.context import AppContext
from launchlink.dashboard import bulk, campaigns, insights, lifecycle, release_day
from launchlink.dashboard import fans as fan_pages
from launchlink.dashboard.forms import (
    AcceptForm,
    AccountForm,
    AnalyticsForm,
    ApiKeyForm,
    CampaignForm,
    FansForm,
    InviteForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasteForm,
    ResetRequestForm,
    RoleForm,
    SignUpForm,
    WorkspaceForm,
)
from launchlink.dashboard.kit import (
    PREFIX,
    SESSION_COOKIE,
    CsrfForm,
    CurrentClock,
    CurrentUser,
    Kit,
    LargeCsrfForm,
    Member,
    Need,
    NeedsLogin,
    SignedIn,
    form_page,
    member,
    nav,
    notice,
    page,
    refuse,
    see_other,
    workspace_url,
)
from launchlink.dashboard.repository import DashboardRepository, FanFilter
from launchlink.db import after_commit
from launchlink.dependencies import Session, get_context
from launchlink.errors import InvalidTimeRange, LaunchlinkError, NotFound, ValidationFailed
from launchlink.kit.territories import bundled_territory_time_zones
from launchlink.links.service import public_url_at
from launchlink.models.accounts import Role, WorkspaceKind
from launchlink.presave.front import parse_cookies
from launchlink.presave.ratelimit import Hit, RateLimit, RateLimited, client_address
from launchlink.web.forms import FormResult, validate

LOGIN_PER_ADDRESS = RateLimit("login_email", 10, timedelta(minutes=15))
"""Login attempts for one email address, from anywhere (guessing one account's password)."""
LOGIN_PER_CLIENT = RateLimit("login_ip", 50, timedelta(minutes=15))
"""Login attempts from one client address (trying many accounts)."""
RESET_PER_ADDRESS = RateLimit("reset_email", 3, timedelta(hours=1))
"""Password-reset emails to one address."""
SESSION_MAX_AGE = int(people.SESSION_LIFETIME.total_seconds())
CAMPAIGNS_SHOWN = 200
AUDIT_SHOWN = 200

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only our own pages: an absolute or scheme-relative URL would make login an open redirect.
    if (
        target
        and target.startswith(PREFIX + "/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return PREFIX


# Auto-fill names the identifier it was given; on the dashboard they are all the paste.
_PASTE_FIELDS = {"url": "paste", "upc": "paste", "isrc": "paste"}


def _field_error(result: FormResult[Any], error: LaunchlinkError, default: str) -> None:
    field = error.field or default
    result.fail(_PASTE_FIELDS.get(field, field) if default == "paste" else field, error.message)


# -- entry ---------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request, session: Session, kit: Kit, clock: CurrentClock) -> Response:
    token = parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE)
    found = await people.session_user(session, token, clock)
    if found is None:
        if await people.is_fresh_instance(session):
            return see_other(f"{PREFIX}/signup")
        return see_other(f"{PREFIX}/login")
    workspaces = await people.workspaces_of(session, found[1].id)
    if not workspaces:
        return see_other(f"{PREFIX}/workspaces/new")
    return see_other(f"{PREFIX}/w/{workspaces[0][0].id}/campaigns")


@router.get("/switch")
async def switch(request: Request, user: CurrentUser) -> Response:
    wanted = request.query_params.get("workspace", "")
    for workspace in user.workspaces:
        if str(workspace.id) == wanted:
            return see_other(f"{PREFIX}/w/{workspace.id}/campaigns")
    return see_other(PREFIX)


# -- sign-up, login, logout ----------------------------------------------------------------


def _session_cookie(kit: Any, token: str) -> str:
    cookie: str = kit.cookies.set(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE)
    return cookie


@router.get("/signup")
async def signup_page(request: Request, session: Session, kit: Kit) -> Response:
    fresh = await people.is_fresh_instance(session)
    return page(
        request,
        "dashboard/signup.html",
        {"fresh": fresh, "open": fresh or kit.open_sign_up, "kinds": list(WorkspaceKind)},
    )


@router.post("/signup")
async def signup(request: Request, form: CsrfForm, kit: Kit, clock: CurrentClock) -> Response:
    result = validate(SignUpForm, form)
    database = get_context(request).database
    async with database.transaction(write_lock=True) as session:
        fresh = await people.is_fresh_instance(session)
        if not (fresh or kit.open_sign_up):
            # Closed whatever was typed: the same refusal for a valid and an invalid form.
            raise SignUpClosed()
        if result.data is not None:
            try:
                user, workspace = await people.sign_up(
                    session,
                    email=result.data.email,
                    name=result.data.name,
                    password=result.data.password,
                    workspace_name=result.data.workspace_name,
                    kind=result.data.kind,
                    open_sign_up=kit.open_sign_up,
                    clock=clock,
                )
                token = await people.start_session(
                    session,
                    user=user,
                    clock=clock,
                    user_agent=request.headers.get("user-agent", ""),
                    replacing=parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE),
                )
                workspace_id = workspace.id
            except LaunchlinkError as error:
                await refuse(session)
                if error.status_code == 403:
                    raise
                _field_error(result, error, "email")
    if not result.ok:
        return page(
            request,
            "dashboard/signup.html",
            {
                "fresh": fresh,
                "open": fresh or kit.open_sign_up,
                "kinds": list(WorkspaceKind),
                "errors": result.errors,
                "values": result.values,
            },
            status=422,
        )
    return see_other(f"{PREFIX}/w/{workspace_id}/campaigns", _session_cookie(kit, token))


@router.get("/login")
async def login_page(request: Request) -> Response:
    return page(
        request,
        "dashboard/login.html",
        {
            "values": {"next": _safe_next(request.query_params.get("next"))},
            "notice": notice(request),
        },
    )


@router.post("/login")
async def login(request: Request, form: CsrfForm, kit: Kit, clock: CurrentClock) -> Response:
    result = validate(LoginForm, form)
    values = {"email": form.get("email", ""), "next": _safe_next(form.get("next"))}
    status = 422
    headers: dict[str, str] = {}
    if result.data is not None:
        client = client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            kit.trusted_proxies,
        )
        hits = [Hit(LOGIN_PER_ADDRESS, result.data.email)]
        if client:
            hits.append(Hit(LOGIN_PER_CLIENT, client))
        try:
            # Before the unit of work: the limiter writes in its own short transaction.
            await kit.limiter.check(hits)
        except RateLimited as limited:
            minutes = max(1, limited.retry_after // 60)
            result.fail("password", f"too many attempts; try again in {minutes} minute(s)")
            status, headers = 429, {"retry-after": str(limited.retry_after)}
    if result.data is not None:
        async with get_context(request).database.transaction(write_lock=True) as session:
            try:
                user = await people.authenticate(
                    session, email=result.data.email, password=result.data.password
                )
                token = await people.start_session(
                    session,
                    user=user,
                    clock=clock,
                    user_agent=request.headers.get("user-agent", ""),
                    replacing=parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE),
                )
            except InvalidCredentials as error:
                _field_error(result, error, "password")
                status = 401
    if not result.ok:
        response = page(
            request,
            "dashboard/login.html",
            {"errors": result.errors, "values": values},
            status=status,
        )
        response.headers.update(headers)
        return response
    return see_other(values["next"], _session_cookie(kit, token))


@router.post("/logout")
async def logout(
    request: Request, form: CsrfForm, session: Session, kit: Kit, clock: CurrentClock
) -> Response:
    await people.end_session(
        session, parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE), clock
    )
    return see_other(f"{PREFIX}/login", kit.cookies.clear(SESSION_COOKIE))


# -- password reset ------------------------------------------------------------------------


@router.get("/reset")
async def reset_page(request: Request) -> Response:
    return page(request, "dashboard/reset_request.html", {"sent": False})


@router.post("/reset")
async def reset_request(
    request: Request, form: CsrfForm, kit: Kit, clock: CurrentClock
) -> Response:
    result = validate(ResetRequestForm, form)
    if result.data is None:
        return page(
            request,
            "dashboard/reset_request.html",
            {"sent": False, "errors": result.errors, "values": result.values},
            status=422,
        )
    try:
        await kit.limiter.check([Hit(RESET_PER_ADDRESS, result.data.email)])
    except RateLimited:
        # The same answer as a sent email: the page must not tell whether an account exists.
        return page(request, "dashboard/reset_request.html", {"sent": True})
    async with get_context(request).database.transaction(write_lock=True) as session:
        await people.request_password_reset(
            session, email=result.data.email, signer=kit.signer, cipher=kit.cipher, clock=clock
        )
    await kit.deliver()  # the same when nothing was emitted: the page must not tell
    return page(request, "dashboard/reset_request.html", {"sent": True})


@router.get("/reset/{token}")
async def reset_form(
    request: Request, token: str, session: Session, kit: Kit, clock: CurrentClock
) -> Response:
    user = await people.user_for_reset(session, token, signer=kit.signer, clock=clock)
    return page(request, "dashboard/reset.html", {"email": user.email, "token": token})


@router.post("/reset/{token}")
async def reset(
    request: Request, token: str, form: CsrfForm, session: Session, kit: Kit, clock: CurrentClock
) -> Response:
    user = await people.user_for_reset(session, token, signer=kit.signer, clock=clock)
    result = validate(NewPasswordForm, form)
    if result.data is None:
        return page(
            request,
            "dashboard/reset.html",
            {"email": user.email, "token": token, "errors": result.errors},
            status=422,
        )
    await people.set_password(
        session, user=user, password=result.data.password, reason="password_reset", clock=clock
    )
    new_token = await people.start_session(
        session, user=user, clock=clock, user_agent=request.headers.get("user-agent", "")
    )
    return see_other(f"{PREFIX}?done=reset", _session_cookie(kit, new_token))


# -- invitations ---------------------------------------------------------------------------


async def _optional_user(request: Request, session: AsyncSession, clock: Any) -> Any:
    token = parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE)
    found = await people.session_user(session, token, clock)
    return found[1] if found is not None else None


@router.get("/invite/{token}")
async def invitation_page(
    request: Request, token: str, session: Session, kit: Kit, clock: CurrentClock
) -> Response:
    invitation, workspace = await people.open_invitation(
        session, token, signer=kit.signer, clock=clock
    )
    user = await _optional_user(request, session, clock)
    has_account = await people.has_account(session, invitation.email)
    return page(
        request,
        "dashboard/invite.html",
        {
            "invitation": invitation,
            "workspace_name": workspace.name,
            "token": token,
            "signed_in_as": user.email if user is not None else None,
            "has_account": has_account,
            "login_url": f"{PREFIX}/login?next={quote(f'{PREFIX}/invite/{token}')}",
        },
    )


@router.post("/invite/{token}")
async def accept_invitation(
    request: Request, token: str, form: CsrfForm, session: Session, kit: Kit, clock: CurrentClock
) -> Response:
    invitation, workspace = await people.open_invitation(
        session, token, signer=kit.signer, clock=clock
    )
    user = await _optional_user(request, session, clock)
    workspace_id, workspace_name, email = workspace.id, workspace.name, invitation.email
    cookies: list[str] = []
    if user is not None:
        await people.accept_invitation(session, invitation, user=user, clock=clock)
    else:
        result = validate(AcceptForm, form)
        if result.data is not None:
            try:
                user = await people.accept_invitation(
                    session,
                    invitation,
                    user=None,
                    name=result.data.name,
                    password=result.data.password,
                    clock=clock,
                )
            except LaunchlinkError as error:
                await refuse(session)
                _field_error(result, error, "password")
        if not result.ok or user is None:
            return page(
                request,
                "dashboard/invite.html",
                {
                    "invitation": {"email": email, "role": invitation.role},
                    "workspace_name": workspace_name,
                    "token": token,
                    "signed_in_as": None,
                    "has_account": False,
                    "login_url": f"{PREFIX}/login",
                    "errors": result.errors,
                    "values": result.values,
                },
                status=422,
            )
        new_token = await people.start_session(
            session, user=user, clock=clock, user_agent=request.headers.get("user-agent", "")
        )
        cookies.append(_session_cookie(kit, new_token))
    return see_other(f"{PREFIX}/w/{workspace_id}/campaigns?done=joined", *cookies)


# -- workspaces ----------------------------------------------------------------------------


@router.get("/workspaces/new")
async def new_workspace_page(request: Request, user: CurrentUser) -> Response:
    return page(
        request,
        "dashboard/new_workspace.html",
        {"user": user, "workspace": None, "active": "", "kinds": list(WorkspaceKind)},
    )


@router.post("/workspaces/new")
async def new_workspace(
    request: Request, form: CsrfForm, user: CurrentUser, session: Session, clock: CurrentClock
) -> Response:
    result = validate(WorkspaceForm, form)
    if result.data is not None:
        account = await _load_user(session, user)
        try:
            workspace = await people.new_workspace(
                session, user=account, name=result.data.name, kind=result.data.kind, clock=clock
            )
            return see_other(f"{PREFIX}/w/{workspace.id}/campaigns?done=created")
        except LaunchlinkError as error:
            await refuse(session)
            _field_error(result, error, "name")
    return page(
        request,
        "dashboard/new_workspace.html",
        {
            "user": user,
            "workspace": None,
            "active": "",
            "kinds": list(WorkspaceKind),
            "errors": result.errors,
            "values": result.values,
        },
        status=422,
    )


async def _load_user(session: AsyncSession, user: SignedIn) -> Any:
    account = await people.get_user(session, user.user_id)
    if account is None:
        raise NeedsLogin("please log in")
    return account


@router.get("/w/{workspace_id}")
async def workspace_home(m: Annotated[Member, member(Need.view)]) -> Response:
    return see_other(workspace_url(m, "/campaigns"))


@router.get("/w/{workspace_id}/campaigns")
async def campaign_list(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    repository = DashboardRepository(session)
    rows = await repository.campaigns(m.workspace.id, limit=CAMPAIGNS_SHOWN)
    counts = await repository.presave_counts([row.link_id for row in rows])
    public_url = get_context(request).settings.public_url.rstrip("/")
    items = [
        {
            "id": row.link_id,
            "title": row.title,
            "slug": row.slug,
            "url": public_url_at(row.host, row.slug, public_base_url=public_url),
            "release": row.release_instant or row.release_date,
            "artwork": row.artwork_url,
            "presaves": counts.get(row.link_id, 0),
            "created": row.created_at,
        }
        for row in rows
    ]
    return page(
        request,
        "dashboard/campaigns.html",
        {**nav(m, "campaigns"), "campaigns": items, "notice": notice(request)},
    )


def _fan_filter(request: Request) -> tuple[FormResult[FansForm], FanFilter, UUID | None]:
    result = validate(FansForm, dict(request.query_params))
    data = result.data or FansForm()
    return result, FanFilter(data.q, data.consent, data.campaign, data.service), data.before


@router.get("/w/{workspace_id}/fans")
async def fans(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    result, wanted, before = _fan_filter(request)
    if not result.ok:
        wanted, before = FanFilter(), None
    view = await fan_pages.fans_view(session, m.workspace.id, wanted, before=before)
    repository = DashboardRepository(session)
    choices = await repository.campaign_choices(m.workspace.id, limit=CAMPAIGNS_SHOWN)
    query = {k: v for k, v in request.query_params.items() if k != "before" and v}
    return form_page(
        request,
        "dashboard/fans.html",
        {
            **nav(m, "fans"),
            "view": view,
            "fan_count": await repository.fan_count(m.workspace.id),
            "campaigns": choices,
            "query": urlencode(query),
        },
        status=200 if result.ok else 422,
        errors=result.errors,
        values=result.values,
    )


@router.get("/w/{workspace_id}/fans/export.csv")
async def fans_export(request: Request, m: Annotated[Member, member(Need.edit)]) -> Response:
    """Consenting fans only, streamed (an export is read in its own session)."""
    result, wanted, _ = _fan_filter(request)
    if not result.ok:
        raise ValidationFailed(next(iter(result.errors.values())), field=next(iter(result.errors)))
    return StreamingResponse(
        fan_pages.consenting_csv(get_context(request).database, m.workspace.id, wanted),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="fans-consenting.csv"',
            "cache-control": "private, no-store",
        },
    )


@router.post("/w/{workspace_id}/fans/{fan_id}/delete")
async def delete_fan(
    fan_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    await fan_pages.delete_fan(session, m.actor, fan_id, clock=clock)
    return see_other(workspace_url(m, "/fans?done=fan_deleted"))


@router.get("/w/{workspace_id}/analytics")
async def analytics(
    request: Request,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    result = validate(AnalyticsForm, dict(request.query_params))
    data = result.data or AnalyticsForm()
    view = None
    try:
        window = insights.window_of(data.start, data.end, now=clock.now())
        view = await insights.analytics_view(
            session, m.workspace.id, window, data.interval, data.campaign
        )
    except InvalidTimeRange as error:
        result.fail({"from": "from", "to": "to"}.get(error.field or "", "interval"), error.message)
    except NotFound:
        result.fail("campaign", "choose one of your campaigns")
    choices = await DashboardRepository(session).campaign_choices(
        m.workspace.id, limit=CAMPAIGNS_SHOWN
    )
    return page(
        request,
        "dashboard/analytics.html",
        {
            **nav(m, "analytics"),
            "view": view,
            "campaigns": choices,
            "presets": [
                (days, (clock.now() - timedelta(days=days - 1)).date()) for days in insights.PRESETS
            ],
            "errors": result.errors,
            "values": result.values,
        },
        status=200 if not result.errors else 422,
    )


@router.get("/w/{workspace_id}/analytics/campaigns/{link_id}/events.{kind}")
async def analytics_export(
    request: Request,
    link_id: UUID,
    kind: str,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    """The API's raw-event export (CSV or Parquet), reached with the dashboard's session."""
    if kind not in MEDIA_TYPES:
        raise NotFound("exports come as .csv or .parquet")
    result = validate(AnalyticsForm, dict(request.query_params))
    data = result.data or AnalyticsForm()
    window = insights.window_of(data.start, data.end, now=clock.now())
    link = await queries.owned_link(session, m.workspace.id, link_id)
    export_format: ExportFormat = "csv" if kind == "csv" else "parquet"
    name = f"{link.slug}-{window.start:%Y%m%d}-{window.end:%Y%m%d}.{kind}"
    return StreamingResponse(
        export_stream(
            export_format, get_context(request).database, link.id, window.start, window.end
        ),
        media_type=MEDIA_TYPES[export_format],
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "private, no-store",
        },
    )


@router.get("/w/{workspace_id}/settings")
async def settings(m: Annotated[Member, member(Need.view)]) -> Response:
    return see_other(workspace_url(m, "/members"))


# -- members and invitations ---------------------------------------------------------------


async def _members_page(
    request: Request,
    session: AsyncSession,
    m: Member,
    clock: Any,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    members = await people.members_of(session, m.workspace.id)
    invitations = (
        await people.open_invitations(session, m.workspace.id, clock) if m.can(Need.manage) else []
    )
    assignable = [r for r in Role if r.rank <= m.workspace.role.rank] if m.can(Need.manage) else []
    return form_page(
        request,
        "dashboard/members.html",
        {
            **nav(m, "members"),
            "members": [
                {"id": u.id, "email": u.email, "name": u.name, "role": ms.role} for u, ms in members
            ],
            "invitations": invitations,
            "roles": assignable,
        },
        status=status,
        errors=errors,
        values=values,
    )


@router.get("/w/{workspace_id}/members")
async def members(
    request: Request, session: Session, clock: CurrentClock, m: Annotated[Member, member(Need.view)]
) -> Response:
    return await _members_page(request, session, m, clock)


@router.post("/w/{workspace_id}/members/invite")
async def invite(
    request: Request,
    form: CsrfForm,
    session: Session,
    kit: Kit,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    result = validate(InviteForm, form)
    if result.data is not None:
        try:
            await people.invite(
                session,
                m.actor,
                email=result.data.email,
                role=result.data.role,
                signer=kit.signer,
                cipher=kit.cipher,
                clock=clock,
            )
            after_commit(session, kit.deliver)  # the email leaves before the page answers
            return see_other(workspace_url(m, "/members?done=invited"))
        except LaunchlinkError as error:
            await refuse(session)
            _field_error(result, error, "email")
    return await _members_page(
        request, session, m, clock, status=422, errors=result.errors, values=result.values
    )


@router.post("/w/{workspace_id}/members/{user_id}/role")
async def change_role(
    request: Request,
    user_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    result = validate(RoleForm, form)
    if result.data is not None:
        try:
            await people.change_role(
                session, m.actor, user_id=user_id, role=result.data.role, clock=clock
            )
            return see_other(workspace_url(m, "/members?done=role"))
        except LaunchlinkError as error:
            await refuse(session)
            _field_error(result, error, "role")
    return await _members_page(request, session, m, clock, status=422, errors=result.errors)


@router.post("/w/{workspace_id}/members/{user_id}/remove")
async def remove_member(
    request: Request,
    user_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    # Anyone may leave; removing someone else is checked by the service (owners and admins).
    try:
        await people.remove_member(session, m.actor, user_id=user_id, clock=clock)
    except LaunchlinkError as error:
        await refuse(session)
        if error.status_code == 404:
            raise
        return await _members_page(
            request, session, m, clock, status=error.status_code, errors={"member": error.message}
        )
    if user_id == m.user.user_id:
        return see_other(PREFIX)
    return see_other(workspace_url(m, "/members?done=removed"))


@router.post("/w/{workspace_id}/invitations/{invitation_id}/withdraw")
async def withdraw_invitation(
    invitation_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    await people.withdraw_invitation(session, m.actor, invitation_id=invitation_id, clock=clock)
    return see_other(workspace_url(m, "/members?done=withdrawn"))


# -- API keys ------------------------------------------------------------------------------


async def _keys_page(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    secret: str | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    keys = await people.api_keys_of(session, m.workspace.id)
    return form_page(
        request,
        "dashboard/api_keys.html",
        {
            **nav(m, "api_keys"),
            "keys": keys,
            "secret": secret,
            "roles": [Role.admin, Role.editor, Role.viewer],
        },
        status=status,
        errors=errors,
        values=values,
    )


@router.get("/w/{workspace_id}/api-keys")
async def api_keys(
    request: Request, session: Session, m: Annotated[Member, member(Need.manage)]
) -> Response:
    return await _keys_page(request, session, m)


@router.post("/w/{workspace_id}/api-keys")
async def create_api_key(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    result = validate(ApiKeyForm, form)
    if result.data is not None:
        try:
            secret = await people.create_api_key(
                session, m.actor, name=result.data.name, role=result.data.role, clock=clock
            )
            # Rendered, not redirected: the secret exists only in this one response.
            return await _keys_page(request, session, m, secret=secret)
        except LaunchlinkError as error:
            await refuse(session)
            _field_error(result, error, "name")
    return await _keys_page(
        request, session, m, status=422, errors=result.errors, values=result.values
    )


@router.post("/w/{workspace_id}/api-keys/{api_key_id}/revoke")
async def revoke_api_key(
    api_key_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    await people.revoke_api_key(session, m.actor, api_key_id=api_key_id, clock=clock)
    return see_other(workspace_url(m, "/api-keys?done=revoked"))


# -- audit log -----------------------------------------------------------------------------


@router.get("/w/{workspace_id}/audit")
async def audit_log(
    request: Request, session: Session, m: Annotated[Member, member(Need.manage)]
) -> Response:
    entries = await audit.entries(session, m.workspace.id, limit=AUDIT_SHOWN)
    return page(request, "dashboard/audit.html", {**nav(m, "audit"), "entries": entries})


# -- account -------------------------------------------------------------------------------


async def _account_page(
    request: Request,
    session: AsyncSession,
    user: SignedIn,
    clock: Any,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    sessions = await people.sessions_of(session, user.user_id, clock)
    workspace = user.workspaces[0] if user.workspaces else None
    return form_page(
        request,
        "dashboard/account.html",
        {"user": user, "workspace": workspace, "active": "account", "sessions": sessions},
        status=status,
        errors=errors,
        values=values or {"name": user.name},
    )


@router.get("/account")
async def account(
    request: Request, session: Session, clock: CurrentClock, user: CurrentUser
) -> Response:
    return await _account_page(request, session, user, clock)


@router.post("/account")
async def rename(
    request: Request, form: CsrfForm, session: Session, clock: CurrentClock, user: CurrentUser
) -> Response:
    result = validate(AccountForm, form)
    if result.data is not None:
        await people.rename_user(
            session, user=await _load_user(session, user), name=result.data.name, clock=clock
        )
        return see_other(f"{PREFIX}/account?done=saved")
    return await _account_page(
        request, session, user, clock, status=422, errors=result.errors, values=result.values
    )


@router.post("/account/password")
async def change_password(
    request: Request,
    form: CsrfForm,
    session: Session,
    kit: Kit,
    clock: CurrentClock,
    user: CurrentUser,
) -> Response:
    result = validate(PasswordChangeForm, form)
    if result.data is not None:
        account_row = await _load_user(session, user)
        try:
            await people.change_password(
                session,
                user=account_row,
                current=result.data.current,
                new=result.data.password,
                clock=clock,
            )
            token = await people.start_session(
                session,
                user=account_row,
                clock=clock,
                user_agent=request.headers.get("user-agent", ""),
            )
            return see_other(f"{PREFIX}/account?done=password", _session_cookie(kit, token))
        except LaunchlinkError as error:
            await refuse(session)
            _field_error(result, error, "password")
    return await _account_page(
        request, session, user, clock, status=422, errors=result.errors, values={"name": user.name}
    )


@router.post("/account/sessions/{session_id}/revoke")
async def revoke_session(
    session_id: UUID, form: CsrfForm, session: Session, clock: CurrentClock, user: CurrentUser
) -> Response:
    account_row = await _load_user(session, user)
    await people.revoke_session(session, user=account_row, session_id=session_id, clock=clock)
    if session_id == user.session_id:
        return see_other(f"{PREFIX}/login")
    return see_other(f"{PREFIX}/account?done=signed_out")


# -- campaigns from one paste --------------------------------------------------------------


async def _sources(request: Request, m: Member) -> LookupSources:
    return await campaigns.lookup_sources(
        get_lookup_sources(request), get_context(request).apps, m.workspace.id
    )


@router.get("/w/{workspace_id}/campaigns/new")
async def new_campaign_page(request: Request, m: Annotated[Member, member(Need.edit)]) -> Response:
    return page(request, "dashboard/campaign_new.html", {**nav(m, "campaigns"), "preview": None})


@router.post("/w/{workspace_id}/campaigns/new")
async def paste_campaign(
    request: Request,
    form: CsrfForm,
    session: Session,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    result = validate(PasteForm, form)
    found = None
    if result.data is not None:
        try:
            found = await campaigns.preview(
                session,
                m.workspace.id,
                result.data.paste,
                await _sources(request, m),
                apps=get_context(request).apps,
            )
        except LaunchlinkError as error:
            _field_error(result, error, "paste")
    return page(
        request,
        "dashboard/campaign_new.html",
        {
            **nav(m, "campaigns"),
            "preview": found,
            "errors": result.errors,
            "values": {**result.values, "slug": found.slug} if found else result.values,
        },
        status=200 if result.ok else 422,
    )


@router.post("/w/{workspace_id}/campaigns")
async def create_campaign(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    result = validate(CampaignForm, form)
    data = result.data
    sources = await _sources(request, m)
    if data is not None:
        try:
            link = await campaigns.create(
                session,
                m.actor,
                paste=data.paste,
                slug=data.slug or None,
                release_date=data.release_date,
                sources=sources,
                clock=clock,
                apps=get_context(request).apps,
            )
            return see_other(workspace_url(m, f"/campaigns/{link.id}?done=launched"))
        except LaunchlinkError as error:
            await refuse(session)
            _field_error(result, error, "paste")
    found = None
    if data is not None and "paste" not in result.errors:
        # The form again, under what was found, with the error next to its field.
        try:
            found = await campaigns.preview(session, m.workspace.id, data.paste, sources)
        except LaunchlinkError:
            found = None
    return page(
        request,
        "dashboard/campaign_new.html",
        {
            **nav(m, "campaigns"),
            "preview": found,
            "errors": result.errors,
            "values": result.values,
        },
        status=422,
    )


@router.get("/w/{workspace_id}/campaigns/bulk")
async def bulk_page(request: Request, m: Annotated[Member, member(Need.edit)]) -> Response:
    return page(
        request,
        "dashboard/campaign_bulk.html",
        {**nav(m, "campaigns"), "results": None, "dry_run": True, "max_rows": bulk.MAX_ROWS},
    )


@router.post("/w/{workspace_id}/campaigns/bulk")
async def bulk_run(
    request: Request,
    form: LargeCsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    dry_run = form.get("dry_run") == "1"
    results = None
    errors: dict[str, str] = {}
    try:
        results = await bulk.run(
            session,
            m.actor,
            form.get("csv", ""),
            dry_run=dry_run,
            sources=await _sources(request, m),
            clock=clock,
        )
    except ValidationFailed as error:
        errors["csv"] = error.message
    return page(
        request,
        "dashboard/campaign_bulk.html",
        {
            **nav(m, "campaigns"),
            "results": results,
            "dry_run": dry_run,
            "max_rows": bulk.MAX_ROWS,
            "errors": errors,
            "values": {"csv": form.get("csv", "")},
        },
        status=422 if errors else 200,
    )


@router.get("/w/{workspace_id}/campaigns/{link_id}")
async def campaign_page(
    request: Request,
    link_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    context = get_context(request)
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=context.settings.public_url
    )
    now = clock.now()
    life = lifecycle.lifecycle(
        found.link,
        found.release,
        found.presave_campaign,
        now=now,
        territories=_territories(context),
    )
    channels = [(name, campaigns.channel_url(found.url, name)) for name in campaigns.CHANNELS]
    release_at = next((s.at for s in life.steps if s.key == "release"), None)
    return page(
        request,
        "dashboard/campaign.html",
        {
            **nav(m, "campaigns"),
            "c": found,
            "life": life,
            "counts": await campaigns.live_counts(session, found.link, now=now),
            "channels": channels,
            "shares": lifecycle.share_texts(
                title=found.release.title,
                artist=found.artist,
                when=release_at.strftime("%d %B") if release_at else "soon",
                channel_urls=channels,
                released=not life.phase.is_before_release,
            ),
            "notice": notice(request),
        },
    )


def _territories(context: AppContext) -> Any:
    return context.territories or bundled_territory_time_zones()


@router.get("/w/{workspace_id}/campaigns/{link_id}/counts")
async def campaign_counts(
    request: Request,
    link_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    """The live counts fragment the campaign page polls (HTMX)."""
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=get_context(request).settings.public_url
    )
    counts = await campaigns.live_counts(session, found.link, now=clock.now())
    return page(
        request, "dashboard/_counts.html", {**nav(m, "campaigns"), "c": found, "counts": counts}
    )


async def _fulfilment_page(
    request: Request, session: AsyncSession, m: Member, link_id: UUID, clock: Any, template: str
) -> Response:
    context = get_context(request)
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=context.settings.public_url
    )
    view = await release_day.fulfilment_view(
        session, found.link, settings=context.settings, database=context.database, clock=clock
    )
    return page(
        request, template, {**nav(m, "campaigns"), "c": found, "f": view, "now": clock.now()}
    )


@router.get("/w/{workspace_id}/campaigns/{link_id}/fulfilment")
async def fulfilment_page(
    request: Request,
    link_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    return await _fulfilment_page(request, session, m, link_id, clock, "dashboard/fulfilment.html")


@router.get("/w/{workspace_id}/campaigns/{link_id}/fulfilment/progress")
async def fulfilment_progress(
    request: Request,
    link_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    """The progress fragment the fulfilment page polls on release day (HTMX)."""
    return await _fulfilment_page(
        request, session, m, link_id, clock, "dashboard/_fulfilment_progress.html"
    )


@router.get("/w/{workspace_id}/campaigns/{link_id}/fulfilment/report.csv")
async def fulfilment_report(
    request: Request, link_id: UUID, session: Session, m: Annotated[Member, member(Need.edit)]
) -> Response:
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=get_context(request).settings.public_url
    )
    body = await release_day.report_csv(session, found.link.id)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="fulfilment-{found.link.slug}.csv"',
            "cache-control": "private, no-store",
        },
    )


@router.get("/w/{workspace_id}/campaigns/{link_id}/qr.{kind}")
async def campaign_qr(
    request: Request,
    link_id: UUID,
    kind: str,
    session: Session,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    if kind not in ("svg", "png"):
        raise NotFound("QR codes come as .svg or .png")
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=get_context(request).settings.public_url
    )
    channel = request.query_params.get("channel") or None
    url = campaigns.channel_url(found.url, channel)
    body = campaigns.qr_code(url, "svg" if kind == "svg" else "png")
    name = f"{found.link.slug}{'-' + channel if channel else ''}-qr.{kind}"
    return Response(
        body,
        media_type="image/svg+xml" if kind == "svg" else "image/png",
        headers={
            "cache-control": "private, max-age=3600",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
            "content-disposition": (
                f'attachment; filename="{name}"'
                if request.query_params.get("download")
                else "inline"
            ),
        },
    )
