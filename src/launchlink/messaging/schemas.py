"""What the messaging API reads and writes (``/api/v1/messaging/...``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from launchlink.kit.text import SingleLine
from launchlink.models.messaging import MessageChannel, MessageKind

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_SCOPE = re.compile(r"^(\*|[A-Z]{2}|[A-Z]{2}-[A-Z0-9]{1,3})$")


def _language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError(f"{value!r} is not a language tag like 'en' or 'pt-BR'")
    return value


def parse_scope(value: str) -> str:
    """``*``, a country (``US``) or a subdivision (``US-FL``), upper case; ValueError if not."""
    value = value.strip().upper()
    if not _SCOPE.match(value):
        raise ValueError(f"{value!r} is not '*', a country (US) or a subdivision (US-FL)")
    return value


Language = Annotated[str, Field(min_length=2, max_length=8), AfterValidator(_language)]
Minute = Annotated[int, Field(ge=0, le=1440)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateParts(Strict):
    subject: Annotated[SingleLine, Field(max_length=300)] = Field(
        default="", description="Email only; Jinja2 with the listed variables."
    )
    text: Annotated[str, Field(min_length=1, max_length=10_000)] = Field(
        description="The plain-text part (email) or the text (SMS)."
    )
    html: Annotated[str, Field(max_length=50_000)] | None = Field(
        default=None, description="Email only; without it the text is turned into HTML."
    )


class TemplateCreate(TemplateParts):
    kind: MessageKind
    channel: MessageChannel
    language: Language = Field(description="The fans' language this wording is for.")


class TemplateUpdate(Strict):
    subject: Annotated[SingleLine, Field(max_length=300)] | None = None
    text: Annotated[str, Field(min_length=1, max_length=10_000)] | None = None
    html: Annotated[str, Field(max_length=50_000)] | None = None


class TemplateRead(BaseModel):
    id: UUID
    kind: MessageKind
    channel: MessageChannel
    language: str
    subject: str
    text: str
    html: str | None
    created_at: datetime
    updated_at: datetime


class TemplatePreviewBody(TemplateParts):
    kind: MessageKind
    channel: MessageChannel


class PreviewRead(BaseModel):
    subject: str
    text: str
    html: str | None
    variables: dict[str, str] = Field(description="Each variable a template may use.")


class DefaultTemplateRead(BaseModel):
    kind: MessageKind
    channel: MessageChannel
    language: str
    subject: str
    text: str
    overridden: bool = Field(description="The workspace has its own wording for this.")


class AnnouncementCreate(Strict):
    link_id: UUID = Field(description="The link the announcement points to (smart link).")
    body: Annotated[str, Field(min_length=1, max_length=1000)]
    channels: list[MessageChannel] = Field(min_length=1, max_length=2)
    send_at: datetime | None = Field(
        default=None, description="When to send (each fan's quiet hours still apply); now."
    )
    audience: Literal["workspace", "campaign"] = Field(
        default="workspace",
        description="Every consenting fan of the workspace, or only the consenting fans of "
        "the link's campaign (those with a pre-save on it).",
    )


class CountsRead(BaseModel):
    total: int
    by_state: dict[str, int]
    by_channel: dict[str, dict[str, int]] = Field(description="channel → state → messages.")


class AnnouncementRead(BaseModel):
    id: UUID
    queued: int
    counts: CountsRead


class QuietHoursRuleWrite(Strict):
    allowed_from: Minute = Field(description="Minutes after local midnight, inclusive.")
    allowed_until: Minute = Field(description="Minutes after local midnight, exclusive.")
    note: Annotated[SingleLine, Field(max_length=300)] | None = None


class QuietHoursRuleRead(BaseModel):
    channel: MessageChannel
    scope: str
    allowed_from: int
    allowed_until: int
    source: str = Field(description="built-in, instance (the operator's table) or workspace.")
    note: str | None = None


class SenderWrite(Strict):
    email_name: Annotated[SingleLine, Field(max_length=200)] | None = None
    email_local_part: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The From is <local part>@<the operator's DKIM domain>."
    )
    reply_to: Annotated[SingleLine, Field(max_length=320)] | None = None
    sms_from: Annotated[SingleLine, Field(max_length=20)] | None = Field(
        default=None, description="An E.164 number or a messaging-service SID of the provider."
    )


class SenderRead(BaseModel):
    email_name: str
    email_address: str = Field(description="The From address fans see.")
    email_local_part: str | None
    reply_to: str | None
    sms_from: str | None
    paused: bool
    paused_reason: str | None
    paused_at: datetime | None


class LedgerEntryRead(BaseModel):
    status: str
    source: str
    detail: str | None
    at: datetime


class MessageRead(BaseModel):
    id: UUID
    kind: MessageKind
    channel: MessageChannel
    state: str
    fan_id: UUID
    link_id: UUID | None
    release_id: UUID | None
    announcement_id: UUID | None
    send_at: datetime
    next_attempt_at: datetime
    deferred: str | None
    attempts: int
    provider: str | None
    bounce: str | None
    last_error: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    ledger: list[LedgerEntryRead]
