"""Group commits: many jobs per transaction, each fenced on its own."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from launchlink.db import Database
from launchlink.fulfilment.repository import FinalState, LeaseLost
from launchlink.fulfilment.writes import Write
from launchlink.models.fulfilment import FulfilmentJob
from launchlink.models.presave import PresaveState
from launchlink.ops import metrics
from tests.fulfilment.harness import drain, make_world


async def test_writes_arriving_during_a_flush_share_the_next_and_a_lost_lease_fails_alone(
    db: Database,
) -> None:
    world = await make_world(db)
    fans = [await world.add_fan("deezer", user=f"gw-{n}") for n in range(3)]
    world.advance(3600)
    engine = world.engine()
    await engine.schedule()
    first, stolen, third = sorted(
        await engine.claim("deezer", "worker-a", 10), key=lambda job: fans.index(job.presave_id)
    )
    async with db.transaction() as session:  # worker-a's lease on one job ran out: b has it
        await session.execute(
            update(FulfilmentJob)
            .where(FulfilmentJob.id == stolen.job_id)
            .values(lease_owner="worker-b")
        )

    results = await asyncio.gather(
        *(
            engine.writes.submit(
                Write(job, "worker-a", final=FinalState(job.presave_id, PresaveState.done, "", []))
            )
            for job in (first, stolen, third)
        ),
        return_exceptions=True,
    )

    assert results[0] is None
    assert isinstance(results[1], LeaseLost)
    assert results[2] is None
    assert (engine.writes.flushes, engine.writes.writes) == (2, 3)  # [first], [stolen, third]
    states = await world.states()
    assert [states[p] for p in fans] == [
        PresaveState.done,
        PresaveState.resolving,
        PresaveState.done,
    ]


async def test_a_lone_write_that_fails_reaches_its_job(db: Database) -> None:
    world = await make_world(db)
    presave_id = await world.add_fan("deezer", user="gw-bad")
    world.advance(3600)
    engine = world.engine()
    await engine.schedule()
    [job] = await engine.claim("deezer", "worker-a", 10)
    # A final state for a pre-save that does not exist: its event breaks a foreign key.
    bad = FinalState(UUID(int=5), PresaveState.done, "saved", [])

    with pytest.raises(IntegrityError):
        await engine.writes.submit(Write(job, "worker-a", final=bad))

    assert (await world.states())[presave_id] == PresaveState.resolving


async def test_a_saved_presave_records_its_time_from_release_instant_to_fulfilment(
    db: Database,
) -> None:
    world = await make_world(db)
    presave_id = await world.add_fan("deezer", user="gw-delay")
    engine = world.engine()
    delays = metrics.FULFILMENT_DELAY.labels("deezer")
    before_count, before_sum = _count_and_sum(delays)
    # 90 s after the fan's release instant (its due_at), the worker gets to it.
    due_at = (await world.presave(presave_id)).due_at
    world.advance((due_at - world.clock.now()).total_seconds() + 90)
    await drain(engine)

    assert (await world.states())[presave_id] == PresaveState.done
    count, total = _count_and_sum(delays)
    assert count - before_count == 1
    assert total - before_sum == pytest.approx(90, abs=1)


def _count_and_sum(histogram: Any) -> tuple[float, float]:
    samples = {s.name: s.value for s in histogram.collect()[0].samples if not s.labels.get("le")}
    return samples["launchlink_fulfilment_delay_seconds_count"], samples[
        "launchlink_fulfilment_delay_seconds_sum"
    ]
