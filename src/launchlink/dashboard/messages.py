"""What the dashboard's messaging pages show: counts of messages in the words the pages
use (queued / deferred by quiet hours / sent / delivered / bounced / failed), a
campaign's message plan per time zone, and the template grid (built-in wordings and the
workspace's own over them).

The rules stay in ``messaging.manage`` (the API's functions, called by the pages as they
are); this module only reads and arranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.dashboard.repository import DashboardRepository, MessageTally
from launchlink.messaging.templates import DEFAULTS, Template, default_template
from launchlink.models import MessageTemplate
from launchlink.models.messaging import MessageChannel, MessageKind

COLUMNS = ("queued", "deferred", "sent", "delivered", "bounced", "failed", "cancelled")
"""The columns of every count table, in the order a message moves through them."""
ANNOUNCEMENTS_SHOWN = 50


def column_of(tally: MessageTally) -> str:
    """Where one message is counted: a bounce is a failure the fan's server reported (a
    complaint too), a deferral is a queued message held by quiet hours or a pause."""
    if tally.state == "queued":
        return "deferred" if tally.deferred else "queued"
    if tally.state == "failed":
        return "bounced" if tally.bounce else "failed"
    if tally.state in ("sent", "delivered") and tally.bounce:
        # A bounce that came back after the hand-over (a DSN, a complaint).
        return "bounced"
    return tally.state


@dataclass
class Counts:
    total: int = 0
    columns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def open(self) -> int:
        """Messages still to go (a page polls while there are any)."""
        return self.columns["queued"] + self.columns["deferred"]

    def add(self, channel: str, column: str, count: int) -> None:
        self.total += count
        self.columns[column] += count
        row = self.by_channel.setdefault(channel, dict.fromkeys(COLUMNS, 0))
        row[column] += count


def counts_of(tallies: list[MessageTally]) -> Counts:
    counts = Counts()
    for tally in tallies:
        counts.add(tally.channel, column_of(tally), tally.count)
    return counts


async def announcement_counts(
    session: AsyncSession, workspace_id: UUID, announcement_id: UUID
) -> Counts:
    return counts_of(
        await DashboardRepository(session).message_tallies(
            workspace_id, announcement_id=announcement_id
        )
    )


async def counts_of_announcements(
    session: AsyncSession, workspace_id: UUID, announcement_ids: list[UUID]
) -> dict[UUID, Counts]:
    found = await DashboardRepository(session).tallies_by_announcement(
        workspace_id, announcement_ids
    )
    return {a: counts_of(found.get(a, [])) for a in announcement_ids}


@dataclass(frozen=True)
class PlanRow:
    kind: str
    channel: str
    time_zone: str | None
    first: datetime
    last: datetime
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class Plan:
    rows: list[PlanRow]
    by_kind: dict[str, Counts]


PLAN_KINDS = (MessageKind.countdown, MessageKind.release_day, MessageKind.receipt)


async def release_plan(session: AsyncSession, workspace_id: UUID, release_id: UUID) -> Plan:
    """The release's countdown, release-day and receipt messages: for each time zone
    of the fans' pre-saves, when they are planned and what became of them."""
    repository = DashboardRepository(session)
    grouped: dict[tuple[str, str, str | None], list[tuple[datetime, datetime, str, int]]] = {}
    for item in await repository.planned_instants(release_id):
        grouped.setdefault((item.kind, item.channel, item.time_zone), []).append(
            (item.first, item.last, item.state, item.count)
        )
    order = {k.value: i for i, k in enumerate(PLAN_KINDS)}
    rows = []
    for (kind, channel, zone), items in grouped.items():
        states = dict.fromkeys(("queued", "sent", "delivered", "failed", "cancelled"), 0)
        for _first, _last, state, count in items:
            states[state] = states.get(state, 0) + count
        rows.append(
            PlanRow(
                kind=kind,
                channel=channel,
                time_zone=zone,
                first=min(i[0] for i in items),
                last=max(i[1] for i in items),
                counts=states,
                total=sum(i[3] for i in items),
            )
        )
    rows.sort(key=lambda r: (order.get(r.kind, 9), r.first, r.channel, r.time_zone or ""))
    by_kind: dict[str, Counts] = {}
    for tally in await repository.message_tallies(workspace_id, release_id=release_id):
        by_kind.setdefault(tally.kind, Counts()).add(tally.channel, column_of(tally), tally.count)
    return Plan(rows=rows, by_kind=by_kind)


@dataclass(frozen=True)
class Wording:
    """One kind × channel × language: the workspace's own wording, or the built-in."""

    kind: MessageKind
    channel: MessageChannel
    language: str
    template: Template
    own: MessageTemplate | None


def wordings(own: list[MessageTemplate]) -> list[Wording]:
    """Every built-in wording with the workspace's over it, and the workspace's own
    translations into languages we ship none for."""
    mine = {(t.kind, t.channel, t.language): t for t in own}
    found: list[Wording] = []
    for (kind, channel), languages in DEFAULTS.items():
        for language, template in languages.items():
            row = mine.pop((kind, channel, language), None)
            found.append(Wording(kind, channel, language, _template_of(row) or template, row))
    for (kind, channel, language), row in mine.items():
        found.append(Wording(kind, channel, language, _template_of(row) or Template("", ""), row))
    found.sort(key=lambda w: (w.kind.value, w.channel.value, w.language))
    return found


def wording(
    own: list[MessageTemplate], kind: MessageKind, channel: MessageChannel, language: str
) -> Wording:
    """What the editor opens: the workspace's wording, else the built-in one to start from
    (in that language, its base language, or English)."""
    row = next(
        (t for t in own if (t.kind, t.channel, t.language) == (kind, channel, language)), None
    )
    template = _template_of(row) or default_template(kind, channel, language)
    return Wording(kind, channel, language, template, row)


def _template_of(row: MessageTemplate | None) -> Template | None:
    return None if row is None else Template(row.subject, row.text, row.html)
