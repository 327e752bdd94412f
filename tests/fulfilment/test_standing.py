"""Standing authorisations queue the fan's next pre-save without a new visit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from launchlink.db import Database
from launchlink.fulfilment import service
from launchlink.models.catalog import Release, ReleaseArtist, ReleaseMode, ReleaseType
from launchlink.models.links import Link
from launchlink.models.presave import Presave, PresaveState, ServiceGrant
from tests.fulfilment.harness import UPC, drain, make_world


async def test_a_new_release_is_queued_for_standing_fans_within_their_scopes(
    db: Database,
) -> None:
    world = await make_world(db)
    standing = await world.add_fan("spotify", user="loyal-1", country="US", standing=True)
    one_off = await world.add_fan("spotify", user="once-1", country="US")
    async with db.transaction() as session:
        grant = await session.scalar(
            select(ServiceGrant).where(ServiceGrant.account_id == "loyal-1")
        )
        assert grant is not None
        grant.scopes = ["user-library-modify"]  # no follow scope: no follow is promised
        release = Release(
            workspace_id=world.workspace_id,
            title="Night Tide (Deluxe)",
            type=ReleaseType.album,
            upc=UPC,
            release_mode=ReleaseMode.local,
            release_date=date(2026, 9, 4),
            time_zone="UTC",
        )
        session.add(release)
        await session.flush()
        session.add(ReleaseArtist(release_id=release.id, artist_id=world.artist_id, position=0))
        session.add(Link(workspace_id=world.workspace_id, release_id=release.id, slug="deluxe"))
        release_id = release.id

    async with db.transaction() as session:
        queued = await service.queue_standing_presaves(session, release_id, clock=world.clock)
    async with db.transaction() as session:
        again = await service.queue_standing_presaves(session, release_id, clock=world.clock)
        created = (
            await session.scalars(select(Presave).where(Presave.release_id == release_id))
        ).all()

    assert (queued, again) == (1, 0)
    [presave] = created
    assert presave.standing
    assert presave.state == PresaveState.waiting
    assert presave.actions == {"save_release": True}
    assert presave.due_at.isoformat().startswith("2026-09-04T04:00")  # midnight New York
    assert (await world.presave(one_off)).state == PresaveState.waiting
    world.advance(6 * 3600)
    await drain(world.engine())
    async with db.transaction() as session:
        done = await session.get(Presave, presave.id)
    assert done is not None
    assert done.state == PresaveState.done
    assert (await world.presave(standing)).state == PresaveState.done
    assert (await world.grant_of(standing)).access_token is not None  # kept: standing
