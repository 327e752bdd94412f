"""What mailbox providers tell us after the hand-over: bounces (RFC 3464 delivery status
notifications) and complaints (RFC 5965 feedback reports, "this is spam").

Both arrive at ``POST /messaging/email/feedback`` (``web.py``), posted by the operator's
bounce mailbox or MTA with the feedback token; :func:`record_feedback` takes the raw
message and the caller's session and never commits. Each is matched to our message by
its Message-ID (the original's, which the report carries), never by an address alone:

* a **bounce** is classified from its status code (``channels/status.py``): the message
  becomes ``failed`` with its bounce class; a hard bounce cancels the fan's other queued
  emails (the address is dead);
* a **complaint** marks the message ``complaint`` and is an opt-out: the fan's email
  consent is withdrawn (a consent-ledger row) and their queued emails cancelled, at once;
* then the workspace's bounce and complaint rates are checked (``pauses.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message as EmailMessage
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.channels.status import original_message_id, parse_dsn
from launchlink.messaging.pauses import check_pauses
from launchlink.messaging.repository import MessagingRepository
from launchlink.models.messaging import MessageChannel, MessageState

PROVIDER = "smtp"


@dataclass
class FeedbackResult:
    kind: str
    """``dsn``, ``complaint`` or ``unknown`` (neither: ignored)."""
    matched: int = 0
    unmatched: list[str] = field(default_factory=list)
    paused: list[UUID] = field(default_factory=list)


def feedback_type(raw: bytes) -> str | None:
    """The Feedback-Type of an RFC 5965 report (``abuse``, ``fraud``...), else None."""
    report = message_from_bytes(raw)
    for part in report.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            fields: EmailMessage | None = None
            if isinstance(payload, list) and payload and isinstance(payload[0], EmailMessage):
                fields = payload[0]
            elif isinstance(payload, str):
                fields = message_from_bytes(payload.encode())
            if fields is not None:
                return str(fields.get("Feedback-Type") or "abuse").strip().lower()
            return "abuse"
    return None


async def record_feedback(
    session: AsyncSession, raw: bytes, *, settings: MessagingSettings, now: datetime
) -> FeedbackResult:
    repository = MessagingRepository(session)
    complaint = feedback_type(raw)
    if complaint is not None:
        result = FeedbackResult("complaint")
        message_id = original_message_id(message_from_bytes(raw))
        message = await repository.by_provider_id(PROVIDER, message_id) if message_id else None
        if message is None:
            result.unmatched.append(message_id or "(no Message-ID)")
            return result
        message.bounce = "complaint"
        message.updated_at = now
        await repository.record([(message.id, "complaint", "fbl", complaint[:40], now)])
        await repository.withdraw_email_consent(
            message.fan_id, now=now, why="feedback report: marked as spam"
        )
        await repository.cancel_open(
            [message.fan_id], channels=[MessageChannel.email], now=now,
            reason="the fan reported an email as spam", source="fbl",
        )  # fmt: skip
        result.matched = 1
        result.paused = await check_pauses(repository, [message.workspace_id], settings, now)
        return result
    recipients = parse_dsn(raw)
    if not recipients:
        return FeedbackResult("unknown")
    result = FeedbackResult("dsn")
    workspaces: set[UUID] = set()
    for recipient in recipients:
        if recipient.action != "failed":
            continue  # delayed, delivered, relayed: nothing to record against the fan
        key = recipient.original_message_id
        message = await repository.by_provider_id(PROVIDER, key) if key else None
        if message is None:
            result.unmatched.append(key or recipient.recipient)
            continue
        status = recipient.status
        if message.state in (MessageState.sent, MessageState.delivered, MessageState.queued):
            message.state, message.finished_at = MessageState.failed, now
        message.bounce = status.bounce
        message.last_error = f"bounced: {status.code}"
        message.updated_at = now
        await repository.record([(message.id, "bounced", "dsn", status.code, now)])
        if status.bounce == "hard":
            await repository.cancel_open(
                [message.fan_id], channels=[MessageChannel.email], now=now,
                reason="the address bounced", source="dsn",
            )  # fmt: skip
        workspaces.add(message.workspace_id)
        result.matched += 1
    await session.flush()
    result.paused = await check_pauses(repository, workspaces, settings, now)
    return result
