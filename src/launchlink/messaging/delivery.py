"""Delivery: workers send the message outbox, one channel at a time.

A round claims a batch of due messages of one channel under a lease, decides each —
**cancel** (no confirmed consent for the channel, fan deleted), **defer** (quiet hours in
the fan's zone, the workspace paused: ``next_attempt_at`` moves, the message is never
dropped), or **send** — hands the sendable ones to the channel (paced by the shared rate
limiter of the channel's provider, a few at once), and settles the batch in one
transaction with the ledger rows and the ``message.*`` events.

Exactly once, and what it costs: a message's result is committed with its lease fenced by
``lease_owner``; a worker killed mid-batch leaves its leases to run out and the next worker
re-claims them. A re-claimed message that the killed worker had already handed over is
handed over again — with the same Message-ID (email), so it is the same message to the
receiver and the ledger — which is why ``batch`` (what one kill can cut short) is kept
small relative to throughput. ``sent-again`` in the ledger marks those re-sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from launchlink.db import Database
from launchlink.events import Event, MessageFailed, MessageSent, emit_many
from launchlink.fulfilment.limiter import MemoryLimiter, RateLimiter
from launchlink.kit.backoff import backoff_delay
from launchlink.kit.clock import Clock
from launchlink.kit.leases import worker_name
from launchlink.links.service import public_url_of
from launchlink.messaging.channels.base import (
    Channel,
    Envelope,
    PermanentFailure,
    SenderIdentity,
    TransientFailure,
)
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.manage import effective_sender
from launchlink.messaging.pauses import check_pauses
from launchlink.messaging.planner import COUNTDOWN
from launchlink.messaging.quiet_hours import QuietHours
from launchlink.messaging.repository import (
    ClaimedMessage,
    LinkContent,
    MessagingRepository,
    Settled,
)
from launchlink.messaging.templates import (
    DEFAULTS,
    InvalidTemplate,
    Template,
    default_template,
    render,
    smart_link,
)
from launchlink.models import Link
from launchlink.models.messaging import (
    MessageChannel,
    MessageKind,
    MessageState,
    WorkspaceMessaging,
)
from launchlink.platforms import PLATFORMS

logger = logging.getLogger(__name__)

Unsubscribe = Callable[[UUID, UUID], Mapping[str, str]]
"""(fan, link) → the List-Unsubscribe headers (``presave.service.signed_unsubscribe_headers``)."""

PAUSED_RECHECK = timedelta(minutes=15)
SMS_FOOTER = "Reply STOP to opt out."


@dataclass
class Round:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0

    def add(self, state: str) -> None:
        self.add_many(state, 1)

    def merge(self, other: Round) -> None:
        """Add the outcomes of ``other`` (a part of this round settled on its own; what was
        claimed is counted once, by the round)."""
        for item in dataclasses.fields(self):
            if item.name != "claimed":
                self.add_many(item.name, getattr(other, item.name))

    def add_many(self, state: str, count: int) -> None:
        setattr(self, state, getattr(self, state) + count)


@dataclass
class _Plan:
    message: ClaimedMessage
    envelope: Envelope | None = None
    result: Settled | None = None


@dataclass
class Delivery:
    """Sends due messages; one per worker process (``run``), or driven by tests."""

    database: Database
    clock: Clock
    channels: Mapping[MessageChannel, Channel]
    settings: MessagingSettings
    public_url: str
    default_sender: SenderIdentity
    unsubscribe: Unsubscribe
    limiter: RateLimiter = field(default_factory=MemoryLimiter)
    owner: str = field(default_factory=worker_name)

    async def run_round(self, channel: MessageChannel) -> Round:
        """Claim one batch of ``channel`` and settle it."""
        sender = self.channels.get(channel)
        if sender is None:
            return Round()
        now = self.clock.now()
        settings = self.settings
        async with self.database.transaction(write_lock=True) as session:
            repository = MessagingRepository(session)
            claimed = await repository.claim(
                channel=channel,
                owner=self.owner,
                now=now,
                lease_until=now + timedelta(seconds=settings.lease_seconds),
                limit=settings.batch,
            )
            if not claimed:
                return Round()
            workspaces = {m.workspace_id for m in claimed}
            instance = await repository.quiet_rules(channel, workspace_id=None)
            own = await repository.workspace_quiet_rules(channel, workspaces)
            # A workspace's own rows replace the operator's of the same scope.
            quiet = {
                w: QuietHours.for_channel(channel.value, [*instance, *own.get(w, [])])
                for w in workspaces
            }
            identities = await repository.identities(workspaces)
            templates = await repository.templates_for(workspaces)
            contents = await repository.link_contents(
                m.link_id for m in claimed if m.link_id is not None
            )
        plans = [
            self._decide(
                m, now, quiet[m.workspace_id], identities.get(m.workspace_id), contents, templates
            )
            for m in claimed
        ]
        return await self._hand_over_and_settle(sender, plans, channel)

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
        """``settings.lanes`` rounds of every channel at once until ``stop`` is set: while
        one lane settles its batch and claims the next (database work), another hands
        over, so the provider's rate limit is kept busy. A lane sleeps only when nothing
        was due; a round in hand when ``stop`` is set finishes and settles."""
        await asyncio.gather(
            *(
                self._lane(channel, stop, idle_seconds)
                for channel in self.channels
                for _ in range(self.settings.lanes)
            )
        )

    async def _lane(self, channel: MessageChannel, stop: asyncio.Event, idle: float) -> None:
        while not stop.is_set():
            try:
                busy = (await self.run_round(channel)).claimed > 0
            except Exception:
                logger.exception("a %s delivery round failed; retrying", channel.value)
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle)

    # -- deciding ---------------------------------------------------------------------------

    def _decide(
        self,
        m: ClaimedMessage,
        now: datetime,
        quiet: QuietHours,
        identity: WorkspaceMessaging | None,
        contents: Mapping[UUID, LinkContent],
        templates: Mapping[tuple[UUID, MessageKind, MessageChannel, str], Template],
    ) -> _Plan:
        plan = _Plan(m)
        refusal = _no_consent(m)
        if refusal is not None:
            plan.result = Settled(m.id, MessageState.cancelled, "cancelled", error=refusal)
            return plan
        if m.kind is MessageKind.countdown and now >= m.send_at + COUNTDOWN:
            # Late (workers down, deferred): "24 hours to go" after the release is wrong.
            plan.result = Settled(
                m.id, MessageState.cancelled, "cancelled",
                error="the release moment passed before its countdown could go out",
            )  # fmt: skip
            return plan
        if identity is not None and identity.paused:
            reason = f"the workspace's sending is paused: {identity.paused_reason or 'by hand'}"
            plan.result = _defer(m, now + PAUSED_RECHECK, reason)
            return plan
        zone = m.time_zone or "UTC"
        allowed = quiet.next_allowed(now, zone=zone, country=m.country, region=m.region)
        if allowed > now:
            plan.result = _defer(m, allowed, f"quiet hours in {zone}")
            return plan
        try:
            plan.envelope = self._envelope(m, identity, contents, templates)
        except InvalidTemplate as error:
            plan.result = Settled(m.id, MessageState.failed, "failed", error=str(error))
        return plan

    def _envelope(
        self,
        m: ClaimedMessage,
        identity: WorkspaceMessaging | None,
        contents: Mapping[UUID, LinkContent],
        templates: Mapping[tuple[UUID, MessageKind, MessageChannel, str], Template],
    ) -> Envelope:
        content = contents.get(m.link_id) if m.link_id is not None else None
        if m.link_id is not None and content is None:
            raise InvalidTemplate("the link of this message no longer exists")
        sender = effective_sender(self.default_sender, identity)
        service = m.variables.get("service")
        variables: dict[str, Any] = {
            "workspace": sender.email_name or "launchlink",
            "hours": m.variables.get("hours", 24),
            "saved": bool(m.variables.get("saved", False)),
            "body": m.variables.get("body", ""),
        }
        if content is not None:
            canonical = _canonical(content, self.public_url)
            # Deep-linked to the fan's service only where the link has a destination there.
            platform = (
                PLATFORMS.get(service)
                if isinstance(service, str) and service in content.services
                else None
            )
            variables.update(
                title=content.title,
                artists=", ".join(content.artists),
                service_name=platform.display_name if platform else "your service",
                listen_url=smart_link(canonical, m.channel, m.kind, service if platform else None),
            )
        else:
            variables.update(title="", artists="", service_name="", listen_url="")
        template = _template(templates, m)
        rendered = render(template, variables)
        if m.channel is MessageChannel.email:
            if m.link_id is None:
                raise InvalidTemplate("an email needs a link to unsubscribe from")
            headers = self.unsubscribe(m.fan_id, m.link_id)
            unsubscribe_url = headers["List-Unsubscribe"].strip("<>")
            text = f"{rendered.text.rstrip()}\n\n--\nUnsubscribe: {unsubscribe_url}\n"
            return Envelope(
                message_id=m.id,
                to=str(m.email),
                subject=rendered.subject,
                text=text,
                html=rendered.html,
                sender=sender,
                headers=headers,
            )
        text = rendered.text.strip()
        if m.kind is not MessageKind.sms_opt_in and "STOP" not in text:
            text = f"{text} {SMS_FOOTER}"
        return Envelope(
            message_id=m.id,
            to=str(m.phone),
            text=text,
            sender=sender,
            status_callback=f"{self.public_url}/messaging/sms/status",
        )

    # -- sending ----------------------------------------------------------------------------

    async def _hand_over_and_settle(
        self, sender: Channel, plans: list[_Plan], channel: MessageChannel
    ) -> Round:
        """Hand the batch over while settling each result as soon as it is known.

        A message handed over is recorded ``sent`` in the next commit (group commits: what
        finished while the previous one ran goes in together), not when the whole batch
        is through: a worker killed mid-batch leaves only the messages of the commit in
        hand to be sent again, not every one handed over since the claim."""
        done = Round(claimed=len(plans))
        ready = [p for p in plans if p.result is not None]
        wake = asyncio.Event()
        finished = False

        def settled(plan: _Plan) -> None:
            ready.append(plan)
            wake.set()

        async def settle_as_they_come() -> None:
            while True:
                await wake.wait()
                wake.clear()
                while ready:
                    batch = ready[:]
                    ready.clear()
                    done.merge(await self._settle(batch, channel))
                if finished:
                    return

        async def send_all() -> None:
            nonlocal finished
            try:
                await self._hand_over(sender, [p for p in plans if p.result is None], settled)
            finally:
                finished = True
                wake.set()

        if ready:
            wake.set()
        # A task group: if settling fails, the hand-over stops too (and the other way round).
        async with asyncio.TaskGroup() as group:
            group.create_task(send_all())
            group.create_task(settle_as_they_come())
        return done

    async def _hand_over(
        self, channel: Channel, plans: list[_Plan], settled: Callable[[_Plan], None]
    ) -> None:
        if not plans:
            return
        key = f"messaging:{channel.name}:{channel.provider}"
        limit = (
            self.settings.email_per_second
            if channel.name == MessageChannel.email.value
            else self.settings.sms_per_second
        )
        rate = limit * (1 - self.settings.rate_margin)
        queue: asyncio.Queue[_Plan] = asyncio.Queue()
        for plan in plans:
            queue.put_nowait(plan)

        async def worker() -> None:
            while not queue.empty():
                plan = queue.get_nowait()
                await self._pace(key, rate)
                plan.result = await self._send_one(channel, plan)
                settled(plan)

        width = min(len(plans), max(1, self.settings.smtp_connections))
        await asyncio.gather(*(worker() for _ in range(width)))

    async def _pace(self, key: str, rate: float) -> None:
        while True:
            reservation = await self.limiter.reserve(key, rate)
            if reservation.paused_until is None:
                if reservation.wait > 0:
                    await asyncio.sleep(reservation.wait)
                return
            await asyncio.sleep(min(5.0, max(0.05, reservation.wait)))

    async def _send_one(self, channel: Channel, plan: _Plan) -> Settled:
        m, envelope = plan.message, plan.envelope
        assert envelope is not None
        attempts = m.attempts + 1
        try:
            accepted = await channel.send(envelope)
        except PermanentFailure as error:
            return Settled(
                m.id,
                MessageState.failed,
                "bounced" if error.bounce in ("hard", "blocked") else "failed",
                attempts=attempts,
                bounce=error.bounce,
                error=str(error),
            )
        except TransientFailure as error:
            settings = self.settings
            if error.rate_limited:
                # Our pace, not this message: no attempt is charged, it waits Retry-After.
                wait = error.retry_after if error.retry_after is not None else 1.0
                return Settled(
                    m.id, MessageState.queued, "retrying", attempts=m.attempts,
                    next_attempt_at=self.clock.now() + timedelta(seconds=wait),
                    error=f"rate limited: {error}",
                )  # fmt: skip
            if attempts >= settings.max_attempts:
                return Settled(
                    m.id, MessageState.failed, "failed", attempts=attempts,
                    error=f"gave up after {attempts} attempts: {error}",
                )  # fmt: skip
            delay = backoff_delay(
                attempts,
                base_seconds=settings.retry_base_seconds,
                cap_seconds=settings.retry_cap_seconds,
            )
            if error.retry_after is not None:
                delay = max(delay, timedelta(seconds=error.retry_after))
            return Settled(
                m.id, MessageState.queued, "retrying", attempts=attempts,
                next_attempt_at=self.clock.now() + delay, error=str(error),
            )  # fmt: skip
        return Settled(
            m.id,
            MessageState.sent,
            "sent-again" if m.interrupted else "sent",
            provider=accepted.provider,
            provider_message_id=accepted.provider_message_id,
        )

    # -- settling ---------------------------------------------------------------------------

    async def _settle(self, plans: list[_Plan], channel: MessageChannel) -> Round:
        now = self.clock.now()
        done = Round(claimed=len(plans))
        results = [p.result for p in plans if p.result is not None]
        by_id = {p.message.id: p.message for p in plans}
        async with self.database.transaction(write_lock=True) as session:
            repository = MessagingRepository(session)
            await repository.settle(self.owner, results, now=now)
            events: list[Event] = []
            for result in results:
                m = by_id[result.message_id]
                state = {
                    "sent": "sent",
                    "sent-again": "sent",
                    "deferred": "deferred",
                    "retrying": "retrying",
                    "cancelled": "cancelled",
                }.get(result.status, "failed")
                done.add(state)
                if result.state is MessageState.sent:
                    events.append(_event(MessageSent, m, now, None))
                elif result.state is MessageState.failed:
                    events.append(_event(MessageFailed, m, now, result.error))
            hard = [by_id[r.message_id].fan_id for r in results if r.bounce == "hard"]
            if hard:
                await repository.cancel_open(
                    hard, channels=[channel], now=now, reason="the address bounced",
                    source="worker",
                )  # fmt: skip
            await emit_many(session, events)
            await check_pauses(
                repository, {m.workspace_id for m in by_id.values()}, self.settings, now
            )
        return done


def _no_consent(m: ClaimedMessage) -> str | None:
    """Why this message may not go to this fan on this channel; None when it may."""
    if m.fan_deleted:
        return "the fan was deleted"
    if m.channel is MessageChannel.email:
        if not m.email or not m.email_consent:
            return "no confirmed email consent"
        return None
    if not m.phone or not m.sms_consent:
        return "no SMS consent"
    if m.kind is MessageKind.sms_opt_in:
        return "the number is already confirmed" if m.sms_confirmed else None
    if not m.sms_confirmed:
        return "the fan has not confirmed texts (double opt-in)"
    return None


def _template(
    templates: Mapping[tuple[UUID, MessageKind, MessageChannel, str], Template],
    m: ClaimedMessage,
) -> Template:
    """The workspace's wording in the fan's language (or its base language), else the
    built-in one in that language, else the workspace's English, else the built-in
    English: a translation the workspace wrote wins over the built-in one."""
    base = m.language.split("-")[0].lower()
    for language in (m.language, base):
        own = templates.get((m.workspace_id, m.kind, m.channel, language))
        if own is not None:
            return own
    built_in = DEFAULTS.get((m.kind, m.channel), {})
    if m.language in built_in or base in built_in:
        return default_template(m.kind, m.channel, m.language)
    return templates.get((m.workspace_id, m.kind, m.channel, "en")) or default_template(
        m.kind, m.channel, m.language
    )


def _defer(m: ClaimedMessage, until: datetime, reason: str) -> Settled:
    return Settled(m.id, MessageState.queued, "deferred", next_attempt_at=until, deferred=reason)


def _canonical(content: LinkContent, public_url: str) -> str:
    return public_url_of(Link(host=content.host, slug=content.slug), public_base_url=public_url)


def _event(kind: type[MessageSent | MessageFailed], m: ClaimedMessage, now: datetime,
           reason: str | None) -> Event:  # fmt: skip
    return kind(
        occurred_at=now,
        workspace_id=m.workspace_id,
        message_id=m.id,
        fan_id=m.fan_id,
        channel=m.channel.value,
        kind=m.kind.value,
        reason=reason,
    )
