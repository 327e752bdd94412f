"""The Messaging section of a workspace: which channels can send and why not, the sender
identity, the automatic pause and its resume, the quiet-hours rules, the templates with a
live preview, announcements with their live counts, and a campaign's message plan.

Every change goes through the API's own functions (``messaging.manage``), so the pages
and ``/api/v1/messaging`` keep one set of rules. Viewers look; editors write templates and
send announcements; admins change the sender identity, the quiet hours and lift a pause
(they speak for the whole workspace). Bad input comes back as the form with the message
next to its field; each change is in the audit log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from functools import partial
from typing import Annotated, Any, Literal, Protocol, TypeVar
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from launchlink.accounts import audit
from launchlink.accounts import service as accounts
from launchlink.dashboard import campaigns, messages
from launchlink.dashboard.forms import Optional
from launchlink.dashboard.kit import (
    CsrfForm,
    CurrentClock,
    LargeCsrfForm,
    Member,
    Need,
    form_page,
    member,
    nav,
    page,
    refuse,
    see_other,
    workspace_url,
)
from launchlink.dashboard.repository import DashboardRepository
from launchlink.dependencies import Session, get_context
from launchlink.errors import Conflict, LaunchlinkError, NotFound
from launchlink.kit.clock import Clock
from launchlink.kit.text import MultiLine, SingleLine
from launchlink.messaging import manage
from launchlink.messaging.channels.registry import statuses
from launchlink.messaging.repository import MessagingRepository
from launchlink.messaging.schemas import (
    AnnouncementCreate,
    Language,
    QuietHoursRuleWrite,
    SenderWrite,
    TemplateCreate,
    TemplatePreviewBody,
    TemplateUpdate,
)
from launchlink.messaging.tasks import default_sender
from launchlink.messaging.templates import (
    SAMPLE,
    VARIABLES,
    InvalidTemplate,
    Rendered,
    Template,
    default_template,
    render,
)
from launchlink.models.messaging import MessageChannel, MessageKind
from launchlink.web.forms import FormResult, validate

router = APIRouter()

NOTICES = {
    "sender": "Sender identity saved.",
    "resumed": "Sending resumed: the held messages go out now.",
    "rule": "Quiet-hours rule saved.",
    "rule_deleted": "Rule removed: the instance's rule for that place applies again.",
    "template": "Template saved.",
    "template_deleted": "Template removed: the built-in wording applies again.",
    "sent": "Announcement queued: it goes to each fan within their quiet hours.",
}


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(_blank_is_none)


def _minutes(value: Any) -> Any:
    """``HH:MM`` (a time input), ``24:00`` for the end of the day, as minutes."""
    if not isinstance(value, str):
        return value
    hours, sep, minutes = value.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError("enter a time like 08:00 (24:00 for the end of the day)")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > 24 * 60:
        raise ValueError("enter a time between 00:00 and 24:00")
    return total


Minutes = Annotated[int, BeforeValidator(_minutes)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore")


FormT = TypeVar("FormT", bound=_Form)


class SenderForm(_Form):
    """Blank fields are the instance's defaults (the operator's name, address, number)."""

    email_name: Annotated[Annotated[SingleLine, Field(max_length=200)] | None, Blank] = None
    email_local_part: Annotated[Annotated[str, Field(max_length=64)] | None, Blank] = None
    reply_to: Annotated[Annotated[SingleLine, Field(max_length=320)] | None, Blank] = None
    sms_from: Annotated[Annotated[SingleLine, Field(max_length=20)] | None, Blank] = None


class QuietRuleForm(_Form):
    channel: MessageChannel
    scope: str = Field(min_length=1, max_length=8)
    allowed_from: Minutes
    allowed_until: Minutes
    note: Annotated[Annotated[SingleLine, Field(max_length=300)] | None, Blank] = None


class QuietRuleDeleteForm(_Form):
    channel: MessageChannel
    scope: str = Field(min_length=1, max_length=8)


class TemplateForm(_Form):
    kind: MessageKind
    channel: MessageChannel
    language: Language
    subject: Annotated[SingleLine, Field(max_length=300)] = ""
    text: Annotated[MultiLine, Field(min_length=1, max_length=10_000)]
    html: Annotated[Annotated[MultiLine, Field(max_length=50_000)] | None, Blank] = None


class AnnouncementForm(_Form):
    link_id: UUID
    body: Annotated[MultiLine, Field(min_length=1, max_length=1000)]
    channel_email: bool = False
    channel_sms: bool = False
    audience: Literal["workspace", "campaign"] = "workspace"
    send_date: Annotated[date | None, Optional] = None
    send_time: Annotated[time | None, Optional] = None

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("write what the announcement says")
        return value.strip()

    @field_validator("send_date")
    @classmethod
    def _sane_year(cls, value: date | None) -> date | None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValueError("choose a date between 2000 and 2100")
        return value

    @property
    def channels(self) -> list[MessageChannel]:
        chosen = [
            (self.channel_email, MessageChannel.email),
            (self.channel_sms, MessageChannel.sms),
        ]
        return [channel for wanted, channel in chosen if wanted]

    def send_at(self) -> datetime | None:
        if self.send_date is None:
            return None
        return datetime.combine(self.send_date, self.send_time or time(0, 0), UTC)


# -- the overview: channels, sender, pause, quiet hours -----------------------------------


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def _overview(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = get_context(request)
    identity = await manage.sender_of(session, m.workspace.id)
    effective = manage.effective_sender(default_sender(context), identity)
    rules = await manage.quiet_hours(session, m.workspace.id)
    sender_values = {
        "email_name": identity.email_name if identity is not None else "",
        "email_local_part": (identity.email_local_part or "") if identity is not None else "",
        "reply_to": (identity.reply_to or "") if identity is not None else "",
        "sms_from": (identity.sms_from or "") if identity is not None else "",
    }
    return form_page(
        request,
        "dashboard/messaging.html",
        {
            **nav(m, "messaging"),
            "channels": statuses(context.settings),
            "identity": identity,
            "effective": effective,
            "rules": rules,
            "clock": _clock,
        },
        status=status,
        errors=errors,
        values={**sender_values, **(values or {})},
        notices=NOTICES,
    )


@router.get("/w/{workspace_id}/messaging")
async def messaging_page(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    return await _overview(request, session, m)


def _refused(error: LaunchlinkError, fields: tuple[str, ...], default: str) -> dict[str, str]:
    field = error.field if error.field in fields else default
    return {field: error.message}


async def _fail_or_raise(session: AsyncSession, error: LaunchlinkError) -> int:
    """The status of a refusal shown on the form (what the service wrote is undone)."""
    if error.status_code not in (400, 404, 409, 422):
        raise error
    await refuse(session)
    # A missing thing or a conflict keeps its status; any other bad input is the form's 422.
    return error.status_code if error.status_code in (404, 409) else 422


class Again(Protocol):
    """The page of a form shown again: each field's error beside it, with this status."""

    def __call__(self, *, errors: dict[str, str], status: int) -> Awaitable[Response]: ...


async def _form_action(
    session: AsyncSession,
    parsed: FormResult[FormT],
    change: Callable[[FormT], Awaitable[str]],
    *,
    again: Again,
    refused: Callable[[LaunchlinkError], dict[str, str]],
) -> Response:
    """A change made from a form, the shape of each Messaging action: the form's own errors
    come back as the page ``again`` (422); so does a refusal of the service, with what it
    wrote undone, its status (:func:`_fail_or_raise`) and its message beside the field
    ``refused`` names; a change made redirects to the URL ``change`` answers (its notice in
    the ``?done=``)."""
    data = parsed.data
    if not parsed.ok or data is None:
        return await again(errors=parsed.errors, status=422)
    try:
        done = await change(data)
    except LaunchlinkError as error:
        status = await _fail_or_raise(session, error)
        return await again(errors=refused(error), status=status)
    return see_other(done)


@router.post("/w/{workspace_id}/messaging/sender")
async def save_sender(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    async def change(data: SenderForm) -> str:
        was = _identity(await manage.sender_of(session, m.workspace.id))
        row = await manage.set_sender(session, m.workspace.id, SenderWrite(**data.model_dump()))
        await audit.record_change(
            session,
            m.actor,
            "messaging.sender_changed",
            ("workspace", m.workspace.id),
            before=was,
            after=_identity(row),
            clock=clock,
        )
        return workspace_url(m, "/messaging?done=sender")

    return await _form_action(
        session,
        validate(SenderForm, form),
        change,
        again=partial(_overview, request, session, m, values=form),
        refused=lambda error: _refused(error, tuple(SenderForm.model_fields), "email_name"),
    )


def _identity(row: Any) -> dict[str, Any]:
    if row is None:
        return {}
    return {
        "email_name": row.email_name,
        "email_local_part": row.email_local_part,
        "reply_to": row.reply_to,
        "sms_from": row.sms_from,
    }


@router.post("/w/{workspace_id}/messaging/resume")
async def resume(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    """Lift the automatic pause (after the cause of the bounces or complaints is fixed)."""

    async def change(_: _Form) -> str:
        identity = await manage.sender_of(session, m.workspace.id)
        if identity is None or not identity.paused:
            raise Conflict("sending is not paused")
        reason = identity.paused_reason
        await manage.resume_sending(session, m.workspace.id, now=clock.now())
        await audit.record(
            session,
            m.actor,
            "messaging.resumed",
            ("workspace", m.workspace.id),
            before={"paused": True, "reason": reason},
            after={"paused": False},
            clock=clock,
        )
        return workspace_url(m, "/messaging?done=resumed")

    return await _form_action(
        session,
        validate(_Form, form),  # nothing but its CSRF token
        change,
        again=partial(_overview, request, session, m),
        refused=lambda error: {"form": error.message},
    )


@router.post("/w/{workspace_id}/messaging/quiet-hours")
async def save_quiet_hours(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    """The workspace's own hours for a place (narrower than the instance's)."""

    async def change(data: QuietRuleForm) -> str:
        rule = await manage.set_quiet_hours(
            session,
            m.workspace.id,
            channel=data.channel,
            scope=data.scope,
            body=QuietHoursRuleWrite(
                allowed_from=data.allowed_from, allowed_until=data.allowed_until, note=data.note
            ),
        )
        await audit.record(
            session,
            m.actor,
            "messaging.quiet_hours_set",
            ("workspace", m.workspace.id),
            after={
                "channel": rule.channel.value,
                "scope": rule.scope,
                "allowed_from": rule.allowed_from,
                "allowed_until": rule.allowed_until,
            },
            clock=clock,
        )
        return workspace_url(m, "/messaging?done=rule")

    fields = ("scope", "allowed_from", "allowed_until")
    return await _form_action(
        session,
        validate(QuietRuleForm, form),
        change,
        again=partial(_overview, request, session, m, values=form),
        refused=lambda error: _refused(error, fields, "allowed_from"),
    )


@router.post("/w/{workspace_id}/messaging/quiet-hours/delete")
async def delete_quiet_hours(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    """Back to the instance's rule for that place."""

    async def change(data: QuietRuleDeleteForm) -> str:
        await manage.delete_quiet_hours(
            session, m.workspace.id, channel=data.channel, scope=data.scope
        )
        await audit.record(
            session,
            m.actor,
            "messaging.quiet_hours_deleted",
            ("workspace", m.workspace.id),
            before={"channel": data.channel.value, "scope": data.scope.strip().upper()},
            clock=clock,
        )
        return workspace_url(m, "/messaging?done=rule_deleted")

    async def again(*, errors: dict[str, str], status: int) -> Response:
        # The form is a row's button: its errors are the page's, not a field's.
        return await _overview(
            request, session, m, errors={"form": "; ".join(errors.values())}, status=status
        )

    return await _form_action(
        session,
        validate(QuietRuleDeleteForm, form),
        change,
        again=again,
        refused=lambda error: {"form": error.message},
    )


# -- templates ------------------------------------------------------------------------------


@router.get("/w/{workspace_id}/messaging/templates")
async def templates_page(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    own = await manage.list_templates(session, m.workspace.id)
    return form_page(
        request,
        "dashboard/message_templates.html",
        {**nav(m, "messaging"), "wordings": messages.wordings(own)},
        notices=NOTICES,
    )


class WordingQuery(_Form):
    kind: MessageKind = MessageKind.release_day
    channel: MessageChannel = MessageChannel.email
    language: Language = "en"


async def _editor(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    kind: MessageKind,
    channel: MessageChannel,
    language: str,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    rendered: Rendered | None = None,
    status: int = 200,
) -> Response:
    own = await manage.list_templates(session, m.workspace.id)
    try:
        found = messages.wording(own, kind, channel, language)
    except InvalidTemplate as error:
        raise NotFound(str(error)) from None
    template = found.template
    if rendered is None and not errors:
        try:
            rendered = render(template, dict(SAMPLE))
        except InvalidTemplate:
            rendered = None
    shown = values or {
        "subject": template.subject,
        "text": template.text,
        "html": template.html or "",
        "language": language,
    }
    return form_page(
        request,
        "dashboard/message_template.html",
        {
            **nav(m, "messaging"),
            "w": found,
            "variables": VARIABLES,
            "rendered": rendered,
            "show_html": channel is MessageChannel.email,
            "preview_errors": {},
        },
        status=status,
        errors=errors,
        values=shown,
        notices=NOTICES,
    )


@router.get("/w/{workspace_id}/messaging/templates/edit")
async def template_editor(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    """One wording (the workspace's, or the built-in one to start from) with its preview."""
    result = validate(WordingQuery, dict(request.query_params))
    data = result.data
    if not result.ok or data is None:
        raise NotFound("there is no such template: " + "; ".join(result.errors.values()))
    return await _editor(
        request, session, m, kind=data.kind, channel=data.channel, language=data.language
    )


def _template_errors(error: LaunchlinkError) -> dict[str, str]:
    """The field a refusal belongs to: the part its message names (a template's error
    says "the subject does not parse", "the html uses unknown variables"...)."""
    field = error.field or "text"
    for part in ("subject", "html", "text"):
        if f"the {part} " in error.message:
            field = part
            break
    if field not in ("subject", "text", "html", "language"):
        field = "text"
    return {field: error.message}


def _template_of(data: TemplateForm) -> Template:
    return Template(data.subject, data.text, data.html)


def _parse_template(
    form: dict[str, str],
) -> tuple[FormResult[TemplateForm], MessageKind, MessageChannel, str]:
    """The form, with the wording it belongs to (for the editor again)."""
    query = validate(WordingQuery, {k: v for k, v in form.items() if k in ("kind", "channel")})
    if query.data is None:
        raise NotFound("there is no such template: " + "; ".join(query.errors.values()))
    language = _language_or_en(form.get("language", ""))
    return validate(TemplateForm, form), query.data.kind, query.data.channel, language


def _language_or_en(value: str) -> str:
    try:
        return WordingQuery(language=value).language
    except ValidationError:
        return "en"


def _preview_fragment(
    request: Request,
    rendered: Rendered | None,
    errors: dict[str, str],
    *,
    channel: MessageChannel,
    status: int = 200,
) -> Response:
    return page(
        request,
        "dashboard/_message_preview.html",
        {
            "rendered": rendered,
            "preview_errors": errors,
            "show_html": channel is MessageChannel.email,
        },
        status=status,
    )


@router.post("/w/{workspace_id}/messaging/templates/preview")
async def preview_template(
    request: Request,
    form: LargeCsrfForm,
    session: Session,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """The wording being edited, rendered with sample values (nothing is stored). An HTMX
    request gets the preview alone; a plain form post gets the editor with it."""
    live = bool(request.headers.get("hx-request"))
    parsed, kind, channel, language = _parse_template(form)
    data, errors = (parsed.data if parsed.ok else None), parsed.errors
    rendered = None
    if data is not None:
        try:
            rendered = manage.preview_template(
                TemplatePreviewBody(
                    kind=kind, channel=channel, subject=data.subject, text=data.text,
                    html=data.html,
                )
            )  # fmt: skip
        except LaunchlinkError as error:
            await _fail_or_raise(session, error)
            errors = _template_errors(error)
    status = 422 if errors else 200
    if live:
        return _preview_fragment(request, rendered, errors, channel=channel, status=status)
    return await _editor(
        request, session, m, kind=kind, channel=channel, language=language, errors=errors,
        values=form, rendered=rendered, status=status,
    )  # fmt: skip


@router.post("/w/{workspace_id}/messaging/templates")
async def save_template(
    request: Request,
    form: LargeCsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """Save the workspace's wording of a kind × channel × language (created the first time,
    changed afterwards; messages already sent keep theirs)."""
    parsed, kind, channel, language = _parse_template(form)

    async def change(data: TemplateForm) -> str:
        own = await manage.list_templates(session, m.workspace.id)
        key = (data.kind, data.channel, data.language)
        row = next((t for t in own if (t.kind, t.channel, t.language) == key), None)
        before = (
            None if row is None else {"subject": row.subject, "text": row.text, "html": row.html}
        )
        if row is None:
            saved = await manage.create_template(
                session,
                m.workspace.id,
                TemplateCreate(
                    kind=data.kind, channel=data.channel, language=data.language,
                    subject=data.subject, text=data.text, html=data.html,
                ),
            )  # fmt: skip
        else:
            saved = await manage.update_template(
                session,
                m.workspace.id,
                row.id,
                TemplateUpdate(subject=data.subject, text=data.text, html=data.html),
            )
        await audit.record(
            session,
            m.actor,
            "messaging.template_saved",
            ("message_template", saved.id),
            before=before,
            after={"kind": data.kind.value, "channel": data.channel.value,
                   "language": data.language, "subject": data.subject, "text": data.text,
                   "html": data.html},
            clock=clock,
        )  # fmt: skip
        query = f"kind={data.kind.value}&channel={data.channel.value}&language={data.language}"
        return workspace_url(m, f"/messaging/templates/edit?{query}&done=template")

    editor = partial(_editor, request, session, m, kind=kind, channel=channel, language=language)
    return await _form_action(
        session, parsed, change, again=partial(editor, values=form), refused=_template_errors
    )


@router.post("/w/{workspace_id}/messaging/templates/{template_id}/delete")
async def delete_template(
    request: Request,
    template_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """Back to the built-in wording for that kind, channel and language."""
    del form, request  # the form is read for its CSRF token only
    row = await manage.get_template(session, m.workspace.id, template_id)
    gone = {"kind": row.kind.value, "channel": row.channel.value, "language": row.language}
    await manage.delete_template(session, m.workspace.id, template_id)
    await audit.record(
        session,
        m.actor,
        "messaging.template_deleted",
        ("message_template", template_id),
        before=gone,
        clock=clock,
    )
    return see_other(workspace_url(m, "/messaging/templates?done=template_deleted"))


# -- announcements ---------------------------------------------------------------------------


async def _announcements(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    previews: dict[str, Rendered] | None = None,
    status: int = 200,
) -> Response:
    context = get_context(request)
    repository = DashboardRepository(session)
    rows = await repository.announcements(m.workspace.id, limit=messages.ANNOUNCEMENTS_SHOWN)
    counts = await messages.counts_of_announcements(session, m.workspace.id, [r.id for r in rows])
    return form_page(
        request,
        "dashboard/announcements.html",
        {
            **nav(m, "messaging"),
            "announcements": rows,
            "counts": counts,
            "columns": messages.COLUMNS,
            "campaigns": await repository.campaign_choices(m.workspace.id, limit=200),
            "channels": {s.channel: s for s in statuses(context.settings)},
            "previews": previews or {},
        },
        status=status,
        errors=errors,
        values=values or {"channel_email": "1"},
        notices=NOTICES,
    )


@router.get("/w/{workspace_id}/messaging/announcements")
async def announcements_page(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    return await _announcements(request, session, m)


async def _announcement_previews(
    session: AsyncSession, m: Member, data: AnnouncementForm, public_url: str
) -> dict[str, Rendered]:
    """What fans will read, per channel: the workspace's announcement wording in its base
    language with the text written here (each fan gets their own language's wording)."""
    found = await campaigns.campaign(
        session, m.workspace.id, data.link_id, public_base_url=public_url
    )
    own = await manage.list_templates(session, m.workspace.id)
    language = (await accounts.get_workspace(session, m.workspace.id)).base_language
    shown: dict[str, Rendered] = {}
    for channel in data.channels:
        wording = messages.wording(own, MessageKind.announcement, channel, language)
        variables = {**SAMPLE, "body": data.body, "title": found.release.title,
                     "listen_url": found.url}  # fmt: skip
        try:
            shown[channel.value] = render(wording.template, variables)
        except InvalidTemplate:
            shown[channel.value] = render(
                default_template(MessageKind.announcement, channel, language), variables
            )
    return shown


async def _parse_announcement(
    session: AsyncSession, m: Member, form: dict[str, str]
) -> FormResult[AnnouncementForm]:
    result = validate(AnnouncementForm, form)
    if result.data is not None and not result.data.channels:
        result.fail("channel_email", "choose at least one channel")
    repository = MessagingRepository(session)
    if result.data is not None and not await repository.link_in_workspace(
        m.workspace.id, result.data.link_id
    ):
        result.fail("link_id", "choose one of this workspace's campaigns")
    return result


def _announcement_errors(error: LaunchlinkError) -> dict[str, str]:
    """The field a refusal belongs to (the API's names are not the form's)."""
    fields = {"send_at": "send_date", "channels": "channel_email"}
    return {fields.get(error.field or "", error.field or "body"): error.message}


@router.post("/w/{workspace_id}/messaging/announcements/preview")
async def preview_announcement(
    request: Request, form: CsrfForm, session: Session, m: Annotated[Member, member(Need.edit)]
) -> Response:
    """The announcement as fans will read it, before it is sent (nothing is stored)."""
    parsed = await _parse_announcement(session, m, form)
    if parsed.data is None:
        return await _announcements(
            request, session, m, errors=parsed.errors, values=form, status=422
        )
    public_url = get_context(request).settings.public_url
    previews = await _announcement_previews(session, m, parsed.data, public_url)
    return await _announcements(request, session, m, values=form, previews=previews)


@router.post("/w/{workspace_id}/messaging/announcements")
async def send_announcement(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """Queue the announcement to every fan with a confirmed consent for each channel."""

    async def change(data: AnnouncementForm) -> str:
        row, queued = await manage.announce(
            session,
            m.workspace.id,
            AnnouncementCreate(
                link_id=data.link_id, body=data.body, channels=data.channels,
                send_at=data.send_at(), audience=data.audience,
            ),
            now=clock.now(),
        )  # fmt: skip
        await audit.record(
            session,
            m.actor,
            "messaging.announcement_sent",
            ("announcement", row.id),
            after={
                "channels": row.channels,
                "queued": queued,
                "send_at": row.send_at.isoformat(),
                "audience": data.audience,
            },
            clock=clock,
        )
        return workspace_url(m, f"/messaging/announcements/{row.id}?done=sent")

    return await _form_action(
        session,
        await _parse_announcement(session, m, form),
        change,
        again=partial(_announcements, request, session, m, values=form),
        refused=_announcement_errors,
    )


async def _announcement_context(
    session: AsyncSession, m: Member, announcement_id: UUID, clock: Clock
) -> dict[str, Any]:
    row, _ = await manage.get_announcement(session, m.workspace.id, announcement_id)
    return {
        **nav(m, "messaging"),
        "a": row,
        "counts": await messages.announcement_counts(session, m.workspace.id, row.id),
        "columns": messages.COLUMNS,
        "now": clock.now(),
    }


@router.get("/w/{workspace_id}/messaging/announcements/{announcement_id}")
async def announcement_page(
    request: Request,
    announcement_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    """An announcement and what became of its messages (live while any are to go)."""
    context = await _announcement_context(session, m, announcement_id, clock)
    return form_page(request, "dashboard/announcement.html", context, notices=NOTICES)


@router.get("/w/{workspace_id}/messaging/announcements/{announcement_id}/counts")
async def announcement_counts(
    request: Request,
    announcement_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    """The counts alone (the HTMX poll of the announcement page)."""
    context = await _announcement_context(session, m, announcement_id, clock)
    return page(request, "dashboard/_message_counts.html", context)


# -- a campaign's message plan ----------------------------------------------------------------


@router.get("/w/{workspace_id}/campaigns/{link_id}/messages")
async def campaign_messages(
    request: Request,
    link_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    """The countdown, release-day and receipt messages of the campaign's release: when
    each is planned in each fan time zone, and what became of them."""
    context = get_context(request)
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=context.settings.public_url
    )
    plan = await messages.release_plan(session, m.workspace.id, found.release.id)
    return page(
        request,
        "dashboard/campaign_messages.html",
        {
            **nav(m, "campaigns"),
            "c": found,
            "plan": plan,
            "columns": messages.COLUMNS,
            "now": clock.now(),
        },
    )
