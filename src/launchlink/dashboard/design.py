"""The Design section of a campaign: theme, artwork, buttons, pre-save choices, texts,
and a live preview of the fan page in every phase (an iframe of :func:`preview`).

Every action is role-checked (editor and up changes, viewers look), every form carries
the CSRF token (the upload too: it is read from the multipart body before anything is
stored) and bad input comes back as the form with the message next to its field.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response

from launchlink.dashboard.kit import (
    CsrfForm,
    Kit,
    Member,
    Need,
    browser_id,
    member,
    nav,
    notice,
    page,
    refuse,
    see_other,
    workspace_url,
)
from launchlink.dependencies import Session, get_context
from launchlink.design import service as design_service
from launchlink.design.artwork import MAX_UPLOAD_BYTES, process_artwork
from launchlink.design.media import artwork_store
from launchlink.design.repository import DesignRepository
from launchlink.design.views import stored_artwork_url
from launchlink.errors import Forbidden, LaunchlinkError, NotFound
from launchlink.i18n import Catalogues
from launchlink.links import service as links_service
from launchlink.links.page import PageRenderer
from launchlink.links.page_cache import PageVariant
from launchlink.links.phase import Countdown, Phase
from launchlink.links.snapshots import DatabaseSnapshotSource
from launchlink.links.theme import THEME_MODES, valid_color
from launchlink.models.presave import ConsentKind, ServiceMode
from launchlink.platforms import UnknownPlatform, get_platform
from launchlink.presave import campaigns as presave_campaigns
from launchlink.presave.consent import DEFAULT_TEXTS
from launchlink.presave.front import FanView
from launchlink.presave.page import PRESAVE_PAGE_CSP
from launchlink.web.forms import validate
from launchlink.web.security import APP_PAGE_CSP, CSRF_FIELD, FAN_PAGE_CSP

router = APIRouter()

PHASES = ("live", "presave", "announce")
TEXT_KINDS = (
    ConsentKind.email_reminder,
    ConsentKind.email,
    ConsentKind.sms_reminder,
    ConsentKind.sms,
    ConsentKind.connect_service,
)
MAX_TEXT = 600
_DESIGN_CSP = APP_PAGE_CSP + "; frame-src 'self'"


class ThemeForm(BaseModel):
    mode: Literal["auto", "light", "dark"] = "auto"
    accent_source: Literal["artwork", "custom"] = "artwork"
    accent: str = ""
    headline: str = Field(default="", max_length=80)
    presave_headline: str = Field(default="", max_length=80)

    @field_validator("accent")
    @classmethod
    def _colour(cls, value: str) -> str:
        value = value.strip()
        if value and valid_color(value) is None:
            raise ValueError("enter a colour as #RRGGBB, like #6D28D9")
        return value


class TextsForm(BaseModel):
    email_reminder: str = Field(default="", max_length=MAX_TEXT)
    email: str = Field(default="", max_length=MAX_TEXT)
    sms_reminder: str = Field(default="", max_length=MAX_TEXT)
    sms: str = Field(default="", max_length=MAX_TEXT)
    connect_service: str = Field(default="", max_length=MAX_TEXT)


def _base(m: Member, link_id: UUID) -> str:
    return workspace_url(m, f"/campaigns/{link_id}/design")


def _service_name(service: str) -> str:
    try:
        return get_platform(service).display_name
    except UnknownPlatform:
        return service


async def _design_context(
    request: Request, session: AsyncSession, m: Member, link_id: UUID
) -> dict[str, Any]:
    link = await links_service.get_link(session, m.workspace.id, link_id)
    design = await DesignRepository(session).get(m.workspace.id, link.id)
    try:
        campaign = await presave_campaigns.get_campaign(session, m.workspace.id, link.id)
    except NotFound:
        campaign = None
    texts = {}
    if campaign is not None:
        for row in await presave_campaigns.consent_texts_of(session, campaign):
            texts[row.kind.value] = row.text
    view = design_service_view(design)
    return {
        **nav(m, "campaigns"),
        "link": link,
        "base": _base(m, link.id),
        "design": design,
        "theme": view,
        "artwork_url": stored_artwork_url(design),
        "destinations": [
            {
                "service": d.service,
                "name": _service_name(d.service),
                "position": i + 1,
                "hidden": d.hidden,
            }
            for i, d in enumerate(sorted(link.destinations, key=lambda d: d.position))
        ],
        "campaign": campaign,
        "service_modes": dict(campaign.service_modes) if campaign else {},
        "modes": [mode.value for mode in ServiceMode],
        "texts": texts,
        "default_texts": {kind.value: DEFAULT_TEXTS[kind] for kind in TEXT_KINDS},
        "text_kinds": [kind.value for kind in TEXT_KINDS],
        "phases": PHASES if campaign is not None else ("live", "announce"),
        "theme_modes": THEME_MODES,
        "max_upload_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "notice": notice(request),
    }


def design_service_view(design: Any) -> dict[str, str]:
    if design is None:
        return {"mode": "auto", "accent_source": "artwork", "accent": "", "headline": "",
                "presave_headline": "", "artwork_accent": ""}  # fmt: skip
    return {
        "mode": design.mode,
        "accent_source": "custom" if design.accent else "artwork",
        "accent": design.accent or "",
        "headline": design.headline or "",
        "presave_headline": design.presave_headline or "",
        "artwork_accent": design.artwork_accent or "",
    }


def _design_page(
    request: Request,
    context: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    response = page(
        request,
        "dashboard/design.html",
        {**context, "errors": errors or {}, "values": values or {}},
        status=status,
    )
    response.headers["content-security-policy"] = _DESIGN_CSP
    return response


@router.get("/w/{workspace_id}/campaigns/{link_id}/design")
async def design_page(
    request: Request, link_id: UUID, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    return _design_page(request, await _design_context(request, session, m, link_id))


async def _failed(
    request: Request,
    session: AsyncSession,
    m: Member,
    link_id: UUID,
    errors: dict[str, str],
    values: dict[str, str],
) -> Response:
    await refuse(session)
    context = await _design_context(request, session, m, link_id)
    return _design_page(request, context, errors=errors, values=values, status=422)


@router.post("/w/{workspace_id}/campaigns/{link_id}/design/theme")
async def save_theme(
    request: Request,
    link_id: UUID,
    form: CsrfForm,
    session: Session,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    result = validate(ThemeForm, form)
    data = result.data
    if data is not None and data.accent_source == "custom" and not data.accent.strip():
        result.fail("accent", "enter a colour as #RRGGBB, or take the artwork's colour")
    if not result.ok or data is None:
        return await _failed(request, session, m, link_id, result.errors, form)
    await design_service.save_theme(
        session,
        m.workspace.id,
        link_id,
        design_service.ThemeChoice(
            mode=data.mode,
            accent=data.accent if data.accent_source == "custom" else None,
            headline=data.headline.strip() or None,
            presave_headline=data.presave_headline.strip() or None,
        ),
    )
    return see_other(_base(m, link_id) + "?done=saved")


async def _upload_form(request: Request, kit: Kit) -> tuple[dict[str, str], bytes | None]:
    """The multipart form of the artwork upload: CSRF checked before the file is used."""
    try:
        form = await request.form(max_files=1, max_fields=5, max_part_size=MAX_UPLOAD_BYTES)
    except Exception:  # a malformed multipart body is the sender's fault, not a 500
        raise Forbidden("this upload could not be read; reload the page and try again") from None
    try:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        browser = browser_id(request, kit)
        if browser is None or not kit.signer.csrf_ok(browser, fields.get(CSRF_FIELD)):
            raise Forbidden(
                "this form expired or was sent from another site; go back, reload and try again"
            )
        upload = form.get("artwork")
        data = await upload.read(MAX_UPLOAD_BYTES + 1) if isinstance(upload, UploadFile) else None
    finally:
        await form.close()
    return fields, data


@router.post("/w/{workspace_id}/campaigns/{link_id}/design/artwork")
async def upload_artwork(
    request: Request,
    link_id: UUID,
    session: Session,
    kit: Kit,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    fields, data = await _upload_form(request, kit)
    if fields.get("remove") == "1":
        await design_service.remove_artwork(session, m.workspace.id, link_id)
        return see_other(_base(m, link_id) + "?done=saved")
    try:
        await links_service.get_link(session, m.workspace.id, link_id)
        artwork = process_artwork(data or b"")
        store = artwork_store(get_context(request).settings.var_dir)
        await design_service.save_artwork(session, m.workspace.id, link_id, artwork, store)
    except LaunchlinkError as error:
        if isinstance(error, NotFound):
            raise
        return await _failed(
            request, session, m, link_id, {error.field or "artwork": error.message}, {}
        )
    return see_other(_base(m, link_id) + "?done=saved")


@router.post("/w/{workspace_id}/campaigns/{link_id}/design/buttons")
async def save_buttons(
    request: Request,
    link_id: UUID,
    form: CsrfForm,
    session: Session,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """Order (a number per service), visibility, and each service's pre-save mode."""
    link = await links_service.get_link(session, m.workspace.id, link_id)
    services = [d.service for d in sorted(link.destinations, key=lambda d: d.position)]
    errors: dict[str, str] = {}
    order: list[tuple[int, int, str]] = []
    for index, service in enumerate(services):
        raw = form.get(f"position.{service}", str(index + 1)).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 99:
            errors[f"position.{service}"] = "enter a number from 1 to 99"
            continue
        order.append((int(raw), index, service))
    modes: dict[str, ServiceMode | None] = {}
    for name, value in form.items():
        if name.startswith("mode."):
            service = name.removeprefix("mode.")
            try:
                get_platform(service)
                # Empty: no override, the workspace's default mode for the service.
                modes[service] = ServiceMode(value) if value else None
            except (UnknownPlatform, ValueError):
                errors[name] = "choose one of the modes listed"
    if errors:
        return await _failed(request, session, m, link_id, errors, form)
    try:
        await design_service.arrange_buttons(
            session,
            m.workspace.id,
            link.id,
            order=[service for _position, _index, service in sorted(order)],
            visible={s for s in services if form.get(f"visible.{s}") == "1"},
            modes=modes,
        )
    except NotFound:
        return await _failed(
            request, session, m, link_id,
            {"form": "this link has no pre-save campaign, so it has no pre-save modes"}, form,
        )  # fmt: skip
    return see_other(_base(m, link_id) + "?done=saved")


@router.post("/w/{workspace_id}/campaigns/{link_id}/design/texts")
async def save_texts(
    request: Request,
    link_id: UUID,
    form: CsrfForm,
    session: Session,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    result = validate(TextsForm, form)
    data = result.data
    if data is None:
        return await _failed(request, session, m, link_id, result.errors, form)
    try:
        await presave_campaigns.set_page_choices(
            session,
            m.workspace.id,
            link_id,
            service_modes={},
            consent_texts={
                ConsentKind.email_reminder: data.email_reminder,
                ConsentKind.email: data.email,
                ConsentKind.sms_reminder: data.sms_reminder,
                ConsentKind.sms: data.sms,
                ConsentKind.connect_service: data.connect_service,
            },
        )
    except NotFound:
        return await _failed(
            request, session, m, link_id,
            {"form": "opt-in texts belong to a pre-save campaign; this link has none"}, form,
        )  # fmt: skip
    return see_other(_base(m, link_id) + "?done=saved")


@router.get("/w/{workspace_id}/campaigns/{link_id}/design/preview")
async def preview(
    request: Request, link_id: UUID, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    """The fan page of this link as it is saved now, in the phase asked for."""
    phase = (
        Phase(request.query_params.get("phase", "live"))
        if request.query_params.get("phase", "live") in PHASES
        else Phase.LIVE
    )
    link = await links_service.get_link(session, m.workspace.id, link_id)
    context = get_context(request)
    source = DatabaseSnapshotSource(context.database, public_base_url=context.settings.public_url)
    snapshot = await source.load(link.host or None, link.slug)
    if snapshot is None:
        raise NotFound("this link has no page to preview")
    now = context.clock.now()
    instant = snapshot.timing.instant or (now + timedelta(days=7))
    if instant <= now:
        # A released link previewed before its release: a week ahead reads naturally.
        instant = now + timedelta(days=7)
    zone = snapshot.timing.default_time_zone
    body: bytes
    if phase is Phase.LIVE or snapshot.campaign is None:
        renderer = _renderer(context.settings.public_url)
        variant = PageVariant(
            language="en",
            services=tuple(d.service for d in snapshot.destinations),
            phase=phase,
            release_instant_utc=None if phase is Phase.LIVE else instant.isoformat(),
            zone_name=None if phase is Phase.LIVE else zone,
            countdown=None if phase is Phase.LIVE else Countdown.between(now, instant),
        )
        body = renderer.link_page(snapshot, variant)
        csp = FAN_PAGE_CSP
    else:
        front = _presave_front(request)
        view = FanView(
            language="en", phase=phase, country=None, zone=zone, instant=instant,
            chosen_zone=None, in_app=None, browser_id=None, resumed_magic_id=None,
        )  # fmt: skip
        # A preview is not a real page: its forms carry no valid token, so nothing in it
        # can start a pre-save (the iframe is sandboxed without forms as well).
        campaign = replace(snapshot.campaign, enabled=True)
        body = (await front.page_body(replace(snapshot, campaign=campaign), view)).fill("")
        csp = PRESAVE_PAGE_CSP
    return HTMLResponse(
        body,
        headers={
            "content-security-policy": csp.replace(
                "frame-ancestors 'none'", "frame-ancestors 'self'"
            ),
            "cache-control": "private, no-store",
            "x-content-type-options": "nosniff",
            "x-robots-tag": "noindex",
        },
    )


_renderers: dict[str, PageRenderer] = {}


def _renderer(public_url: str) -> PageRenderer:
    renderer = _renderers.get(public_url)
    if renderer is None:
        renderer = _renderers[public_url] = PageRenderer(
            catalogues=Catalogues.load(), public_base_url=public_url
        )
    return renderer


def _presave_front(request: Request) -> Any:
    front = getattr(request.app.state, "presave_front", None)
    if front is None:
        from launchlink.bootstrap import presave_pages
        from launchlink.presave.front import PresaveFront

        context = get_context(request)
        front = PresaveFront(
            database=context.database,
            kit=context.require_presave(),
            pages=presave_pages(),
            secure_cookies=context.settings.public_url.startswith("https://"),
        )
        request.app.state.presave_front = front
    return front
