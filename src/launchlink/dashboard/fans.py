"""The fans page: pre-savers and opt-ins with where each consent came from, filters, the
CSV of consenting fans only (streamed), and deleting a fan on request (audited).

The erasure itself is the GDPR one of the API (``presave/export.py``), so a fan deleted
from the dashboard loses exactly what a fan deleted through the API does. The audit entry
names the fan's id and what was erased, never their address: keeping it would undo the
deletion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts import audit
from launchlink.accounts.audit import Actor
from launchlink.dashboard.repository import DashboardRepository, FanFilter, Provenance
from launchlink.db import Database
from launchlink.kit.clock import Clock
from launchlink.models import Fan
from launchlink.presave import export
from launchlink.presave.schemas import FanDeleted

FANS_SHOWN = 100


@dataclass(frozen=True)
class FanRow:
    fan: Fan
    presaves: list[tuple[str, str, str, str]]
    """(service, state, campaign slug, reminder-only channels) of each pre-save."""

    @property
    def reminders_only(self) -> list[str]:
        """ "email for /slug", "SMS for /slug": the channels the fan gave one release's
        reminders on and no marketing consent (so no announcement, no CSV)."""
        marketing = {
            name
            for name, at in (("email", self.fan.email_consent_at), ("SMS", self.fan.sms_consent_at))
            if at is not None
        }
        shown: list[str] = []
        for _service, _state, slug, reminder in self.presaves:
            for channel in reminder.split(" + ") if reminder else []:
                line = f"{channel} for /{slug}"
                if channel not in marketing and line not in shown:
                    shown.append(line)
        return shown

    provenance: list[Provenance]


@dataclass(frozen=True)
class FansView:
    rows: list[FanRow]
    next_before: UUID | None
    """The cursor of the next (older) page; ``None`` on the last one."""
    services: list[str]


async def fans_view(
    session: AsyncSession, workspace_id: UUID, wanted: FanFilter, *, before: UUID | None
) -> FansView:
    repository = DashboardRepository(session)
    found = await repository.fans(workspace_id, wanted, before=before, limit=FANS_SHOWN + 1)
    shown = found[:FANS_SHOWN]
    ids = [fan.id for fan in shown]
    presaves = await repository.presaves_of(ids)
    provenance = await repository.provenance_of(ids)
    return FansView(
        rows=[FanRow(fan, presaves.get(fan.id, []), provenance.get(fan.id, [])) for fan in shown],
        next_before=shown[-1].id if len(found) > FANS_SHOWN else None,
        services=await repository.services_presaved(workspace_id),
    )


def consenting_csv(
    database: Database, workspace_id: UUID, wanted: FanFilter
) -> AsyncIterator[bytes]:
    """The filtered fans who consented, each value only under its own consent."""
    return export.consenting_csv(
        database,
        lambda session: DashboardRepository(session).stream_consenting(workspace_id, wanted),
    )


async def delete_fan(
    session: AsyncSession, actor: Actor, fan_id: UUID, *, clock: Clock
) -> FanDeleted:
    deleted = await export.delete_fan_by_id(session, actor.workspace_id, fan_id)
    await audit.record(
        session, actor, "fan.deleted", ("fan", fan_id), after=deleted.model_dump(), clock=clock
    )
    return deleted
