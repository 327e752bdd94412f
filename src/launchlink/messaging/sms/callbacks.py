"""What the provider tells us after the hand-over, and what fans text back.

Both arrive as requests signed by the provider (``signature.py``), checked by the web
layer before these functions run; they take the caller's session and never commit.

* **Status callbacks** reconcile the ledger: ``delivered`` means the handset got it,
  ``sent`` only that the carrier took it; ``undelivered``/``failed`` carry an error code
  that is classified like the API's. Callbacks can arrive out of order, so a message never
  goes back from ``delivered`` or ``failed`` to an earlier state.
* **Inbound messages** honour STOP & co. and free-text opt-outs **across channels at
  once**: every fan with that number loses SMS *and* email consent (a ledger row each), and
  their queued messages on both channels are cancelled. START/YES confirms (or renews) SMS
  consent — the double opt-in's second step. HELP gets the help text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.messaging.planner import plan_fan
from launchlink.messaging.repository import MessagingRepository
from launchlink.messaging.sms.keywords import Intent, intent_of
from launchlink.messaging.sms.twilio import classify_error
from launchlink.models import ConsentRecord
from launchlink.models.messaging import MessageChannel, MessageState
from launchlink.models.presave import ConsentKind
from launchlink.presave.repository import PresaveRepository

HANDED_OVER = frozenset({"accepted", "queued", "sending", "sent", "scheduled"})
FAILED = frozenset({"undelivered", "failed"})

HELP_TEXT = (
    "launchlink release alerts: texts when releases you asked about are out. "
    "Reply STOP to opt out of texts and email. Msg & data rates may apply."
)
STOPPED_TEXT = "You are unsubscribed and will get no more texts or emails from us."
STARTED_TEXT = "Thanks, you'll get a text when it's out. Reply STOP to opt out."


async def record_status(
    session: AsyncSession,
    *,
    provider: str,
    provider_message_id: str,
    status: str,
    error_code: int | None,
    now: datetime,
) -> UUID | None:
    """Apply one status callback; the message's workspace, or None when no message has
    that id (ignored)."""
    repository = MessagingRepository(session)
    message = await repository.by_provider_id(provider, provider_message_id)
    if message is None:
        return None
    status = status.lower()
    detail = f"error {error_code}" if error_code else None
    if message.state in (MessageState.delivered, MessageState.failed, MessageState.cancelled):
        await repository.record([(message.id, f"late-{status}", "callback", detail, now)])
        return message.workspace_id
    if status == "delivered":
        message.state, message.delivered_at, message.finished_at = (
            MessageState.delivered,
            now,
            now,
        )
    elif status in FAILED:
        _permanent, bounce = classify_error(error_code)
        message.state, message.finished_at = MessageState.failed, now
        message.bounce = bounce
        message.last_error = f"the carrier reported {status}" + (f" ({detail})" if detail else "")
    elif status not in HANDED_OVER:
        detail = f"unknown status {status[:40]!r}"
    message.updated_at = now
    await session.flush()
    await repository.record([(message.id, status[:24], "callback", detail, now)])
    return message.workspace_id


@dataclass(frozen=True)
class InboundReply:
    intent: Intent
    fans: int
    text: str | None


async def handle_inbound(
    session: AsyncSession, *, from_number: str, body: str, now: datetime
) -> InboundReply:
    """Act on a fan's text; returns what to answer (None: no answer)."""
    intent = intent_of(body)
    repository = MessagingRepository(session)
    if intent is Intent.other:
        return InboundReply(intent, 0, None)
    fans = await repository.fans_by_phone(from_number)
    if intent is Intent.help:
        return InboundReply(intent, len(fans), HELP_TEXT)
    if intent is Intent.opt_out:
        for fan in fans:
            # STOP is everything at once: the reminder-only consents of every release too
            # (withdraw_reminders writes their ledger rows).
            reminders = await PresaveRepository(session).withdraw_reminders(
                fan.id, email=True, sms=True, now=now, why="sms: " + body[:100]
            )
            withdrawn = []
            # A confirmed number without marketing consent was confirmed for a reminder:
            # its withdrawal is the sms_reminder row, not an "sms" one.
            if fan.sms_consent_at is not None or (
                fan.sms_confirmed_at is not None and ConsentKind.sms_reminder not in reminders
            ):
                withdrawn.append(ConsentKind.sms)
            if fan.email_consent_at is not None:
                withdrawn.append(ConsentKind.email)
            fan.sms_consent_at = fan.sms_confirmed_at = fan.email_consent_at = None
            for kind in withdrawn:
                await PresaveRepository(session).add(
                    ConsentRecord(
                        workspace_id=fan.workspace_id,
                        fan_id=fan.id,
                        kind=kind,
                        granted=False,
                        user_agent="sms: " + body[:100],
                        at=now,
                    )
                )
        await session.flush()
        await repository.cancel_open(
            [fan.id for fan in fans],
            channels=[MessageChannel.sms, MessageChannel.email],
            now=now,
            reason="the fan opted out by text",
            source="fan",
        )
        return InboundReply(intent, len(fans), STOPPED_TEXT)
    for fan in fans:
        # A YES to the opt-in text confirms the number; it is not marketing consent when
        # the fan asked for a release's texts only (a START after a STOP re-subscribes).
        reminder_only = fan.sms_consent_at is None and await PresaveRepository(
            session
        ).has_sms_reminder(fan.id)
        if not reminder_only:
            fan.sms_consent_at = fan.sms_consent_at or now
        fan.sms_confirmed_at = now
        await PresaveRepository(session).add(
            ConsentRecord(
                workspace_id=fan.workspace_id,
                fan_id=fan.id,
                kind=ConsentKind.sms_reminder if reminder_only else ConsentKind.sms,
                granted=True,
                user_agent="sms: " + body[:100],
                at=now,
            )
        )
    await session.flush()
    for fan in fans:  # confirmed: the texts their pre-saves call for are planned now
        await plan_fan(session, fan.id, now=now)
    return InboundReply(intent, len(fans), STARTED_TEXT if fans else None)
