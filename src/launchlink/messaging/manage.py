"""The workspace's messaging, as the API manages it: templates and their translations,
announcements, quiet hours, the sender identity and its automatic pause, counts and the
delivery ledger of each message.

Functions take the request's session and never commit. Every read and write is inside
the caller's workspace: another workspace's ids are "not found".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.errors import NotFound
from launchlink.messaging import planner
from launchlink.messaging.channels.base import SenderIdentity
from launchlink.messaging.errors import (
    AnnouncementRejected,
    MessageNotFound,
    QuietHoursRejected,
    QuietHoursRuleNotFound,
    SenderRejected,
    TemplateExists,
    TemplateNotFound,
    TemplateRejected,
)
from launchlink.messaging.quiet_hours import DEFAULT_RULES, InvalidQuietHours, QuietHours, Window
from launchlink.messaging.repository import MessagingRepository
from launchlink.messaging.schemas import (
    AnnouncementCreate,
    QuietHoursRuleWrite,
    SenderWrite,
    TemplateCreate,
    TemplatePreviewBody,
    TemplateUpdate,
    parse_scope,
)
from launchlink.messaging.templates import (
    DEFAULTS,
    InvalidTemplate,
    Rendered,
    Template,
    preview,
    validate,
)
from launchlink.models import Announcement, Message, MessageStatus, MessageTemplate
from launchlink.models.messaging import MessageChannel, MessageKind, WorkspaceMessaging

_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
ANNOUNCEMENT_GRACE = timedelta(minutes=1)


# -- templates ---------------------------------------------------------------------------


def _checked(kind: MessageKind, channel: MessageChannel, template: Template) -> Template:
    if (kind, channel) not in DEFAULTS:
        raise TemplateRejected(f"{kind.value} messages are not sent by {channel.value}")
    if channel is MessageChannel.sms and (template.subject or template.html):
        raise TemplateRejected("a text has no subject or HTML part", field="subject")
    try:
        validate(template)
    except InvalidTemplate as error:
        raise TemplateRejected(str(error), field="text") from None
    return template


async def list_templates(session: AsyncSession, workspace_id: UUID) -> list[MessageTemplate]:
    return await MessagingRepository(session).templates_of(workspace_id)


async def get_template(
    session: AsyncSession, workspace_id: UUID, template_id: UUID
) -> MessageTemplate:
    found = await MessagingRepository(session).template(workspace_id, template_id)
    if found is None:
        raise TemplateNotFound("no such template")
    return found


async def create_template(
    session: AsyncSession, workspace_id: UUID, body: TemplateCreate
) -> MessageTemplate:
    _checked(body.kind, body.channel, Template(body.subject, body.text, body.html))
    repository = MessagingRepository(session)
    row = MessageTemplate(
        workspace_id=workspace_id,
        kind=body.kind,
        channel=body.channel,
        language=body.language,
        subject=body.subject,
        text=body.text,
        html=body.html,
    )
    if not await repository.add_template(row):
        raise TemplateExists(
            f"this workspace has a {body.language} {body.kind.value} {body.channel.value} "
            "template already; change that one",
            field="language",
        )
    return row


async def update_template(
    session: AsyncSession, workspace_id: UUID, template_id: UUID, body: TemplateUpdate
) -> MessageTemplate:
    row = await get_template(session, workspace_id, template_id)
    changed = body.model_dump(exclude_unset=True)
    if changed.get("text") is None and "text" in changed:
        raise TemplateRejected("a template needs a text part", field="text")
    candidate = Template(
        changed.get("subject", row.subject) or "",
        changed.get("text", row.text),
        changed.get("html", row.html),
    )
    _checked(row.kind, row.channel, candidate)
    row.subject, row.text, row.html = candidate.subject, candidate.text, candidate.html
    await session.flush()
    return row


async def delete_template(session: AsyncSession, workspace_id: UUID, template_id: UUID) -> None:
    row = await get_template(session, workspace_id, template_id)
    await MessagingRepository(session).delete_template(row)


def preview_template(body: TemplatePreviewBody) -> Rendered:
    """The wording with sample values, as a fan would read it."""
    template = _checked(body.kind, body.channel, Template(body.subject, body.text, body.html))
    return preview(template)


# -- announcements -----------------------------------------------------------------------


async def announce(
    session: AsyncSession, workspace_id: UUID, body: AnnouncementCreate, *, now: datetime
) -> tuple[Announcement, int]:
    repository = MessagingRepository(session)
    if not await repository.link_in_workspace(workspace_id, body.link_id):
        raise NotFound("no such link", field="link_id")
    if not body.body.strip():
        raise AnnouncementRejected("an announcement needs a text", field="body")
    send_at = body.send_at or now
    if send_at.tzinfo is None:
        raise AnnouncementRejected("send_at needs a time zone (UTC: a Z)", field="send_at")
    if send_at < now - ANNOUNCEMENT_GRACE:
        raise AnnouncementRejected("send_at is in the past", field="send_at")
    channels = list(dict.fromkeys(body.channels))
    announcement_id, queued = await planner.announce(
        session,
        workspace_id=workspace_id,
        link_id=body.link_id,
        body=body.body.strip(),
        channels=channels,
        now=now,
        send_at=send_at,
        campaign_only=body.audience == "campaign",
    )
    row = Announcement(
        id=announcement_id,
        workspace_id=workspace_id,
        link_id=body.link_id,
        body=body.body.strip(),
        channels=[c.value for c in channels],
        send_at=send_at,
        queued=queued,
    )
    await repository.add_announcement(row)
    return row, queued


async def get_announcement(
    session: AsyncSession, workspace_id: UUID, announcement_id: UUID
) -> tuple[Announcement, dict[tuple[str, str], int]]:
    repository = MessagingRepository(session)
    row = await repository.announcement(workspace_id, announcement_id)
    if row is None:
        raise NotFound("no such announcement")
    return row, await repository.counts(workspace_id, announcement_id=announcement_id)


# -- counts and the ledger ---------------------------------------------------------------


async def counts(
    session: AsyncSession,
    workspace_id: UUID,
    *,
    kind: MessageKind | None = None,
    release_id: UUID | None = None,
) -> dict[tuple[str, str], int]:
    return await MessagingRepository(session).counts(workspace_id, kind=kind, release_id=release_id)


async def message_with_ledger(
    session: AsyncSession, workspace_id: UUID, message_id: UUID
) -> tuple[Message, list[MessageStatus]]:
    repository = MessagingRepository(session)
    message = await repository.message_in_workspace(workspace_id, message_id)
    if message is None:
        raise MessageNotFound("no such message")
    return message, await repository.ledger(message_id)


# -- quiet hours -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietRule:
    channel: MessageChannel
    scope: str
    allowed_from: int
    allowed_until: int
    source: str
    note: str | None = None


async def quiet_hours(session: AsyncSession, workspace_id: UUID) -> list[QuietRule]:
    """Every rule in force for the workspace's fans, each with where it comes from (a
    workspace rule replaces the instance's or built-in rule of its scope)."""
    repository = MessagingRepository(session)
    rules: dict[tuple[MessageChannel, str], QuietRule] = {}
    for channel in MessageChannel:
        for scope, start, end, note in DEFAULT_RULES.get(channel.value, ()):
            rules[(channel, scope)] = QuietRule(channel, scope, start, end, "built-in", note)
    for row in await repository.quiet_rule_rows(workspace_id):
        # The operator's rows come first, so the workspace's replace them.
        source = "instance" if row.workspace_id is None else "workspace"
        rules[(row.channel, row.scope)] = QuietRule(
            row.channel, row.scope, row.allowed_from, row.allowed_until, source, row.note
        )
    return sorted(rules.values(), key=lambda r: (r.channel.value, r.scope))


async def set_quiet_hours(
    session: AsyncSession,
    workspace_id: UUID,
    *,
    channel: MessageChannel,
    scope: str,
    body: QuietHoursRuleWrite,
) -> QuietRule:
    """The workspace's own hours for a place: they may narrow what the instance allows
    there (the law's hours, or the operator's), never widen it."""
    scope = _scope(scope)
    try:
        window = Window(body.allowed_from, body.allowed_until)
    except InvalidQuietHours as error:
        raise QuietHoursRejected(str(error), field="allowed_from") from None
    repository = MessagingRepository(session)
    instance = QuietHours.for_channel(
        channel.value, await repository.quiet_rules(channel, workspace_id=None)
    )
    country, _, region = scope.partition("-")
    limit = instance.window_for(None if country == "*" else country, scope if region else None)
    if limit is not None and not (
        limit.allowed_from <= window.allowed_from and window.allowed_until <= limit.allowed_until
    ):
        raise QuietHoursRejected(
            f"{channel.value} messages may reach fans in {scope} only between "
            f"{_clock(limit.allowed_from)} and {_clock(limit.allowed_until)} on this instance; "
            "a workspace may narrow those hours, not widen them",
            field="allowed_from",
        )
    await repository.put_quiet_rule(
        workspace_id, channel, scope, window.allowed_from, window.allowed_until, body.note
    )
    return QuietRule(
        channel, scope, window.allowed_from, window.allowed_until, "workspace", body.note
    )


async def delete_quiet_hours(
    session: AsyncSession, workspace_id: UUID, *, channel: MessageChannel, scope: str
) -> None:
    scope = _scope(scope)
    if not await MessagingRepository(session).delete_quiet_rule(workspace_id, channel, scope):
        raise QuietHoursRuleNotFound(f"this workspace has no {channel.value} rule for {scope}")


async def instance_quiet_hours(session: AsyncSession) -> list[QuietRule]:
    """The operator's rules for every workspace: the built-in ones, each replaced by the
    instance's row of its scope and channel where there is one."""
    rules: dict[tuple[MessageChannel, str], QuietRule] = {}
    for channel in MessageChannel:
        for scope, start, end, note in DEFAULT_RULES.get(channel.value, ()):
            rules[(channel, scope)] = QuietRule(channel, scope, start, end, "built-in", note)
    for row in await MessagingRepository(session).instance_quiet_rule_rows():
        rules[(row.channel, row.scope)] = QuietRule(
            row.channel, row.scope, row.allowed_from, row.allowed_until, "instance", row.note
        )
    return sorted(rules.values(), key=lambda r: (r.channel.value, r.scope))


async def set_instance_quiet_hours(
    session: AsyncSession,
    *,
    channel: MessageChannel,
    scope: str,
    allowed_from: int,
    allowed_until: int,
    note: str | None = None,
) -> QuietRule:
    """The operator's hours for a place, for every workspace (replacing the built-in rule
    of that scope; ``0``-``1440`` lifts it). Workspaces may narrow them, never widen."""
    scope = _scope(scope)
    try:
        window = Window(allowed_from, allowed_until)
    except InvalidQuietHours as error:
        raise QuietHoursRejected(str(error), field="allowed_from") from None
    await MessagingRepository(session).put_quiet_rule(
        None, channel, scope, window.allowed_from, window.allowed_until, note
    )
    return QuietRule(channel, scope, window.allowed_from, window.allowed_until, "instance", note)


async def reset_instance_quiet_hours(
    session: AsyncSession, *, channel: MessageChannel, scope: str
) -> None:
    """Drop the operator's row: the built-in rule of the scope (if any) applies again."""
    scope = _scope(scope)
    if not await MessagingRepository(session).delete_quiet_rule(None, channel, scope):
        raise QuietHoursRuleNotFound(f"the instance has no {channel.value} rule for {scope}")


def _scope(value: str) -> str:
    try:
        return parse_scope(value)
    except ValueError as error:
        raise QuietHoursRejected(str(error), field="scope") from None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# -- the sender identity and the automatic pause -----------------------------------------


def effective_sender(
    default: SenderIdentity, identity: WorkspaceMessaging | None
) -> SenderIdentity:
    """The instance's sender with the workspace's identity over it (what fans see)."""
    if identity is None:
        return default
    domain = parseaddr(default.email_address)[1].rpartition("@")[2]
    address = (
        f"{identity.email_local_part}@{domain}"
        if identity.email_local_part and domain
        else default.email_address
    )
    return SenderIdentity(
        email_address=address,
        email_name=identity.email_name or default.email_name,
        reply_to=identity.reply_to or default.reply_to,
        sms_from=identity.sms_from or default.sms_from,
    )


async def sender_of(session: AsyncSession, workspace_id: UUID) -> WorkspaceMessaging | None:
    return await MessagingRepository(session).identity(workspace_id)


async def set_sender(
    session: AsyncSession, workspace_id: UUID, body: SenderWrite
) -> WorkspaceMessaging:
    changed = body.model_dump(exclude_unset=True)
    local = changed.get("email_local_part")
    if local is not None and (not _LOCAL_PART.match(local) or len(local) > 64):
        raise SenderRejected(
            f"{local!r} is not the part of an address before the @", field="email_local_part"
        )
    reply_to = changed.get("reply_to")
    if reply_to is not None and "@" not in parseaddr(reply_to)[1]:
        raise SenderRejected(f"{reply_to!r} is not an email address", field="reply_to")
    sms_from = changed.get("sms_from")
    if sms_from is not None and not (_E164.match(sms_from) or _SERVICE_SID.match(sms_from)):
        raise SenderRejected(
            "sms_from must be an E.164 number (+15005550006) or a messaging-service SID (MG…)",
            field="sms_from",
        )
    row = await MessagingRepository(session).identity_for_update(workspace_id)
    for name, value in changed.items():
        setattr(row, name, "" if name == "email_name" and value is None else value)
    await session.flush()
    return row


async def resume_sending(
    session: AsyncSession, workspace_id: UUID, *, now: datetime
) -> WorkspaceMessaging:
    """Lift the automatic pause (after the cause was dealt with): the held messages go."""
    row = await MessagingRepository(session).identity_for_update(workspace_id)
    row.paused, row.paused_reason, row.paused_at = False, None, None
    row.resumed_at = now
    await session.flush()
    return row
