"""``/api/v1/messaging``: channels, templates, announcements, quiet hours, the sender
identity, counts and the delivery ledger — of the API key's workspace only.

Reads take any key; writing templates, announcements and quiet hours takes an editor;
the sender identity and lifting an automatic pause take an admin (they speak for the
whole workspace).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel

from launchlink.accounts.service import Principal
from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, WritingPrincipal, get_context
from launchlink.errors import Forbidden
from launchlink.messaging import manage
from launchlink.messaging.channels.registry import statuses
from launchlink.messaging.schemas import (
    AnnouncementCreate,
    AnnouncementRead,
    CountsRead,
    DefaultTemplateRead,
    LedgerEntryRead,
    MessageRead,
    PreviewRead,
    QuietHoursRuleRead,
    QuietHoursRuleWrite,
    SenderRead,
    SenderWrite,
    TemplateCreate,
    TemplatePreviewBody,
    TemplateRead,
    TemplateUpdate,
)
from launchlink.messaging.tasks import default_sender
from launchlink.messaging.templates import DEFAULTS, VARIABLES
from launchlink.models import MessageTemplate
from launchlink.models.messaging import MessageChannel, MessageKind, WorkspaceMessaging

router = APIRouter(tags=["messaging"])
Context = Annotated[AppContext, Depends(get_context)]


async def _admin(principal: CurrentPrincipal) -> Principal:
    if not principal.role.can_administer:
        raise Forbidden("the sender identity and pauses take an admin or owner key")
    return principal


AdminPrincipal = Annotated[Principal, Depends(_admin)]


class ChannelRead(BaseModel):
    channel: str
    available: bool
    provider: str | None
    reason: str | None
    """Why not, naming what to configure."""
    paused: bool = False
    """This workspace's sends are paused (too many bounces or complaints)."""
    paused_reason: str | None = None


@router.get("/messaging/channels")
async def list_channels(
    principal: CurrentPrincipal, session: Session, context: Context
) -> list[ChannelRead]:
    """The messaging channels, whether each can send here and, if not, why."""
    identity = await manage.sender_of(session, principal.workspace_id)
    paused = identity is not None and identity.paused
    return [
        ChannelRead(
            channel=s.channel,
            available=s.available,
            provider=s.provider,
            reason=s.reason,
            paused=paused,
            paused_reason=identity.paused_reason if identity is not None and paused else None,
        )
        for s in statuses(context.settings)
    ]


# -- templates ---------------------------------------------------------------------------


def _template(row: MessageTemplate) -> TemplateRead:
    return TemplateRead(
        id=row.id, kind=row.kind, channel=row.channel, language=row.language,
        subject=row.subject, text=row.text, html=row.html,
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


@router.get("/messaging/templates")
async def list_templates(principal: CurrentPrincipal, session: Session) -> list[TemplateRead]:
    """The workspace's own wordings (every kind, channel and translation)."""
    return [_template(t) for t in await manage.list_templates(session, principal.workspace_id)]


@router.get("/messaging/templates/defaults")
async def default_templates(
    principal: CurrentPrincipal, session: Session
) -> list[DefaultTemplateRead]:
    """The built-in wordings and translations, and which the workspace replaced."""
    own = {
        (t.kind, t.channel, t.language)
        for t in await manage.list_templates(session, principal.workspace_id)
    }
    return [
        DefaultTemplateRead(
            kind=kind, channel=channel, language=language, subject=template.subject,
            text=template.text, overridden=(kind, channel, language) in own,
        )
        for (kind, channel), languages in DEFAULTS.items()
        for language, template in languages.items()
    ]  # fmt: skip


@router.post("/messaging/templates", status_code=status.HTTP_201_CREATED)
async def create_template(
    principal: WritingPrincipal, session: Session, body: TemplateCreate
) -> TemplateRead:
    """A wording of one kind × channel × language (a translation is another language)."""
    return _template(await manage.create_template(session, principal.workspace_id, body))


@router.post("/messaging/templates/preview")
async def preview_template(principal: CurrentPrincipal, body: TemplatePreviewBody) -> PreviewRead:
    """A wording rendered with sample values (checked as when it is saved)."""
    del principal  # any key may preview; nothing is read or stored
    rendered = manage.preview_template(body)
    return PreviewRead(
        subject=rendered.subject, text=rendered.text, html=rendered.html, variables=VARIABLES
    )


@router.get("/messaging/templates/{template_id}")
async def get_template(
    principal: CurrentPrincipal, session: Session, template_id: UUID
) -> TemplateRead:
    """One of the workspace's wordings."""
    return _template(await manage.get_template(session, principal.workspace_id, template_id))


@router.patch("/messaging/templates/{template_id}")
async def update_template(
    principal: WritingPrincipal, session: Session, template_id: UUID, body: TemplateUpdate
) -> TemplateRead:
    """Change a wording (checked again; messages already sent keep theirs)."""
    return _template(
        await manage.update_template(session, principal.workspace_id, template_id, body)
    )


@router.delete("/messaging/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(
    principal: WritingPrincipal, session: Session, template_id: UUID
) -> Response:
    """Back to the built-in wording for that kind, channel and language."""
    await manage.delete_template(session, principal.workspace_id, template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- announcements -----------------------------------------------------------------------


def _counts(found: dict[tuple[str, str], int]) -> CountsRead:
    by_state: dict[str, int] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for (channel, state), count in found.items():
        by_state[state] = by_state.get(state, 0) + count
        by_channel.setdefault(channel, {})[state] = count
    return CountsRead(total=sum(found.values()), by_state=by_state, by_channel=by_channel)


@router.post("/messaging/announcements", status_code=status.HTTP_201_CREATED)
async def create_announcement(
    principal: WritingPrincipal, session: Session, context: Context, body: AnnouncementCreate
) -> AnnouncementRead:
    """A one-off message to every fan with a confirmed consent for each channel."""
    row, queued = await manage.announce(
        session, principal.workspace_id, body, now=context.clock.now()
    )
    return AnnouncementRead(
        id=row.id, queued=queued, counts=_counts({}) if not queued else _counts(
            (await manage.get_announcement(session, principal.workspace_id, row.id))[1]
        ),
    )  # fmt: skip


@router.get("/messaging/announcements/{announcement_id}")
async def get_announcement(
    principal: CurrentPrincipal, session: Session, announcement_id: UUID
) -> AnnouncementRead:
    """An announcement and what became of its messages."""
    row, found = await manage.get_announcement(session, principal.workspace_id, announcement_id)
    return AnnouncementRead(id=row.id, queued=row.queued, counts=_counts(found))


# -- counts and the ledger ---------------------------------------------------------------


@router.get("/messaging/messages/counts")
async def message_counts(
    principal: CurrentPrincipal,
    session: Session,
    kind: Annotated[MessageKind | None, Query()] = None,
    release_id: Annotated[UUID | None, Query()] = None,
) -> CountsRead:
    """Messages of the workspace by channel and state (of a kind, of a release)."""
    return _counts(
        await manage.counts(session, principal.workspace_id, kind=kind, release_id=release_id)
    )


@router.get("/messaging/messages/{message_id}")
async def get_message(
    principal: CurrentPrincipal, session: Session, message_id: UUID
) -> MessageRead:
    """One message and its delivery ledger (handed over, delivered, bounced…)."""
    m, ledger = await manage.message_with_ledger(session, principal.workspace_id, message_id)
    return MessageRead(
        id=m.id, kind=m.kind, channel=m.channel, state=m.state.value, fan_id=m.fan_id,
        link_id=m.link_id, release_id=m.release_id, announcement_id=m.announcement_id,
        send_at=m.send_at, next_attempt_at=m.next_attempt_at, deferred=m.deferred,
        attempts=m.attempts, provider=m.provider, bounce=m.bounce, last_error=m.last_error,
        sent_at=m.sent_at, delivered_at=m.delivered_at,
        ledger=[
            LedgerEntryRead(status=e.status, source=e.source, detail=e.detail, at=e.at)
            for e in ledger
        ],
    )  # fmt: skip


# -- quiet hours -------------------------------------------------------------------------


def _rule(rule: manage.QuietRule) -> QuietHoursRuleRead:
    return QuietHoursRuleRead(
        channel=rule.channel, scope=rule.scope, allowed_from=rule.allowed_from,
        allowed_until=rule.allowed_until, source=rule.source, note=rule.note,
    )  # fmt: skip


@router.get("/messaging/quiet-hours")
async def list_quiet_hours(
    principal: CurrentPrincipal, session: Session
) -> list[QuietHoursRuleRead]:
    """When messages may reach fans, in each fan's own zone, and where each rule is from."""
    return [_rule(r) for r in await manage.quiet_hours(session, principal.workspace_id)]


@router.put("/messaging/quiet-hours")
async def put_quiet_hours(
    principal: WritingPrincipal,
    session: Session,
    channel: Annotated[MessageChannel, Query()],
    scope: Annotated[
        str, Query(max_length=8, description="*, a country (US) or a subdivision (US-FL)")
    ],
    body: QuietHoursRuleWrite,
) -> QuietHoursRuleRead:
    """The workspace's hours for a place: narrower than the instance's, never wider."""
    return _rule(
        await manage.set_quiet_hours(
            session, principal.workspace_id, channel=channel, scope=scope, body=body
        )
    )


@router.delete("/messaging/quiet-hours", status_code=status.HTTP_204_NO_CONTENT)
async def delete_quiet_hours(
    principal: WritingPrincipal,
    session: Session,
    channel: Annotated[MessageChannel, Query()],
    scope: Annotated[str, Query(max_length=8)],
) -> Response:
    """Back to the instance's rule for that place."""
    await manage.delete_quiet_hours(session, principal.workspace_id, channel=channel, scope=scope)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- the sender identity -----------------------------------------------------------------


def _sender(context: AppContext, row: WorkspaceMessaging | None) -> SenderRead:
    effective = manage.effective_sender(default_sender(context), row)
    return SenderRead(
        email_name=effective.email_name,
        email_address=effective.email_address,
        email_local_part=row.email_local_part if row is not None else None,
        reply_to=effective.reply_to,
        sms_from=effective.sms_from,
        paused=row.paused if row is not None else False,
        paused_reason=row.paused_reason if row is not None else None,
        paused_at=row.paused_at if row is not None else None,
    )


@router.get("/messaging/sender")
async def get_sender(principal: CurrentPrincipal, session: Session, context: Context) -> SenderRead:
    """Who the workspace's messages come from, and whether its sends are paused."""
    return _sender(context, await manage.sender_of(session, principal.workspace_id))


@router.put("/messaging/sender")
async def put_sender(
    principal: AdminPrincipal, session: Session, context: Context, body: SenderWrite
) -> SenderRead:
    """Set the sender name, the address's local part, Reply-To and the SMS sender."""
    return _sender(context, await manage.set_sender(session, principal.workspace_id, body))


@router.post("/messaging/sender/resume")
async def resume_sending(
    principal: AdminPrincipal, session: Session, context: Context
) -> SenderRead:
    """Lift the automatic pause; the held messages go out (counting starts afresh)."""
    row = await manage.resume_sending(session, principal.workspace_id, now=context.clock.now())
    return _sender(context, row)
