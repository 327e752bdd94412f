"""Progress counts and the per-campaign report tell every fan's outcome."""

from __future__ import annotations

import csv
import io

from launchlink.db import Database
from launchlink.fulfilment import report, service
from launchlink.models.presave import ServiceGrant
from tests.fulfilment.harness import RELEASE_AT, drain, make_world


async def test_progress_and_report_account_for_every_fan(db: Database) -> None:
    world = await make_world(db, available_from=RELEASE_AT.replace(year=2027))
    waiting = await world.add_fan("spotify", user="w-1")
    gone = await world.add_fan("deezer", user="g-1", email="g@example.test")
    later = await world.add_fan("spotify", user="l-1", due_at=RELEASE_AT.replace(month=10))
    async with db.transaction() as session:  # the service refused this grant earlier
        grant = await session.get(ServiceGrant, (await world.grant_of(gone)).id)
        assert grant is not None
        grant.revoked_at, grant.access_token = world.clock.now(), None
    world.advance(3600)

    await drain(world.engine())

    async with db.transaction() as session:
        progress = await service.progress(session, world.release_id, clock=world.clock)
        rows = [row async for row in report.report_rows(session, world.link_id)]
        text = await report.report_csv(session, world.link_id)
    by_service = {s.service: s for s in progress.services}
    assert (by_service["spotify"].waiting_for_release, by_service["spotify"].scheduled) == (1, 1)
    assert by_service["deezer"].needs_reauth == 1
    assert progress.total("pending") == 0
    states = {row["presave_id"]: (row["state"], row["reason"]) for row in rows}
    assert states[str(waiting)][0] == "resolving"
    assert states[str(later)][0] == "waiting"
    assert states[str(gone)][0] == "needs_reauth"
    assert states[str(gone)][1]
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert {row["presave_id"] for row in parsed} == {str(waiting), str(gone), str(later)}
    assert next(r for r in parsed if r["presave_id"] == str(gone))["fan_email"] == "g@example.test"
