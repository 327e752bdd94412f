"""All SQL of messaging: the message outbox, its ledger, rules, identities, pauses.

Claims lease rows like the fulfilment queue: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED LIMIT n) RETURNING`` on PostgreSQL (any number of workers), the same under
``BEGIN IMMEDIATE`` on SQLite (one writer at a time). ``next_attempt_at`` is the lease:
a killed worker's rows come back when it runs out. Every write of a holder is fenced by
``lease_owner``, so a worker whose lease ran out cannot overwrite the new holder's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from launchlink.kit.ids import uuid7
from launchlink.messaging.templates import Template
from launchlink.models import (
    Artist,
    ConsentRecord,
    Destination,
    Fan,
    Link,
    Presave,
    Release,
    ReleaseArtist,
    Workspace,
)
from launchlink.models.messaging import (
    REMINDER_MESSAGE_KINDS,
    Announcement,
    Message,
    MessageChannel,
    MessageKind,
    MessageState,
    MessageStatus,
    MessageTemplate,
    QuietHoursRule,
    WorkspaceMessaging,
)
from launchlink.models.presave import ConsentKind, PresaveState
from launchlink.presave.repository import PresaveRepository


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A leased message with what deciding and rendering it needs."""

    id: UUID
    workspace_id: UUID
    fan_id: UUID
    link_id: UUID | None
    release_id: UUID | None
    channel: MessageChannel
    kind: MessageKind
    variables: dict[str, Any]
    send_at: datetime
    attempts: int
    claims: int
    email: str | None
    phone: str | None
    language: str
    time_zone: str | None
    country: str | None
    region: str | None
    email_consent: bool
    sms_consent: bool
    sms_confirmed: bool
    fan_deleted: bool
    interrupted: bool = False
    """A previous holder marked this message handed over and never settled it (killed
    between its write-ahead mark and its settlement): it may have reached the provider."""
    handed_over_at: datetime | None = None
    """When that interrupted hand-over began."""


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of one claimed message; applied in one statement per kind."""

    message_id: UUID
    state: MessageState
    status: str
    next_attempt_at: datetime | None = None
    attempts: int | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    bounce: str | None = None
    error: str | None = None
    deferred: str | None = None


_SETTLED_COLUMNS = (
    "state", "lease_owner", "updated_at", "next_attempt_at", "attempts", "provider",
    "provider_message_id", "sent_at", "finished_at", "bounce", "last_error", "deferred",
    "handover_token",
)  # fmt: skip


_KEPT_UNLESS_GIVEN = frozenset({"next_attempt_at", "attempts", "provider", "provider_message_id"})


def _settled_row(result: Settled, now: datetime) -> dict[str, Any]:
    """Every settled column, so one statement serves every result of a batch; the columns
    of :data:`_KEPT_UNLESS_GIVEN` keep their value when the result leaves them None."""
    state = result.state
    return {
        "b_id": result.message_id,
        "b_state": state.value,
        "b_lease_owner": None,
        "b_updated_at": now,
        "b_next_attempt_at": result.next_attempt_at,
        "b_attempts": result.attempts,
        "b_provider": result.provider,
        "b_provider_message_id": result.provider_message_id,
        "b_sent_at": now if state is MessageState.sent else None,
        "b_finished_at": now if state in (MessageState.failed, MessageState.cancelled) else None,
        "b_bounce": result.bounce,
        "b_last_error": result.error[:500] if result.error else None,
        "b_deferred": result.deferred,
        # Settled: no longer in doubt.
        "b_handover_token": None,
    }


QUEUE_CHUNK = 1000
"""Messages per INSERT when planning (well under any driver's parameter limit)."""

_MESSAGE = cast(Table, Message.__table__)
_STATUS = cast(Table, MessageStatus.__table__)

# The statements of the delivery's commits (one per message per connection), built once:
# building one costs more than its cached compiled form does to run. Core statements on
# the tables, run on the session's connection: the ORM adds nothing to them.
_HELD = (
    select(_MESSAGE.c.id, _MESSAGE.c.lease_owner)
    .where(
        _MESSAGE.c.id.in_(bindparam("b_ids", expanding=True)),
        _MESSAGE.c.state == MessageState.queued,
    )
    .with_for_update()
)
_SETTLE = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("b_id"))
    .values(
        {
            name: (
                func.coalesce(bindparam(f"b_{name}"), _MESSAGE.c[name])
                if name in _KEPT_UNLESS_GIVEN
                else bindparam(f"b_{name}")
            )
            for name in _SETTLED_COLUMNS
        }
    )
)
_MARK = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("b_id"))
    .values(
        handover_token=bindparam("b_token"),
        handed_over_at=bindparam("b_at"),
        next_attempt_at=bindparam("b_lease"),
    )
)
_RECORD = insert(_STATUS)
# The same with the fence in their own WHERE (leased by that holder, still queued): the
# group commit's fast path writes without reading first.
_HOLDER = (_MESSAGE.c.lease_owner == bindparam("b_holder"), _MESSAGE.c.state == MessageState.queued)
_MARK_FENCED = _MARK.where(*_HOLDER)
_SETTLE_FENCED = _SETTLE.where(*_HOLDER)


class DeliveryWrites:
    """The writes of the delivery's group commits, on a connection the caller holds in a
    transaction: the delivery keeps one open for its commits (no session, no pool
    checkout per commit), and :class:`MessagingRepository` uses them in a session's."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def held_by(self, wanted: Iterable[tuple[UUID, str]]) -> set[tuple[UUID, str]]:
        """The fence: of these (message, holder) pairs, those whose message is still
        queued and leased by that holder, locked for the rest of the transaction. Pairs,
        not messages: one commit can carry the same message for two holders (a round
        whose lease ran out, and the round that claimed it since), and only the current
        holder's writes may apply."""
        pairs = set(wanted)
        if not pairs:
            return set()
        rows = await self.connection.execute(_HELD, {"b_ids": list({i for i, _ in pairs})})
        held = {(row[0], row[1]) for row in rows.all() if row[1] is not None}
        return pairs & held

    async def mark_handed_over(
        self,
        marks: Sequence[tuple[UUID, str, str]],
        *,
        held: set[tuple[UUID, str]],
        now: datetime,
        lease_until: datetime,
    ) -> set[tuple[UUID, str]]:
        """The write-ahead mark: (message, holder, attempt token) of the messages about to
        be handed over, of those ``held`` (:meth:`held_by`), each lease renewed to
        ``lease_until``. Returns the (message, holder) pairs marked: a message not marked
        for its holder is no longer that holder's and must not be sent by it."""
        rows = [
            {"b_id": i, "b_token": t, "b_at": now, "b_lease": lease_until}
            for i, holder, t in marks
            if (i, holder) in held
        ]
        if rows:
            await self.connection.execute(_MARK, rows)
        return {(i, holder) for i, holder, _token in marks if (i, holder) in held}

    async def write_if_all_held(
        self,
        marks: Sequence[tuple[UUID, str, str]],
        results: Sequence[tuple[Settled, str]],
        *,
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        """The fast path of a group commit: the marks (:meth:`mark_handed_over`) and the
        results (:meth:`settle`) written with the fence in each ``UPDATE``'s own
        ``WHERE``, nothing read first. True when every one applied — each names one row
        by its key, so the rowcounts add up only then; False when some lease was lost:
        the caller rolls back and takes the fenced path (:meth:`held_by`), which finds
        out which. A lost lease is rare (a worker killed or stalled past its lease)."""
        if marks:
            rows = [
                {"b_id": i, "b_holder": h, "b_token": t, "b_at": now, "b_lease": lease_until}
                for i, h, t in marks
            ]
            if (await self.connection.execute(_MARK_FENCED, rows)).rowcount != len(rows):
                return False
        if results:
            rows = [_settled_row(r, now) | {"b_holder": h} for r, h in results]
            if (await self.connection.execute(_SETTLE_FENCED, rows)).rowcount != len(rows):
                return False
            await self._record([r for r, _holder in results], now)
        return True

    async def settle(
        self,
        results: Sequence[tuple[Settled, str]],
        *,
        now: datetime,
        held: set[tuple[UUID, str]],
    ) -> list[Settled]:
        """Apply (result, holder) pairs of those ``held``, each with its ledger row, in
        one executemany per table; the results applied."""
        applied = [r for r, holder in results if (r.message_id, holder) in held]
        if not applied:
            return []
        await self.connection.execute(_SETTLE, [_settled_row(r, now) for r in applied])
        await self._record(applied, now)
        return applied

    async def _record(self, applied: Sequence[Settled], now: datetime) -> None:
        await self.connection.execute(
            _RECORD,
            [
                {
                    "id": uuid7(), "message_id": r.message_id, "status": r.status,
                    "source": "worker", "detail": r.error or r.deferred, "at": now,
                }
                for r in applied
            ],
        )  # fmt: skip


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class MessagingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- planning ---------------------------------------------------------------------------

    async def queue(self, rows: Sequence[dict[str, Any]], *, now: datetime) -> list[UUID]:
        """Insert the messages whose ``dedupe_key`` is new; the ids of those inserted."""
        if not rows:
            return []
        values = [
            {
                "id": uuid7(),
                "state": MessageState.queued,
                "attempts": 0,
                "claims": 0,
                "created_at": now,
                "updated_at": now,
                "variables": {},
                "next_attempt_at": row["send_at"],
                **row,
            }
            for row in rows
        ]
        inserted: list[UUID] = []
        # One multi-row INSERT per chunk: PostgreSQL takes at most 65,535 parameters in
        # a statement (17 a message: about 3,800 messages), and an announcement to a
        # large workspace plans more than that at once.
        for start in range(0, len(values), QUEUE_CHUNK):
            statement = (
                _insert(self.session)(Message)
                .values(values[start : start + QUEUE_CHUNK])
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(Message.id)
            )
            inserted.extend((await self.session.execute(statement)).scalars())
        await self.record((i, "queued", "planner", None, now) for i in inserted)
        return inserted

    async def record(self, entries: Iterable[tuple[UUID, str, str, str | None, datetime]]) -> None:
        """Ledger rows: (message, status, source, detail, at)."""
        values = [
            {"id": uuid7(), "message_id": m, "status": s, "source": src, "detail": d, "at": at}
            for m, s, src, d, at in entries
        ]
        if values:
            # The table, not the mapped class: the ORM's bulk insert costs a mapper pass
            # per row, and the delivery writes a ledger row per message it settles.
            await (await self.session.connection()).execute(_RECORD, values)

    # -- claims -----------------------------------------------------------------------------

    async def claim(
        self,
        *,
        channel: MessageChannel,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
    ) -> list[ClaimedMessage]:
        m = Message
        claimable = (
            await self.session.execute(
                select(m.id, m.handover_token)
                .where(
                    m.state == MessageState.queued, m.channel == channel, m.next_attempt_at <= now
                )
                .order_by(m.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not claimable:
            return []
        # A hand-over mark still on a due row: its holder began handing it over and
        # never settled it (killed in between) — it may have reached the provider.
        interrupted = {row[0] for row in claimable if row[1] is not None}
        ids = [row[0] for row in claimable]
        await self.session.execute(
            update(m)
            .where(m.id.in_(ids))
            .values(next_attempt_at=lease_until, lease_owner=owner, claims=m.claims + 1)
        )
        f = Fan
        rows = (
            await self.session.execute(
                select(
                    m.id, m.workspace_id, m.fan_id, m.link_id, m.release_id, m.channel, m.kind,
                    m.variables, m.send_at, m.attempts, m.claims, f.email, f.phone, f.language,
                    f.time_zone, f.country, f.region, f.email_consent_at, f.sms_consent_at,
                    f.sms_confirmed_at, f.deleted_at, Presave.time_zone, m.handed_over_at,
                    Presave.email_reminder_at, Presave.sms_reminder_at,
                )
                .join(f, f.id == m.fan_id)
                .outerjoin(Presave, Presave.id == m.presave_id)
                .where(m.id.in_(ids))
                .order_by(m.send_at)
            )
        ).all()  # fmt: skip
        return [
            ClaimedMessage(
                id=r[0], workspace_id=r[1], fan_id=r[2], link_id=r[3], release_id=r[4],
                channel=r[5], kind=r[6], variables=dict(r[7] or {}), send_at=r[8],
                attempts=r[9], claims=r[10], email=r[11], phone=r[12], language=r[13] or "en",
                # The fan's chosen zone, else their pre-save's (planned from their
                # country's territory), else UTC.
                time_zone=r[14] or r[21], country=r[15], region=r[16],
                # Marketing consent, or the pre-save's reminder-only consent for the
                # messages of its own release (checked again at send: a withdrawn one
                # cancels what was planned).
                email_consent=r[17] is not None
                or (r[6] in REMINDER_MESSAGE_KINDS and r[23] is not None),
                sms_consent=r[18] is not None
                or (r[6] in REMINDER_MESSAGE_KINDS and r[24] is not None),
                sms_confirmed=r[19] is not None,
                fan_deleted=r[20] is not None, interrupted=r[0] in interrupted,
                handed_over_at=r[22] if r[0] in interrupted else None,
            )
            for r in rows
        ]  # fmt: skip

    async def provider_ids_taken(
        self, provider: str, provider_message_ids: Sequence[str]
    ) -> set[str]:
        """Which of these provider ids are already recorded on a message."""
        if not provider_message_ids:
            return set()
        rows = await self.session.execute(
            select(Message.provider_message_id).where(
                Message.provider == provider,
                Message.provider_message_id.in_(list(provider_message_ids)),
            )
        )
        return {str(r) for r in rows.scalars()}

    # -- callbacks and the ledger -----------------------------------------------------------

    async def by_provider_id(self, provider: str, provider_message_id: str) -> Message | None:
        return (
            await self.session.execute(
                select(Message)
                .where(
                    Message.provider_message_id == provider_message_id,
                    Message.provider == provider,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()

    async def messages(self, ids: Sequence[UUID]) -> list[Message]:
        rows = await self.session.execute(select(Message).where(Message.id.in_(list(ids))))
        return list(rows.scalars())

    async def messages_of_fan(self, fan_id: UUID) -> list[Message]:
        rows = await self.session.execute(
            select(Message).where(Message.fan_id == fan_id).order_by(Message.id)
        )
        return list(rows.scalars())

    async def get(self, message_id: UUID) -> Message | None:
        return await self.session.get(Message, message_id)

    async def counts(
        self,
        workspace_id: UUID,
        *,
        kind: MessageKind | None = None,
        release_id: UUID | None = None,
        announcement_id: UUID | None = None,
    ) -> dict[tuple[str, str], int]:
        """(channel, state) → messages, for one workspace (and kind/release/announcement)."""
        query = select(Message.channel, Message.state, func.count()).where(
            Message.workspace_id == workspace_id
        )
        if kind is not None:
            query = query.where(Message.kind == kind)
        if release_id is not None:
            query = query.where(Message.release_id == release_id)
        if announcement_id is not None:
            query = query.where(Message.announcement_id == announcement_id)
        rows = (await self.session.execute(query.group_by(Message.channel, Message.state))).all()
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    async def sending_record(self, workspace_id: UUID, since: datetime) -> tuple[int, int, int]:
        """(messages handed over, bounced, complaints) of a workspace since ``since``."""
        m = Message
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.count().filter(m.bounce.in_(("hard", "blocked"))),
                    func.count().filter(m.bounce == "complaint"),
                ).where(
                    m.workspace_id == workspace_id,
                    m.sent_at >= since,
                )
            )
        ).one()
        failed_row = (
            await self.session.execute(
                select(func.count()).where(
                    m.workspace_id == workspace_id,
                    m.finished_at >= since,
                    m.sent_at.is_(None),
                    m.bounce.in_(("hard", "blocked")),
                )
            )
        ).scalar_one()
        return int(row[0]) + int(failed_row), int(row[1]) + int(failed_row), int(row[2])

    # -- workspaces -------------------------------------------------------------------------

    async def identity(self, workspace_id: UUID) -> WorkspaceMessaging | None:
        return await self.session.get(WorkspaceMessaging, workspace_id)

    async def base_languages(self, workspace_ids: Iterable[UUID]) -> dict[UUID, str]:
        """Each workspace's language for fans whose language it has no wording in."""
        wanted = list(set(workspace_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Workspace.id, Workspace.base_language).where(Workspace.id.in_(wanted))
        )
        return {row[0]: str(row[1]) for row in rows}

    async def identities(self, workspace_ids: Iterable[UUID]) -> dict[UUID, WorkspaceMessaging]:
        wanted = list(set(workspace_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(WorkspaceMessaging).where(WorkspaceMessaging.workspace_id.in_(wanted))
        )
        return {row.workspace_id: row for row in rows.scalars()}

    async def pause(self, workspace_id: UUID, reason: str, now: datetime) -> bool:
        """Pause the workspace's sends; False when it was paused already."""
        row = await self.session.get(WorkspaceMessaging, workspace_id, with_for_update=True)
        if row is None:
            row = WorkspaceMessaging(workspace_id=workspace_id)
            self.session.add(row)
        if row.paused:
            return False
        row.paused, row.paused_reason, row.paused_at = True, reason, now
        await self.session.flush()
        return True

    # -- quiet hours ------------------------------------------------------------------------

    async def quiet_rules(
        self, channel: MessageChannel, *, workspace_id: UUID | None
    ) -> list[tuple[str, int, int]]:
        """The operator's rows of ``channel`` (``workspace_id=None``), or one workspace's."""
        owner = (
            QuietHoursRule.workspace_id.is_(None)
            if workspace_id is None
            else QuietHoursRule.workspace_id == workspace_id
        )
        rows = await self.session.execute(
            select(
                QuietHoursRule.scope, QuietHoursRule.allowed_from, QuietHoursRule.allowed_until
            ).where(QuietHoursRule.channel == channel, owner)
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows.all()]

    async def workspace_quiet_rules(
        self, channel: MessageChannel, workspace_ids: Iterable[UUID]
    ) -> dict[UUID, list[tuple[str, int, int]]]:
        """The workspaces' own rows of ``channel``, by workspace (those with any)."""
        wanted = list(set(workspace_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(
                QuietHoursRule.workspace_id, QuietHoursRule.scope,
                QuietHoursRule.allowed_from, QuietHoursRule.allowed_until,
            ).where(QuietHoursRule.channel == channel, QuietHoursRule.workspace_id.in_(wanted))
        )  # fmt: skip
        found: dict[UUID, list[tuple[str, int, int]]] = {}
        for workspace_id, scope, start, end in rows.all():
            if workspace_id is not None:
                found.setdefault(workspace_id, []).append((str(scope), int(start), int(end)))
        return found

    async def instance_quiet_rule_rows(self) -> list[QuietHoursRule]:
        """The operator's rows (``workspace_id`` NULL), for every workspace."""
        rows = await self.session.execute(
            select(QuietHoursRule)
            .where(QuietHoursRule.workspace_id.is_(None))
            .order_by(QuietHoursRule.channel, QuietHoursRule.scope)
        )
        return list(rows.scalars())

    async def quiet_rule_rows(self, workspace_id: UUID) -> list[QuietHoursRule]:
        """The operator's rows, then the workspace's (a later row replaces an earlier)."""
        rows = await self.session.execute(
            select(QuietHoursRule)
            .where(
                (QuietHoursRule.workspace_id.is_(None))
                | (QuietHoursRule.workspace_id == workspace_id)
            )
            .order_by(QuietHoursRule.workspace_id.is_not(None), QuietHoursRule.scope)
        )
        return list(rows.scalars())

    async def put_quiet_rule(
        self,
        workspace_id: UUID | None,
        channel: MessageChannel,
        scope: str,
        allowed_from: int,
        allowed_until: int,
        note: str | None,
    ) -> None:
        """A workspace's row, or the operator's (``workspace_id=None``): made or replaced."""
        row = (
            await self.session.execute(
                select(QuietHoursRule)
                .where(
                    _rule_owner(workspace_id),
                    QuietHoursRule.channel == channel,
                    QuietHoursRule.scope == scope,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            row = QuietHoursRule(workspace_id=workspace_id, channel=channel, scope=scope)
            self.session.add(row)
        row.allowed_from, row.allowed_until, row.note = allowed_from, allowed_until, note
        await self.session.flush()

    async def delete_quiet_rule(
        self, workspace_id: UUID | None, channel: MessageChannel, scope: str
    ) -> bool:
        result = await self.session.execute(
            delete(QuietHoursRule).where(
                _rule_owner(workspace_id),
                QuietHoursRule.channel == channel,
                QuietHoursRule.scope == scope,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    # -- templates --------------------------------------------------------------------------

    async def templates_of(self, workspace_id: UUID) -> list[MessageTemplate]:
        rows = await self.session.execute(
            select(MessageTemplate)
            .where(MessageTemplate.workspace_id == workspace_id)
            .order_by(MessageTemplate.kind, MessageTemplate.channel, MessageTemplate.language)
        )
        return list(rows.scalars())

    async def template(self, workspace_id: UUID, template_id: UUID) -> MessageTemplate | None:
        row = await self.session.get(MessageTemplate, template_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    async def add_template(self, row: MessageTemplate) -> bool:
        """False when the workspace has one for that kind, channel and language."""
        taken = await self.session.scalar(
            select(func.count()).where(
                MessageTemplate.workspace_id == row.workspace_id,
                MessageTemplate.kind == row.kind,
                MessageTemplate.channel == row.channel,
                MessageTemplate.language == row.language,
            )
        )
        if taken:
            return False
        self.session.add(row)
        await self.session.flush()
        return True

    async def delete_template(self, row: MessageTemplate) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def templates_for(
        self, workspace_ids: Iterable[UUID]
    ) -> dict[tuple[UUID, MessageKind, MessageChannel, str], Template]:
        """Every template of these workspaces, for a delivery round to render with."""
        wanted = list(set(workspace_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(MessageTemplate).where(MessageTemplate.workspace_id.in_(wanted))
        )
        return {
            (t.workspace_id, t.kind, t.channel, t.language): Template(t.subject, t.text, t.html)
            for t in rows.scalars()
        }

    # -- announcements, the ledger ----------------------------------------------------------

    async def link_in_workspace(self, workspace_id: UUID, link_id: UUID) -> bool:
        link = await self.session.get(Link, link_id)
        return link is not None and link.workspace_id == workspace_id

    async def add_announcement(self, row: Announcement) -> None:
        self.session.add(row)
        await self.session.flush()

    async def announcement(self, workspace_id: UUID, announcement_id: UUID) -> Announcement | None:
        row = await self.session.get(Announcement, announcement_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    async def message_in_workspace(self, workspace_id: UUID, message_id: UUID) -> Message | None:
        row = await self.session.get(Message, message_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    async def ledger(self, message_id: UUID) -> list[MessageStatus]:
        rows = await self.session.execute(
            select(MessageStatus)
            .where(MessageStatus.message_id == message_id)
            .order_by(MessageStatus.at, MessageStatus.id)
        )
        return list(rows.scalars())

    async def identity_for_update(self, workspace_id: UUID) -> WorkspaceMessaging:
        """The workspace's row, made when it has none yet."""
        row = await self.session.get(WorkspaceMessaging, workspace_id, with_for_update=True)
        if row is None:
            row = WorkspaceMessaging(workspace_id=workspace_id)
            self.session.add(row)
            await self.session.flush()
        return row

    # -- fans -------------------------------------------------------------------------------

    async def cancel_open(
        self,
        fan_ids: Sequence[UUID],
        *,
        channels: Sequence[MessageChannel],
        now: datetime,
        reason: str,
        source: str,
    ) -> int:
        """Cancel the fans' queued messages on ``channels`` (an opt-out, a deletion)."""
        if not fan_ids:
            return 0
        ids = list(
            (
                await self.session.execute(
                    update(Message)
                    .where(
                        Message.fan_id.in_(list(fan_ids)),
                        Message.channel.in_(list(channels)),
                        Message.state == MessageState.queued,
                    )
                    .values(
                        state=MessageState.cancelled, finished_at=now, updated_at=now,
                        last_error=reason, lease_owner=None,
                    )
                    .returning(Message.id)
                )
            ).scalars()
        )  # fmt: skip
        await self.record((i, "cancelled", source, reason, now) for i in ids)
        return len(ids)

    async def cancel_of_presaves(
        self, presave_ids: Sequence[UUID], *, now: datetime, reason: str
    ) -> int:
        """Cancel the queued messages planned from these pre-saves (not leased: a message
        being handed over right now is past recall)."""
        if not presave_ids:
            return 0
        ids = list(
            (
                await self.session.execute(
                    update(Message)
                    .where(
                        Message.presave_id.in_(list(presave_ids)),
                        Message.state == MessageState.queued,
                        Message.lease_owner.is_(None),
                    )
                    .values(
                        state=MessageState.cancelled, finished_at=now, updated_at=now,
                        last_error=reason,
                    )
                    .returning(Message.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )  # fmt: skip
        await self.record((i, "cancelled", "fan", reason, now) for i in ids)
        return len(ids)

    async def withdraw_email_consent(self, fan_id: UUID, *, now: datetime, why: str) -> bool:
        """The fan's email consent withdrawn, with its consent-ledger row; False when the
        fan had none (or is gone)."""
        fan = await self.session.get(Fan, fan_id, with_for_update=True)
        if fan is None:
            return False
        reminders = await PresaveRepository(self.session).withdraw_reminders(
            fan_id, email=True, sms=False, now=now, why=why
        )
        if fan.email_consent_at is None:
            return bool(reminders)
        fan.email_consent_at = None
        self.session.add(
            ConsentRecord(
                workspace_id=fan.workspace_id,
                fan_id=fan.id,
                kind=ConsentKind.email,
                granted=False,
                user_agent=why[:500],
                at=now,
            )
        )
        await self.session.flush()
        return True

    async def fans_by_phone(self, phone: str) -> list[Fan]:
        rows = await self.session.execute(
            select(Fan).where(Fan.phone == phone, Fan.deleted_at.is_(None)).with_for_update()
        )
        return list(rows.scalars())

    # -- re-planning ------------------------------------------------------------------------

    # -- what the planner reads -----------------------------------------------------------

    async def presaves_of_release(self, release_id: UUID) -> list[tuple[Presave, Fan]]:
        """The release's pre-saves not cancelled, of fans not deleted, soonest due first."""
        result = await self.session.execute(
            select(Presave, Fan)
            .join(Fan, Fan.id == Presave.fan_id)
            .where(
                Presave.release_id == release_id,
                Presave.state.not_in((PresaveState.cancelled,)),
                Fan.deleted_at.is_(None),
            )
            .order_by(Presave.due_at)
        )
        return [(row[0], row[1]) for row in result]

    async def open_presaves_of_fan(self, fan_id: UUID) -> list[tuple[Presave, Fan]]:
        """The fan's pre-saves still waiting for their release (not deleted)."""
        result = await self.session.execute(
            select(Presave, Fan)
            .join(Fan, Fan.id == Presave.fan_id)
            .where(
                Presave.fan_id == fan_id,
                Presave.state == PresaveState.waiting,
                Fan.deleted_at.is_(None),
            )
            .order_by(Presave.due_at)
        )
        return [(row[0], row[1]) for row in result]

    async def presave_with_fan(self, presave_id: UUID) -> tuple[Presave, Fan] | None:
        row = (
            await self.session.execute(
                select(Presave, Fan)
                .join(Fan, Fan.id == Presave.fan_id)
                .where(Presave.id == presave_id)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def live_fans(self, workspace_id: UUID, *, link_id: UUID | None = None) -> list[Fan]:
        """The workspace's fans not deleted (``link_id``: only those with a pre-save on
        that link, the fans of one campaign)."""
        query = select(Fan).where(Fan.workspace_id == workspace_id, Fan.deleted_at.is_(None))
        if link_id is not None:
            query = query.where(
                select(Presave.id)
                .where(Presave.fan_id == Fan.id, Presave.link_id == link_id)
                .exists()
            )
        result = await self.session.execute(query)
        return list(result.scalars())

    async def due_of(self, presave_ids: Iterable[UUID]) -> dict[UUID, datetime]:
        ids = list(presave_ids)
        if not ids:
            return {}
        result = await self.session.execute(
            select(Presave.id, Presave.due_at).where(Presave.id.in_(ids))
        )
        return {row[0]: row[1] for row in result}

    async def planned_for_release(self, release_id: UUID) -> list[Message]:
        """Queued release-day and countdown messages of a release, locked."""
        rows = await self.session.execute(
            select(Message)
            .where(
                and_(
                    Message.release_id == release_id,
                    Message.state == MessageState.queued,
                    Message.kind.in_((MessageKind.release_day, MessageKind.countdown)),
                )
            )
            .where(Message.lease_owner.is_(None))
            .with_for_update()
        )
        return list(rows.scalars())

    # -- what messages say about a link -----------------------------------------------------

    async def link_contents(self, link_ids: Iterable[UUID]) -> dict[UUID, LinkContent]:
        wanted = list(set(link_ids))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                select(Link.id, Link.host, Link.slug, Release.id, Release.title)
                .join(Release, Release.id == Link.release_id)
                .where(Link.id.in_(wanted))
            )
        ).all()
        artists: dict[UUID, list[str]] = {}
        release_ids = list({row[3] for row in rows})
        if release_ids:
            for release_id, name in (
                await self.session.execute(
                    select(ReleaseArtist.release_id, Artist.name)
                    .join(Artist, Artist.id == ReleaseArtist.artist_id)
                    .where(ReleaseArtist.release_id.in_(release_ids))
                    .order_by(ReleaseArtist.release_id, ReleaseArtist.position)
                )
            ).all():
                artists.setdefault(release_id, []).append(str(name))
        services: dict[UUID, set[str]] = {}
        for link_id, service in (
            await self.session.execute(
                select(Destination.link_id, Destination.service).where(
                    Destination.link_id.in_(wanted)
                )
            )
        ).all():
            services.setdefault(link_id, set()).add(str(service))
        return {
            row[0]: LinkContent(
                host=str(row[1]),
                slug=str(row[2]),
                title=str(row[4]),
                artists=tuple(artists.get(row[3], ())),
                services=frozenset(services.get(row[0], ())),
            )
            for row in rows
        }


def _rule_owner(workspace_id: UUID | None) -> Any:
    return (
        QuietHoursRule.workspace_id.is_(None)
        if workspace_id is None
        else QuietHoursRule.workspace_id == workspace_id
    )


@dataclass(frozen=True, slots=True)
class LinkContent:
    host: str
    slug: str
    title: str
    artists: tuple[str, ...]
    services: frozenset[str] = frozenset()
    """The services the link has a destination for (where ``/<service>`` leads)."""
