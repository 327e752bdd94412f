"""Delivery: workers send the message outbox, one channel at a time.

A round claims a batch of due messages of one channel under a lease, decides each —
**cancel** (no confirmed consent for the channel, fan deleted), **defer** (quiet hours in
the fan's zone, the workspace paused: ``next_attempt_at`` moves, the message is never
dropped), or **send** — hands the sendable ones to the channel (paced by the shared rate
limiter of the channel's provider, a few at once), and settles each result with its
ledger rows and ``message.*`` events in grouped commits.

Exactly once, and what it costs (write-ahead): a message is marked handed over (an
attempt token, committed, fenced by ``lease_owner``) before it goes to the provider, and
its result is committed in the next commit of its connection — before that connection
sends anything else. A worker killed mid-batch leaves its leases to run out; the next
holder sees the marks it left:

* **SMS**: it asks the provider (Twilio's Messages list, by To, From, DateSent and body)
  before anything is re-sent: found → settled ``reconciled`` with the provider's SID; not
  found → sent. No duplicate, nothing lost.
* **Email**: SMTP has no idempotency key and nothing to ask, so the message is handed over
  again with the same Message-ID (``sent-again`` in the ledger). A copy is doubled only
  when the kill fell between the server's ``250`` and our commit: at most one message per
  open connection per kill (``lanes × smtp_connections``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from launchlink.db import Database
from launchlink.events import (
    Event,
    MessageFailed,
    MessageSent,
    emit_many_on,
    wake_local_dispatchers,
)
from launchlink.fulfilment.limiter import MemoryLimiter, RateLimiter
from launchlink.kit.backoff import backoff_delay
from launchlink.kit.clock import Clock
from launchlink.kit.ids import uuid7
from launchlink.kit.leases import worker_name
from launchlink.links.service import public_url_of
from launchlink.messaging.channels.base import (
    Channel,
    Envelope,
    PermanentFailure,
    Reconciling,
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
    DeliveryWrites,
    LinkContent,
    MessagingRepository,
    Settled,
)
from launchlink.messaging.templates import (
    DEFAULTS,
    InvalidTemplate,
    Template,
    default_template,
    render_shared,
    smart_link,
    sms_footer,
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
RECONCILE_SKEW = timedelta(minutes=2)
"""How far before our hand-over mark a provider's record may be dated (clock skew)."""
RECONCILE_RETRY = timedelta(seconds=30)


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
    _committers: dict[MessageChannel, _Committer] = field(
        default_factory=dict, init=False, repr=False
    )

    async def run_round(self, channel: MessageChannel) -> Round:
        """Claim one batch of ``channel`` and settle it."""
        sender = self.channels.get(channel)
        if sender is None:
            return Round()
        now = self.clock.now()
        settings = self.settings
        # The lease holder is this round, not the process: two lanes of one worker fence
        # each other's writes too.
        holder = f"{self.owner}/{uuid7().hex[:12]}"
        async with self.database.transaction(write_lock=True) as session:
            repository = MessagingRepository(session)
            claimed = await repository.claim(
                channel=channel,
                owner=holder,
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
            languages = await repository.base_languages(workspaces)
            contents = await repository.link_contents(
                m.link_id for m in claimed if m.link_id is not None
            )
        plans = [
            self._decide(
                m,
                now,
                quiet[m.workspace_id],
                identities.get(m.workspace_id),
                contents,
                templates,
                languages.get(m.workspace_id, "en"),
            )
            for m in claimed
        ]
        return await self._hand_over_and_settle(sender, plans, channel, holder)

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
        workspace_language: str = "en",
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
            plan.envelope = self._envelope(m, identity, contents, templates, workspace_language)
        except InvalidTemplate as error:
            plan.result = Settled(m.id, MessageState.failed, "failed", error=str(error))
        return plan

    def _envelope(
        self,
        m: ClaimedMessage,
        identity: WorkspaceMessaging | None,
        contents: Mapping[UUID, LinkContent],
        templates: Mapping[tuple[UUID, MessageKind, MessageChannel, str], Template],
        workspace_language: str = "en",
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
            "reminder_only": bool(m.variables.get("reminder_only", False)),
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
        template = _template(templates, m, workspace_language)
        rendered = render_shared(template, variables)
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
            text = f"{text} {sms_footer(m.language)}"
        return Envelope(
            message_id=m.id,
            to=str(m.phone),
            text=text,
            sender=sender,
            status_callback=f"{self.public_url}/messaging/sms/status",
        )

    # -- sending ----------------------------------------------------------------------------

    async def _hand_over_and_settle(
        self, sender: Channel, plans: list[_Plan], channel: MessageChannel, holder: str
    ) -> Round:
        """Hand the batch over, write-ahead: each message is marked handed over (its
        attempt token, committed) before it goes out, and its result is settled in the
        very commit that marks the next message of the same connection — so a message the
        provider accepted is in doubt for one commit at most, and a SIGKILL leaves at most
        one message per connection (``lanes × smtp_connections`` per worker) accepted but
        unsettled. The commits of every lane are grouped (:class:`_Committer`)."""
        committer = self._committers.get(channel)
        if committer is None:
            committer = self._committers[channel] = _Committer(self, channel)
        lane = _Lane(committer, holder, Round(claimed=len(plans)))
        ready = [p for p in plans if p.result is not None]
        async with committer.in_use():
            if ready:
                await lane.commit(settle=ready)
            await self._hand_over(sender, [p for p in plans if p.result is None], lane)
        # The sample a rate is read over grew with this round's messages.
        await self._check_pauses({p.message.workspace_id for p in plans})
        return lane.done

    async def _hand_over(self, channel: Channel, plans: list[_Plan], committer: _Lane) -> None:
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

        # How many messages one connection may have handed over and not yet settled. Email
        # (nothing to ask after a crash): 1 — each result is committed before the next send.
        # A channel that can be asked (SMS): a chunk — the marks of a chunk are committed in
        # one commit before its first send, and whatever a kill leaves is looked up.
        window = (
            max(1, self.settings.reconciled_in_doubt) if isinstance(channel, Reconciling) else 1
        )

        half_lease = timedelta(seconds=self.settings.lease_seconds / 2)

        async def worker() -> None:
            unsettled: list[_Plan] = []
            while not queue.empty():
                chunk: list[_Plan] = []
                while len(chunk) < window and not queue.empty():
                    plan = queue.get_nowait()
                    if plan.message.interrupted and isinstance(channel, Reconciling):
                        # Ask the provider before anything is re-sent.
                        plan.result = await self._reconcile(channel, plan)
                        if plan.result is not None:
                            unsettled.append(plan)
                            continue
                    chunk.append(plan)
                if not chunk:
                    continue
                # The marks renew the lease from a moment after this one. A send may start
                # only in the first half of it: a worker stalled past that (a starved CPU,
                # a long pause) leaves the rest of its chunk marked for the next holder,
                # which asks the provider or re-sends it once — were it to send anyway,
                # the next holder could have found nothing at the provider and sent too.
                deadline = self.clock.now() + half_lease
                mine = await committer.commit(marks=chunk, settle=unsettled)
                unsettled = []
                for plan in chunk:
                    if plan.message.id not in mine:
                        continue  # the lease ran out: the message is another worker's now
                    if self.clock.now() >= deadline:
                        continue  # too late to start it under this lease (above)
                    # Paced after the commit, right before the send: a slot of the
                    # provider's rate is not spent waiting for the database.
                    await self._pace(key, rate)
                    plan.result = await self._send_one(
                        channel, plan, checked=isinstance(channel, Reconciling)
                    )
                    unsettled.append(plan)
            if unsettled:
                await committer.commit(settle=unsettled)

        width = min(len(plans), max(1, self.settings.smtp_connections))
        # A task group: when one connection fails, the others stop too (their messages
        # are settled or left marked for the next holder, never half-known).
        async with asyncio.TaskGroup() as group:
            for _ in range(width):
                group.create_task(worker())

    async def _reconcile(self, channel: Reconciling, plan: _Plan) -> Settled | None:
        """What the provider says of an interrupted hand-over: ``reconciled`` with its id
        when it accepted the message, None when it never got it (send it now)."""
        m, envelope = plan.message, plan.envelope
        assert envelope is not None
        since = (m.handed_over_at or m.send_at) - RECONCILE_SKEW
        try:
            found = await channel.accepted_since(envelope, since)
        except TransientFailure as error:
            return Settled(
                m.id, MessageState.queued, "retrying", attempts=m.attempts,
                next_attempt_at=self.clock.now() + RECONCILE_RETRY,
                error=f"could not ask the provider about an interrupted hand-over: {error}",
            )  # fmt: skip
        if not found:
            return None
        provider = found[0].provider
        async with self.database.sessionmaker() as session:
            taken = await MessagingRepository(session).provider_ids_taken(
                provider, [a.provider_message_id for a in found]
            )
        for accepted in found:
            if accepted.provider_message_id not in taken:
                return Settled(
                    m.id, MessageState.sent, "reconciled", provider=accepted.provider,
                    provider_message_id=accepted.provider_message_id,
                    error="found at the provider after an interrupted hand-over",
                )  # fmt: skip
        return None

    async def _pace(self, key: str, rate: float) -> None:
        while True:
            reservation = await self.limiter.reserve(key, rate)
            if reservation.paused_until is None:
                if reservation.wait > 0:
                    await asyncio.sleep(reservation.wait)
                return
            await asyncio.sleep(min(5.0, max(0.05, reservation.wait)))

    async def _send_one(self, channel: Channel, plan: _Plan, *, checked: bool = False) -> Settled:
        """Hand one message over; ``checked``: an interrupted hand-over was looked up at the
        provider first and not found there (so this is not a second copy)."""
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
            ("sent-after-check" if checked else "sent-again") if m.interrupted else "sent",
            provider=accepted.provider,
            provider_message_id=accepted.provider_message_id,
        )

    # -- settling ---------------------------------------------------------------------------

    async def _commit(
        self, connection: AsyncConnection, parts: Sequence[_Part], channel: MessageChannel
    ) -> set[tuple[UUID, str]]:
        """One transaction for the parts of every lane, on the committer's connection:
        settle their results (ledger rows, events, bounces) and write their hand-over
        marks, each renewing its message's lease (a slow round keeps what it is sending);
        the (message, holder) pairs marked. Core statements built once, on a connection
        kept open by the committer: a commit per message per connection is the outbox's
        largest cost, and a session and a pool checkout per commit were a third of it."""
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        by_id = {p.message.id: p.message for part in parts for p in part.settle}
        marks = [(p.message.id, part.holder, uuid7().hex) for part in parts for p in part.marks]
        results = [
            (p.result, part.holder) for part in parts for p in part.settle if p.result is not None
        ]
        try:
            async with connection.begin():
                writes = DeliveryWrites(connection)
                if not await writes.write_if_all_held(
                    marks, results, now=now, lease_until=lease_until
                ):
                    raise _LeaseLost
                marked = {(i, holder) for i, holder, _token in marks}
                emitted = await self._settled(
                    connection, [r for r, _ in results], by_id, now, channel
                )
        except _LeaseLost:
            # Rolled back: a round lost a lease. Read which, then write what is still held.
            async with connection.begin():
                writes = DeliveryWrites(connection)
                held = await writes.held_by(
                    (p.message.id, part.holder)
                    for part in parts
                    for p in (*part.settle, *part.marks)
                )
                marked = await writes.mark_handed_over(
                    marks, held=held, now=now, lease_until=lease_until
                )
                applied = await writes.settle(results, now=now, held=held)
                emitted = await self._settled(connection, applied, by_id, now, channel)
        if emitted:
            wake_local_dispatchers(self.database.engine.sync_engine)
        return marked

    async def _settled(
        self,
        connection: AsyncConnection,
        applied: Sequence[Settled],
        by_id: Mapping[UUID, ClaimedMessage],
        now: datetime,
        channel: MessageChannel,
    ) -> bool:
        """What follows from results just written, in their transaction: ``message.*``
        events, a hard bounce cancelling the fan's other messages, the pause check; True
        when events were emitted (the dispatchers are woken after the commit)."""
        if not applied:
            return False
        events: list[Event] = []
        for result in applied:
            m = by_id[result.message_id]
            if result.state is MessageState.sent:
                events.append(_event(MessageSent, m, now, None))
            elif result.state is MessageState.failed:
                events.append(_event(MessageFailed, m, now, result.error))
        hard = [by_id[r.message_id].fan_id for r in applied if r.bounce == "hard"]
        bounced = any(r.bounce is not None for r in applied)
        if hard or bounced:
            # Rare (a bounce): the repository's session-level writes, in this transaction.
            async with AsyncSession(bind=connection) as session:
                repository = MessagingRepository(session)
                if hard:
                    await repository.cancel_open(
                        hard, channels=[channel], now=now, reason="the address bounced",
                        source="worker",
                    )  # fmt: skip
                if bounced:
                    # Only a bounce can push a rate up; each round checks once more at its end.
                    await check_pauses(
                        repository, {m.workspace_id for m in by_id.values()}, self.settings, now
                    )
                await session.flush()
        return await emit_many_on(connection, events)

    async def _check_pauses(self, workspace_ids: set[UUID]) -> None:
        async with self.database.transaction(write_lock=True) as session:
            await check_pauses(
                MessagingRepository(session), workspace_ids, self.settings, self.clock.now()
            )


class _LeaseLost(Exception):
    """A group commit's fast path found a lease lost (its transaction rolls back)."""


_OUTCOME = {
    "sent": "sent",
    "sent-again": "sent",
    "reconciled": "sent",
    "sent-after-check": "sent",
    "deferred": "deferred",
    "retrying": "retrying",
    "cancelled": "cancelled",
}


@dataclass
class _Part:
    """What one connection of one round asks a commit for."""

    holder: str
    marks: Sequence[_Plan]
    settle: Sequence[_Plan]
    done: asyncio.Future[set[UUID]]


class _Committer:
    """Group commit for every lane of a delivery on one channel: what the connections
    ask for while a commit runs (hand-over marks, results) goes into the next one, run by
    the first caller that finds none running; each caller waits for the commit that
    carries its part."""

    def __init__(self, delivery: Delivery, channel: MessageChannel) -> None:
        self.delivery = delivery
        self.channel = channel
        self._pending: list[_Part] = []
        self._running = False
        self._leader: asyncio.Task[None] | None = None
        self._rounds = 0
        self._connection: AsyncConnection | None = None

    @contextlib.asynccontextmanager
    async def in_use(self) -> AsyncIterator[None]:
        """Held by each round while it hands over: the commits run on one connection,
        kept open while any round is under way and given back when the last one ends."""
        self._rounds += 1
        try:
            yield
        finally:
            self._rounds -= 1
            if self._rounds == 0 and not self._running:
                await self._release()

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self.delivery.database.engine.connect()
            if connection.dialect.name == "sqlite":
                # Read-then-write under SQLite's write lock from BEGIN (db.transaction's
                # write_lock): the fence must not be interleaved by another writer.
                connection = await connection.execution_options(sqlite_begin="IMMEDIATE")
            self._connection = connection
        return self._connection

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def commit(
        self, holder: str, *, marks: Sequence[_Plan] = (), settle: Sequence[_Plan] = ()
    ) -> set[UUID]:
        """The ids marked by the commit that carried this part."""
        part = _Part(holder, marks, settle, asyncio.get_running_loop().create_future())
        self._pending.append(part)
        if not self._running:
            self._running = True
            try:
                while not part.done.done():
                    await self._commit_pending()
            finally:
                self._running = False
                if self._pending:
                    # Others queued while we committed: a task leads them now.
                    self._leader = asyncio.get_running_loop().create_task(self._lead())
        return await part.done

    async def _lead(self) -> None:
        if self._running or not self._pending:
            return
        self._running = True
        try:
            while self._pending:
                await self._commit_pending()
        finally:
            self._running = False
            if self._rounds == 0:
                await self._release()

    async def _commit_pending(self) -> None:
        parts, self._pending = self._pending, []
        try:
            marked = await self.delivery._commit(await self._connect(), parts, self.channel)
        except Exception as error:
            # The connection may be broken: the next commit opens another.
            with contextlib.suppress(Exception):
                await self._release()
            for part in parts:
                if not part.done.done():
                    part.done.set_exception(error)
            return
        except BaseException:
            with contextlib.suppress(Exception):
                await self._release()
            # The leader was cancelled (its round is stopping): the others' parts were not
            # committed and must not be taken for committed; their rounds fail and retry.
            for part in parts:
                if not part.done.done():
                    part.done.set_exception(RuntimeError("the commit carrying this was cancelled"))
            raise
        for part in parts:
            if not part.done.done():
                # Its own marks only: a message this commit marked for the round that
                # holds it now is not the stale round's to send.
                part.done.set_result({i for i, holder in marked if holder == part.holder})


@dataclass
class _Lane:
    """One round's side of the committer: its lease holder and its counts."""

    committer: _Committer
    holder: str
    done: Round

    async def commit(
        self, *, marks: Sequence[_Plan] = (), settle: Sequence[_Plan] = ()
    ) -> set[UUID]:
        """Commit marks and/or results; the ids marked (those whose lease is still this
        round's: send them)."""
        marked = await self.committer.commit(self.holder, marks=marks, settle=settle)
        for plan in settle:
            if plan.result is not None:
                self.done.add(_OUTCOME.get(plan.result.status, "failed"))
        return marked


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
    workspace_language: str = "en",
) -> Template:
    """The workspace's wording in the fan's language (or its primary language), else the
    built-in one in that language; for a language we have neither in, the same in the
    workspace's base language (its setting), then English: a translation the workspace
    wrote wins over the built-in one."""
    built_in = DEFAULTS.get((m.kind, m.channel), {})
    for wanted in dict.fromkeys((m.language, workspace_language, "en")):
        primary = wanted.split("-")[0].lower()
        for language in (wanted, primary):
            own = templates.get((m.workspace_id, m.kind, m.channel, language))
            if own is not None:
                return own
        if wanted in built_in or primary in built_in:
            return default_template(m.kind, m.channel, wanted)
    return default_template(m.kind, m.channel, "en")


def _defer(m: ClaimedMessage, until: datetime, reason: str) -> Settled:
    return Settled(m.id, MessageState.queued, "deferred", next_attempt_at=until, deferred=reason)


@functools.lru_cache(maxsize=256)
def _canonical(content: LinkContent, public_url: str) -> str:
    # Once per link, not per fan: it builds a Link to ask for its public URL.
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
