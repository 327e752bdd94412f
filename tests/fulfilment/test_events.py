"""What fulfilment tells the rest of the system, as an outbox subscriber gets it."""

from __future__ import annotations

from launchlink.db import Database
from launchlink.events import FulfilmentCompleted, PresaveDone, ReleaseLive
from tests.fulfilment.harness import RELEASE_AT, drain, make_world


async def test_a_release_day_is_told_as_live_done_and_completed_per_service(
    db: Database,
) -> None:
    world = await make_world(db)
    spotify = [await world.add_fan("spotify", user=f"sp-{i}") for i in range(3)]
    deezer = [await world.add_fan("deezer", user="dz-1")]
    engine = world.engine()
    world.advance((RELEASE_AT - world.clock.now()).total_seconds() + 1)

    await drain(engine)
    emitted = await world.emitted()

    done = [e for e in emitted if isinstance(e, PresaveDone)]
    assert sorted(e.presave_id for e in done) == sorted(spotify + deezer)
    live = [e for e in emitted if isinstance(e, ReleaseLive)]
    assert {e.service for e in live} == {"spotify", "deezer"}
    assert {e.release_id for e in live} == {world.release_id}
    completed = [e for e in emitted if isinstance(e, FulfilmentCompleted)]
    assert sorted((e.service, e.counts["done"]) for e in completed) == [
        ("deezer", 1),
        ("spotify", 3),
    ]
    assert all(e.workspace_id == world.workspace_id for e in completed + live)
