"""The per-campaign fulfilment report: each fan's outcome and reason, as CSV or JSON rows."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.fulfilment.repository import FulfilmentRepository
from launchlink.models.presave import PresaveState

COLUMNS = (
    "presave_id",
    "fan_id",
    "fan_email",
    "service",
    "state",
    "reason",
    "due_at",
    "finished_at",
    "actions",
)
PAGE = 1000


async def report_rows(
    session: AsyncSession,
    link_id: UUID,
    *,
    state: PresaveState | None = None,
    limit: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Each pre-save's outcome, in id order (``state``: only those; ``limit``: the first
    that many, read in one page of that size instead of pages of :data:`PAGE`)."""
    repository = FulfilmentRepository(session)
    after: UUID | None = None
    left = limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        page = await repository.report_rows(link_id, after=after, limit=size, state=state)
        if left is not None:
            left -= len(page)
        for presave, fan in page:
            actions = (presave.outcome or {}).get("actions", [])
            yield {
                "presave_id": str(presave.id),
                "fan_id": str(fan.id),
                "fan_email": fan.email,
                "service": presave.service,
                "state": str(presave.state),
                "reason": presave.final_reason,
                "due_at": presave.due_at.isoformat(),
                "finished_at": presave.finished_at.isoformat() if presave.finished_at else None,
                "actions": actions,
            }
        if len(page) < size:
            return
        after = page[-1][0].id


def action_summary(actions: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{a.get('action')}={a.get('status')}" + (f" ({a['reason']})" if a.get("reason") else "")
        for a in actions
    )


async def report_csv(session: AsyncSession, link_id: UUID) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    async for row in report_rows(session, link_id):
        writer.writerow(row | {"actions": action_summary(row["actions"])})
    return buffer.getvalue()
