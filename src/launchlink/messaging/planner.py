"""Planning messages: which fan gets what, on which channel, at which instant.

* **release day**: each fan who pre-saved and consented to a channel gets one message at
  their own release instant — the pre-save's ``due_at``, which is already the fan's local
  release moment (``presave/timing.py``) — and a **countdown** 24 hours before it, when
  that is still ahead. A "remind me" sign-up is a pre-save like the others (mode
  ``reminder``): its release-day message is the reminder.
* **SMS double opt-in**: a fan who gave a number and ticked SMS consent gets the opt-in
  text first; nothing else goes to the number until they answer YES/START.
* **receipts** after fulfilment, and one-off **announcements** to consenting fans.

Which consent a message needs: the fan's marketing consent (``fan.email_consent_at`` /
``sms_consent_at``) covers all of them; a pre-save's reminder-only consent
(``presave.email_reminder_at`` / ``sms_reminder_at``) covers the release-day, countdown,
receipt (and SMS opt-in) messages of that pre-save only — never an announcement, never
another release. The delivery worker checks the same again at send time.

Every message has a ``dedupe_key`` naming its purpose, so planning twice (a sweep, a
replayed event) adds nothing. When a release moves, :func:`replan_release_messages` —
called by ``presave/replan.py`` in the same transaction, after the pre-saves moved —
moves every queued release-day and countdown message to the new instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.events import MessageQueued, emit_many
from launchlink.kit.ids import uuid7
from launchlink.messaging.repository import MessagingRepository
from launchlink.models import Fan, Presave
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.models.presave import PresaveState

COUNTDOWN = timedelta(hours=24)


def _key(kind: MessageKind, scope: UUID | str, fan_id: UUID, channel: MessageChannel) -> str:
    return f"{kind.value}:{scope}:{fan_id}:{channel.value}"


def _channels(fan: Fan, presave: Presave | None = None) -> list[MessageChannel]:
    """The channels the fan consented to for a message: marketing consent (the fan's)
    covers every message; a reminder-only consent (the pre-save's) only the messages of
    that pre-save's release. Announcements pass no pre-save."""
    wanted = []
    if fan.email and (fan.email_consent_at is not None or _reminder(presave, "email")):
        wanted.append(MessageChannel.email)
    if (
        fan.phone
        and (fan.sms_consent_at is not None or _reminder(presave, "sms"))
        and fan.sms_confirmed_at is not None
    ):
        wanted.append(MessageChannel.sms)
    return wanted


def _reminder(presave: Presave | None, channel: str) -> bool:
    if presave is None:
        return False
    at = presave.email_reminder_at if channel == "email" else presave.sms_reminder_at
    return at is not None


async def _queue(session: AsyncSession, rows: list[dict[str, Any]], *, now: datetime) -> list[UUID]:
    repository = MessagingRepository(session)
    inserted = await repository.queue(rows, now=now)
    by_key = {row["dedupe_key"]: row for row in rows}
    if inserted:
        stored = await repository.messages(inserted)
        await emit_many(
            session,
            [
                MessageQueued(
                    occurred_at=now,
                    workspace_id=m.workspace_id,
                    message_id=m.id,
                    fan_id=m.fan_id,
                    channel=m.channel.value,
                    kind=m.kind.value,
                )
                for m in stored
                if m.dedupe_key in by_key
            ],
        )
    return inserted


async def plan_release(session: AsyncSession, release_id: UUID, *, now: datetime) -> int:
    """Queue the release-day, countdown and SMS opt-in messages of every fan of the
    release who has not got them yet; returns how many were queued (a sweep: the
    subscriber plans each pre-save as it is made, :func:`plan_presave`)."""
    rows = await MessagingRepository(session).presaves_of_release(release_id)
    planned = [row for presave, fan in rows for row in _release_rows(presave, fan, now)]
    return len(await _queue(session, planned, now=now))


async def plan_presave(session: AsyncSession, presave_id: UUID, *, now: datetime) -> int:
    """The messages one new pre-save calls for (``presave.created``); 0 when the pre-save
    is gone, cancelled or its fan deleted. Every kind of pre-save counts, a "remind me"
    one included: the release-day message *is* the reminder."""
    row = await MessagingRepository(session).presave_with_fan(presave_id)
    if row is None:
        return 0
    presave, fan = row
    if fan.deleted_at is not None or presave.state is PresaveState.cancelled:
        return 0
    return len(await _queue(session, _release_rows(presave, fan, now), now=now))


async def plan_fan(session: AsyncSession, fan_id: UUID, *, now: datetime) -> int:
    """Plan what the fan's open pre-saves call for, after the fan's consent changed (an
    address confirmed, a YES to the opt-in text): the channels that are new get their
    messages; the rest are there already (``dedupe_key``)."""
    rows = await MessagingRepository(session).open_presaves_of_fan(fan_id)
    planned = [row for presave, fan in rows for row in _release_rows(presave, fan, now)]
    return len(await _queue(session, planned, now=now))


def _release_rows(presave: Presave, fan: Fan, now: datetime) -> list[dict[str, Any]]:
    planned: list[dict[str, Any]] = []
    wants_texts = fan.sms_consent_at is not None or _reminder(presave, "sms")
    if fan.phone and wants_texts and fan.sms_confirmed_at is None:
        planned.append(
            _row(fan, presave, MessageKind.sms_opt_in, MessageChannel.sms, now,
                 key=_key(MessageKind.sms_opt_in, "number", fan.id, MessageChannel.sms),
                 # Its wording must not promise (or ask for) more than was ticked.
                 variables={"reminder_only": fan.sms_consent_at is None})
        )  # fmt: skip
    for channel in _channels(fan, presave):
        planned.append(_row(fan, presave, MessageKind.release_day, channel, presave.due_at))
        countdown_at = presave.due_at - COUNTDOWN
        if countdown_at > now:
            planned.append(_row(fan, presave, MessageKind.countdown, channel, countdown_at))
    return planned


async def cancel_presave_messages(
    session: AsyncSession, presave_ids: Sequence[UUID], *, now: datetime, reason: str
) -> int:
    """Cancel the queued messages planned from these pre-saves (a revoke, a cancelled
    pre-save): nothing more is said about what the fan took back."""
    return await MessagingRepository(session).cancel_of_presaves(
        presave_ids, now=now, reason=reason
    )


def _row(
    fan: Fan,
    presave: Presave,
    kind: MessageKind,
    channel: MessageChannel,
    send_at: datetime,
    *,
    key: str | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "workspace_id": fan.workspace_id,
        "fan_id": fan.id,
        "link_id": presave.link_id,
        "release_id": presave.release_id,
        "presave_id": presave.id,
        "channel": channel,
        "kind": kind,
        "dedupe_key": key or _key(kind, presave.link_id, fan.id, channel),
        "send_at": send_at,
        "variables": {"service": presave.service, "hours": 24, **(variables or {})},
    }


async def plan_receipt(
    session: AsyncSession, presave_id: UUID, *, saved: bool, now: datetime
) -> int:
    """The fulfilment receipt of one pre-save, on the fan's first consenting channel."""
    row = await MessagingRepository(session).presave_with_fan(presave_id)
    if row is None or row[1].deleted_at is not None:
        return 0
    presave, fan = row
    channels = _channels(fan, presave)
    if not channels:
        return 0
    planned = _row(
        fan, presave, MessageKind.receipt, channels[0], now,
        key=_key(MessageKind.receipt, presave.id, fan.id, channels[0]),
        variables={"saved": saved},
    )  # fmt: skip
    return len(await _queue(session, [planned], now=now))


async def announce(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    link_id: UUID,
    body: str,
    channels: Sequence[MessageChannel],
    now: datetime,
    send_at: datetime | None = None,
    campaign_only: bool = False,
) -> tuple[UUID, int]:
    """A one-off message to every fan of the workspace (``campaign_only``: of the link's
    campaign, a pre-save on it) with a confirmed consent for each channel; returns the
    announcement's id and how many messages were queued."""
    announcement_id = uuid7()
    fans = await MessagingRepository(session).live_fans(
        workspace_id, link_id=link_id if campaign_only else None
    )
    planned = [
        {
            "workspace_id": workspace_id,
            "fan_id": fan.id,
            "link_id": link_id,
            "announcement_id": announcement_id,
            "channel": channel,
            "kind": MessageKind.announcement,
            "dedupe_key": _key(MessageKind.announcement, announcement_id, fan.id, channel),
            "send_at": send_at or now,
            "variables": {"body": body},
        }
        for fan in fans
        for channel in _channels(fan)
        if channel in channels
    ]
    return announcement_id, len(await _queue(session, planned, now=now))


async def replan_release_messages(session: AsyncSession, release_id: UUID, *, now: datetime) -> int:
    """Move every queued release-day and countdown message of the release to its
    pre-save's (new) instant; a countdown whose moment has passed is cancelled."""
    repository = MessagingRepository(session)
    messages = await repository.planned_for_release(release_id)
    presave_ids = {m.presave_id for m in messages if m.presave_id is not None}
    due = await repository.due_of(presave_ids)
    moved = 0
    ledger: list[tuple[UUID, str, str, str | None, datetime]] = []
    for message in messages:
        instant = due.get(message.presave_id) if message.presave_id else None
        if instant is None:
            continue
        target = instant - COUNTDOWN if message.kind is MessageKind.countdown else instant
        if target == message.send_at:
            continue
        if message.kind is MessageKind.countdown and target <= now:
            message.state, message.finished_at = MessageState.cancelled, now
            message.last_error = "the release moved; its countdown moment has passed"
            ledger.append((message.id, "cancelled", "planner", message.last_error, now))
        else:
            message.send_at = message.next_attempt_at = target
            message.deferred = None
            ledger.append((message.id, "replanned", "planner", target.isoformat(), now))
        moved += 1
    await session.flush()
    await repository.record(ledger)
    return moved
