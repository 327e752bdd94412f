"""The engine end to end against the in-process simulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from uuid import UUID

from sqlalchemy import func, select

from launchlink.db import Database
from launchlink.events import PresaveNeedsReauth
from launchlink.fulfilment import executor
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.executor import idempotency_key, plan_actions
from launchlink.fulfilment.limiter import MemoryLimiter
from launchlink.fulfilment.repository import ActionRecord
from launchlink.fulfilment.resolver import Resolved
from launchlink.fulfilment.writes import IN_FLIGHT, Write
from launchlink.models.fulfilment import FulfilmentAction, FulfilmentJob
from launchlink.models.outbox import OutboxEvent
from launchlink.models.presave import PresaveEvent, PresaveState
from tests.fulfilment.harness import RELEASE_AT, World, drain, fast_settings, make_world


async def test_due_presaves_on_three_services_end_saved_exactly_once(db: Database) -> None:
    world = await make_world(db)
    fans = [
        await world.add_fan("spotify", user="sp-1"),
        await world.add_fan("apple_music", user="am-1"),
        await world.add_fan("deezer", user="dz-1"),
    ]
    engine = world.engine()

    assert await drain(engine) == 0  # nothing is due before the release instant
    world.advance((RELEASE_AT - world.clock.now()).total_seconds() + 1)
    await drain(engine)

    for presave_id in fans:
        presave = await world.presave(presave_id)
        assert presave.state == PresaveState.done, presave.final_reason
        assert world.ledger_adds(presave_id).count("added") >= 1
        assert "already" not in world.ledger_adds(presave_id)
    spotify = world.state.ledger.query(service="spotify")
    assert sorted(e.item.split(":")[1] for e in spotify) == ["album", "track", "track"]
    assert {e.type for e in await world.emitted()} == {
        "presave.done",
        "release.live",
        "fulfilment.completed",
    }
    async with db.transaction() as session:
        transitions = (
            await session.execute(
                select(PresaveEvent.state, PresaveEvent.at).where(
                    PresaveEvent.presave_id == fans[0]
                )
            )
        ).all()
        open_jobs = await session.scalar(select(func.count()).where(FulfilmentJob.open.is_(True)))
    lifecycle = [
        PresaveState.due,
        PresaveState.resolving,
        PresaveState.executing,
        PresaveState.done,
    ]
    recorded = sorted(transitions, key=lambda row: lifecycle.index(row[0]))
    assert [row[0] for row in recorded] == lifecycle
    assert [row[1] for row in recorded] == sorted(row[1] for row in recorded)
    assert open_jobs == 0
    grant = await world.grant_of(fans[0])
    assert grant.access_token is None
    assert grant.refresh_token is None


async def test_a_late_delivery_keeps_fans_waiting_until_the_third_poll(db: Database) -> None:
    world = await make_world(db, available_from=RELEASE_AT.replace(year=2027))
    presave_id = await world.add_fan("spotify", user="late-1")
    engine = world.engine()
    world.advance((RELEASE_AT - world.clock.now()).total_seconds())

    await drain(engine)  # first poll: not there
    assert (await world.presave(presave_id)).state == PresaveState.resolving
    world.advance(31)
    await drain(engine)  # second poll: still not there
    assert (await world.presave(presave_id)).state == PresaveState.resolving
    world.state.set_availability("tide", at=world.clock.now())
    world.advance(61)
    await drain(engine)  # third poll finds it

    presave = await world.presave(presave_id)
    assert presave.state == PresaveState.done, presave.final_reason
    async with db.transaction() as session:
        from launchlink.models.fulfilment import ReleaseResolution

        resolution = await session.scalar(select(ReleaseResolution))
    assert resolution is not None
    assert resolution.found
    assert resolution.polls == 3


async def test_a_territory_live_early_is_fulfilled_before_its_instant(db: Database) -> None:
    world = await make_world(db)
    later = RELEASE_AT.replace(hour=5)
    world.state.set_availability("tide", country="GB", at=world.clock.now())
    early = await world.add_fan("spotify", user="gb-1", country="GB", due_at=later)
    on_time = await world.add_fan("spotify", user="us-1", country="US", due_at=later)

    await drain(world.engine())

    assert (await world.presave(early)).state == PresaveState.done
    assert (await world.presave(on_time)).state == PresaveState.waiting


async def test_a_token_revoked_mid_run_ends_in_needs_reauth_and_says_so(db: Database) -> None:
    world = await make_world(db)
    kept = await world.add_fan("spotify", user="keep-1")
    revoked = await world.add_fan("spotify", user="gone-1", email="fan@example.test")
    world.state.revoke_user("spotify", "gone-1")
    world.advance(3600)

    await drain(world.engine())

    assert (await world.presave(kept)).state == PresaveState.done
    lost = await world.presave(revoked)
    assert lost.state == PresaveState.needs_reauth
    assert lost.final_reason
    grant = await world.grant_of(revoked)
    assert grant.revoked_at is not None
    assert grant.access_token is None
    # The fan's "we couldn't save it" receipt is messaging's answer to this event.
    async with db.transaction() as session:
        emitted = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == PresaveNeedsReauth.type)
            )
        ).all()
    assert [e.aggregate_id for e in emitted] == [str(revoked)]
    assert world.ledger_adds(revoked) == []


async def test_a_rotated_refresh_token_is_stored_before_use(db: Database) -> None:
    world = await make_world(db)
    world.state.upsert_app("spotify", "launchlink-demo", rotate_refresh_tokens=True)
    presave_id = await world.add_fan("spotify", user="rot-1", ttl_seconds=60, standing=True)
    before = await world.grant_of(presave_id)
    old_refresh = world.cipher.decrypt(before.refresh_token or b"")
    world.advance(3600)  # the access token has expired

    await drain(world.engine())

    assert (await world.presave(presave_id)).state == PresaveState.done
    after = await world.grant_of(presave_id)
    new_refresh = world.cipher.decrypt(after.refresh_token or b"")
    assert new_refresh != old_refresh
    assert world.state.refresh_tokens[new_refresh].grant is not None
    assert after.access_expires_at is not None
    assert after.access_expires_at > world.clock.now()


async def test_refreshing_every_fans_grant_keeps_no_lock_per_grant_behind(db: Database) -> None:
    # Release day: every Spotify fan's hour-long token has expired and is refreshed once.
    world = await make_world(db)
    engine = world.engine()

    async def serve(fans: range) -> int:
        """Bytes the executor allocated while refreshing ``fans`` and still holds."""
        presaves = [
            # Standing grants keep their tokens after the save, so the refresh can be seen.
            await world.add_fan("spotify", user=f"exp-{n}", ttl_seconds=60, standing=True)
            for n in fans
        ]
        world.advance(3600)
        tracemalloc.start()
        try:
            await drain(engine)
            held = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, executor.__file__)]
            )
        finally:
            tracemalloc.stop()
        for presave_id in presaves:
            assert (await world.presave(presave_id)).state == PresaveState.done
            grant = await world.grant_of(presave_id)
            assert grant.access_expires_at is not None
            assert grant.access_expires_at > world.clock.now()  # refreshed and stored
        return sum(stat.size for stat in held.statistics("filename"))

    first = await serve(range(6))
    more = await serve(range(6, 24))

    # The worker's memory: a lock kept per grant refreshed would grow with every fan served.
    assert more <= first


async def test_a_development_mode_app_fails_fans_not_on_the_allow_list(db: Database) -> None:
    world = await make_world(db, spotify_mode="development")
    presave_id = await world.add_fan("spotify", user="stranger-1")
    world.advance(3600)

    await drain(world.engine())

    presave = await world.presave(presave_id)
    assert presave.state == PresaveState.failed
    assert presave.final_reason is not None
    assert "development mode" in presave.final_reason


async def test_a_huge_retry_after_pauses_only_that_service(db: Database) -> None:
    world = await make_world(db)
    paused = await world.add_fan("spotify", user="sp-p")
    others = [
        await world.add_fan("deezer", user="dz-p"),
        await world.add_fan("apple_music", user="am-p"),
    ]
    world.advance(3600)
    # The first request to Spotify is the UPC search: it gets the day-long 429.
    world.state.set_faults("spotify", burst_429=1, retry_after_mode="huge")
    limiter = MemoryLimiter()
    engine = world.engine(limiter=limiter)

    await drain(engine)

    assert (await world.presave(paused)).state == PresaveState.resolving
    pause = await limiter.pause_of("spotify")
    assert pause is not None
    assert pause.reason
    assert "Retry-After" in pause.reason
    assert [(await world.presave(p)).state for p in others] == [PresaveState.done] * 2
    assert "fulfilment.service_paused" in {e.type for e in await world.emitted()}
    async with db.transaction() as session:
        job = await session.scalar(select(FulfilmentJob).where(FulfilmentJob.presave_id == paused))
    assert job is not None
    assert job.waiting_for == "service_paused"
    assert job.attempts == 0
    assert job.next_attempt_at > world.clock.now() + timedelta(hours=23)

    await limiter.resume("spotify")  # the operator lifts the pause
    world.advance(86_401)
    await drain(engine)
    assert (await world.presave(paused)).state == PresaveState.done


async def test_running_twice_and_a_reclaimed_lease_do_not_save_twice(db: Database) -> None:
    world = await make_world(db)
    presave_id = await world.add_fan(
        "spotify", user="dup-1", actions={"save_release": True, "follow": [str(world.artist_id)]}
    )
    world.advance(3600)
    engine = world.engine(settings=fast_settings(lease_seconds=30))
    await engine.schedule()
    [crashed] = await engine.claim("spotify", "worker-that-dies", 10)
    # The dying worker did the first action and recorded it, then was killed.
    from launchlink.fulfilment.repository import FulfilmentRepository

    release = await engine._release(world.release_id)
    assert release is not None
    connector = world.registry.get("spotify")
    resolved = await engine.resolver.resolve(connector, release, "US")
    plan = plan_actions(crashed, connector, release, resolved)  # type: ignore[arg-type]
    tokens = engine.tokens.tokens_of(crashed)
    assert tokens is not None
    tokens = await engine.tokens.fresh(crashed, connector, tokens)
    await plan[0].run(connector, tokens, idempotency_key(presave_id, plan[0].kind))
    async with db.transaction() as session:
        await FulfilmentRepository(session).record_action(
            crashed,
            "worker-that-dies",
            kind=plan[0].kind,
            idempotency_key=idempotency_key(presave_id, plan[0].kind),
            status="done",
            targets=list(plan[0].targets),
            confirmed=True,
            reason=None,
            at=world.clock.now(),
        )
    assert await engine.claim("spotify", "survivor", 10) == []  # still leased
    world.advance(31)
    [reclaimed] = await engine.claim("spotify", "survivor", 10)
    await engine.process(reclaimed, "survivor")
    await engine.process(crashed, "worker-that-dies")  # too late: its lease is gone
    await drain(engine)  # and a duplicate run finds nothing to do

    presave = await world.presave(presave_id)
    assert presave.state == PresaveState.done
    entries = world.state.ledger.query(service="spotify", user="dup-1")
    assert sorted((e.action, e.outcome) for e in entries) == sorted(
        [
            ("save_album", "added"),
            ("save_track", "added"),
            ("save_track", "added"),
            ("follow_artist", "added"),
        ]
    )
    async with db.transaction() as session:
        kinds = (await session.scalars(select(FulfilmentAction.kind))).all()
    assert sorted(kinds) == ["follow_artists", "save_release"]


async def _die_during_the_call(world: World, engine: FulfilmentEngine, service: str) -> UUID:
    """A worker marks the save in flight, the service performs it, the worker dies."""
    await engine.schedule()
    [dying] = await engine.claim(service, "worker-that-dies", 10)
    release = await engine._release(world.release_id)
    assert release is not None
    connector = world.registry.get(service)
    resolved = await engine.resolver.resolve(connector, release, "US")
    assert isinstance(resolved, Resolved)
    [save] = plan_actions(dying, connector, release, resolved)
    marker = ActionRecord(save.kind, IN_FLIGHT, list(save.targets), True, None, world.clock.now())
    await engine.writes.submit(Write(dying, "worker-that-dies", records=[marker], executing=True))
    tokens = engine.tokens.tokens_of(dying)
    assert tokens is not None
    tokens = await engine.tokens.fresh(dying, connector, tokens)
    await save.run(connector, tokens, idempotency_key(dying.presave_id, save.kind))
    world.advance(31)  # its lease runs out
    return dying.presave_id


async def test_an_interrupted_spotify_save_is_checked_not_repeated(db: Database) -> None:
    world = await make_world(db)
    presave_id = await world.add_fan("spotify", user="cut-1")
    world.advance(3600)
    engine = world.engine(settings=fast_settings(lease_seconds=30))
    await _die_during_the_call(world, engine, "spotify")

    await drain(engine)

    presave = await world.presave(presave_id)
    assert presave.state == PresaveState.done
    assert world.ledger_adds(presave_id) == ["added"] * 3  # album + 2 tracks, never again
    [action] = presave.outcome["actions"]
    assert action["status"] == "done"
    assert "checked after an interrupted call" in action["reason"]


async def test_an_interrupted_save_without_a_check_is_repeated_once(db: Database) -> None:
    world = await make_world(db)
    presave_id = await world.add_fan("deezer", user="cut-2")
    world.advance(3600)
    engine = world.engine(settings=fast_settings(lease_seconds=30))
    await _die_during_the_call(world, engine, "deezer")

    await drain(engine)

    assert (await world.presave(presave_id)).state == PresaveState.done
    assert sorted(world.ledger_adds(presave_id)) == ["added"] * 3 + ["already"] * 3
