"""Delivery from the outbox, in one process, on SQLite and PostgreSQL: at least once to
every subscriber after commit, never after a rollback, in order per aggregate, a failing
subscriber retried with backoff and then parked with its error while the others carry on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database
from launchlink.events import (
    Event,
    EventRegistry,
    LinkChanged,
    PresaveDone,
    PresaveFailed,
    Subscriptions,
    UnknownEventType,
    emit,
    subscriptions,
)
from launchlink.kit.clock import FrozenClock
from launchlink.kit.ids import uuid7
from launchlink.models.outbox import DeliveryState
from launchlink.outbox import service
from launchlink.outbox.dispatcher import OutboxDispatcher
from launchlink.outbox.repository import DeliveryView, OutboxRepository
from launchlink.outbox.settings import OutboxSettings
from tests.outbox.probe import (
    Probe,
    emit_probes,
    out_of_order,
    record,
    recorded,
    reset_probe_table,
)

T0 = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
async def probe_db(db: Database) -> Database:
    await reset_probe_table(db)
    return db


def presave_done(clock: FrozenClock, **overrides: object) -> PresaveDone:
    values: dict[str, object] = {
        "occurred_at": clock.now(),
        "workspace_id": uuid7(),
        "presave_id": uuid7(),
        "link_id": uuid7(),
        "release_id": uuid7(),
        "fan_id": uuid7(),
        "service": "spotify",
        "reason": "saved",
        "outcome": [{"kind": "save_release", "status": "done"}],
    }
    return PresaveDone(**(values | overrides))  # type: ignore[arg-type]


def presave_failed(clock: FrozenClock, **overrides: object) -> PresaveFailed:
    done = presave_done(clock, **overrides)
    return PresaveFailed(
        occurred_at=done.occurred_at,
        workspace_id=done.workspace_id,
        presave_id=done.presave_id,
        link_id=done.link_id,
        release_id=done.release_id,
        fan_id=done.fan_id,
        service=done.service,
        reason="token revoked",
    )


async def deliveries(db: Database, **filters: object) -> list[DeliveryView]:
    async with db.sessionmaker() as session:
        return await OutboxRepository(session).deliveries(limit=10_000, **filters)  # type: ignore[arg-type]


def recorder(name: str):  # type: ignore[no-untyped-def]
    async def handler(session: AsyncSession, event: Probe) -> None:
        await record(session, name, event)

    return handler


async def test_a_committed_event_reaches_every_subscriber_once_and_typed(
    db: Database, clock: FrozenClock
) -> None:
    seen_in_session: list[PresaveDone] = []
    seen_outside: list[PresaveDone] = []

    async def analytics(session: AsyncSession, event: PresaveDone) -> None:
        seen_in_session.append(event)

    async def receipt(event: PresaveDone) -> None:
        seen_outside.append(event)

    subscribers = Subscriptions()
    subscribers.subscribe(PresaveDone, analytics, name="analytics.funnel")
    subscribers.subscribe_effect(PresaveDone, receipt, name="messaging.receipt")
    event = presave_done(clock)
    async with db.transaction() as session:
        await emit(session, event)

    dispatcher = OutboxDispatcher(db, clock, subscribers)
    assert await dispatcher.drain() == 2
    assert await dispatcher.drain() == 0
    assert seen_in_session == [event]
    assert seen_outside == [event]
    assert isinstance(seen_outside[0], PresaveDone)
    assert seen_outside[0].outcome == [{"kind": "save_release", "status": "done"}]
    states = {(d.subscriber, d.state) for d in await deliveries(db, event_id=event.id)}
    assert states == {("analytics.funnel", "handled"), ("messaging.receipt", "handled")}


async def test_an_event_emitted_in_a_rolled_back_transaction_never_exists(
    db: Database, clock: FrozenClock
) -> None:
    seen: list[PresaveDone] = []

    async def handler(session: AsyncSession, event: PresaveDone) -> None:
        seen.append(event)

    subscribers = Subscriptions()
    subscribers.subscribe(PresaveDone, handler, name="analytics.funnel")

    async def change_that_fails() -> None:
        async with db.transaction() as session:
            await emit(session, presave_done(clock))
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        await change_that_fails()

    assert await OutboxDispatcher(db, clock, subscribers).drain() == 0
    assert seen == []
    async with db.sessionmaker() as session:
        assert await service.status(session) == service.OutboxStatus(0, {})


async def test_a_session_handler_writes_commit_with_its_handled_mark_or_not_at_all(
    probe_db: Database, clock: FrozenClock
) -> None:
    calls = 0

    async def flaky(session: AsyncSession, event: Probe) -> None:
        nonlocal calls
        calls += 1
        await record(session, "flaky", event)  # written, then rolled back on the first call
        if calls == 1:
            raise ConnectionError("the analytics store hung up")

    subscribers = Subscriptions()
    subscribers.subscribe(Probe, flaky, name="flaky")
    [probe] = await emit_probes(probe_db, clock, streams=1, per_stream=1)
    dispatcher = OutboxDispatcher(
        probe_db, clock, subscribers, settings=OutboxSettings(backoff_base_seconds=10)
    )
    assert await dispatcher.drain() == 1
    assert await recorded(probe_db) == []
    [delivery] = await deliveries(probe_db)
    assert delivery.state == DeliveryState.pending
    assert delivery.attempts == 1
    assert delivery.last_error == "ConnectionError: the analytics store hung up"

    clock.advance(timedelta(seconds=10))
    assert await dispatcher.drain() == 1
    assert [(r.subscriber, r.event_id) for r in await recorded(probe_db)] == [("flaky", probe.id)]
    assert (await deliveries(probe_db))[0].state == DeliveryState.handled


async def test_a_failing_subscriber_backs_off_then_parks_while_the_others_carry_on(
    probe_db: Database, clock: FrozenClock
) -> None:
    broken = True

    async def webhook(session: AsyncSession, event: Probe) -> None:
        if broken:
            raise RuntimeError(f"endpoint answered 500 for event {event.n}")
        await record(session, "webhook", event)

    subscribers = Subscriptions()
    subscribers.subscribe(Probe, recorder("analytics"), name="analytics")
    subscribers.subscribe(Probe, webhook, name="webhook")
    first, second = await emit_probes(probe_db, clock, streams=1, per_stream=2)
    settings = OutboxSettings(max_attempts=3, backoff_base_seconds=10, backoff_cap_seconds=1000)
    dispatcher = OutboxDispatcher(probe_db, clock, subscribers, settings=settings)

    # Tick 1: analytics handles both; the webhook fails on the first and the second waits.
    await dispatcher.drain()
    assert [(r.subscriber, r.n) for r in await recorded(probe_db)] == [
        ("analytics", 0),
        ("analytics", 1),
    ]
    windows = [(5.0, 10.0), (10.0, 20.0)]  # attempt n waits base·2^(n-1), jittered down to half
    for attempt, (low, high) in enumerate(windows, start=1):
        [failing] = await deliveries(probe_db, subscriber="webhook", event_id=first.id)
        assert failing.attempts == attempt
        assert failing.state == DeliveryState.pending
        wait = (failing.next_attempt_at - clock.now()).total_seconds()
        assert low <= wait <= high, (attempt, wait)
        [waiting] = await deliveries(probe_db, subscriber="webhook", event_id=second.id)
        assert waiting.attempts == 0, "event 1 must wait while event 0 is retried"
        clock.advance(timedelta(seconds=wait))
        await dispatcher.drain()

    [parked] = await deliveries(probe_db, subscriber="webhook", event_id=first.id)
    assert parked.state == DeliveryState.parked
    assert parked.attempts == 3
    assert parked.last_error == "RuntimeError: endpoint answered 500 for event 0"
    # Parking unblocked the stream: the webhook moved on to event 1 (and failed on it).
    [moved_on] = await deliveries(probe_db, subscriber="webhook", event_id=second.id)
    assert moved_on.attempts == 1
    assert moved_on.last_error == "RuntimeError: endpoint answered 500 for event 1"
    assert dispatcher.parked == 1

    async with probe_db.sessionmaker() as session:
        listed = await service.parked(session, subscriber="webhook")
    assert [(p.event_id, p.event_type, p.aggregate_key) for p in listed] == [
        (first.id, "test.probe", "probe:s000")
    ]

    # The operator fixes the endpoint and retries what was parked.
    broken = False
    async with probe_db.transaction() as session:
        assert await service.retry_parked(session, clock, subscriber="webhook") == 1
    clock.advance(timedelta(seconds=20))
    await dispatcher.drain()
    webhook_rows = [r.n for r in await recorded(probe_db) if r.subscriber == "webhook"]
    assert webhook_rows == [0, 1]
    states = {(d.subscriber, d.state) for d in await deliveries(probe_db)}
    assert states == {("analytics", "handled"), ("webhook", "handled")}


async def test_order_is_kept_per_aggregate_while_other_aggregates_proceed(
    probe_db: Database, clock: FrozenClock
) -> None:
    failures_left = {"s001": 2}

    async def ordered(session: AsyncSession, event: Probe) -> None:
        if event.n == 0 and failures_left.get(event.stream, 0) > 0:
            failures_left[event.stream] -= 1
            raise TimeoutError("slow downstream")
        await record(session, "ordered", event)

    subscribers = Subscriptions()
    subscribers.subscribe(Probe, ordered, name="ordered")
    await emit_probes(probe_db, clock, streams=4, per_stream=30, per_transaction=7)
    settings = OutboxSettings(batch=7, per_aggregate=4, backoff_base_seconds=1)
    dispatcher = OutboxDispatcher(probe_db, clock, subscribers, settings=settings)

    await dispatcher.drain()
    rows = await recorded(probe_db)
    assert {r.stream for r in rows} == {"s000", "s002", "s003"}, "s001 waits for its event 0"
    assert len(rows) == 90
    for _ in range(2):
        clock.advance(timedelta(seconds=2))
        await dispatcher.drain()
    rows = await recorded(probe_db)
    assert len(rows) == 120
    assert out_of_order(rows) == {}


async def test_a_dispatcher_that_lost_its_lease_records_nothing_another_one_handled(
    db: Database, clock: FrozenClock
) -> None:
    release_slow = asyncio.Event()
    calls: list[str] = []

    async def send_email(event: PresaveDone) -> None:
        calls.append("sent")
        if len(calls) == 1:
            await release_slow.wait()  # the first dispatcher stalls past its lease

    subscribers = Subscriptions()
    subscribers.subscribe_effect(PresaveDone, send_email, name="messaging.receipt")
    async with db.transaction() as session:
        await emit(session, presave_done(clock))
    settings = OutboxSettings(lease_seconds=30)
    slow = OutboxDispatcher(db, clock, subscribers, settings=settings, owner="slow")
    quick = OutboxDispatcher(db, clock, subscribers, settings=settings, owner="quick")

    stalled = asyncio.create_task(slow.run_once())
    while not calls:
        await asyncio.sleep(0.01)
    assert await quick.run_once() == 0, "the lease still holds"
    clock.advance(timedelta(seconds=31))
    assert await quick.run_once() == 1
    release_slow.set()
    assert await stalled == 0, "the stale holder must not record an outcome"

    [delivery] = await deliveries(db)
    assert delivery.state == DeliveryState.handled
    assert calls == ["sent", "sent"], "an outside effect is at-least-once: hence idempotency"
    assert (quick.handled, slow.handled) == (1, 0)


async def test_a_commit_wakes_a_running_dispatcher_of_the_same_process(
    db: Database, clock: FrozenClock
) -> None:
    delivered = asyncio.Event()

    async def handler(session: AsyncSession, event: PresaveDone) -> None:
        delivered.set()

    subscribers = Subscriptions()
    subscribers.subscribe(PresaveDone, handler, name="analytics.funnel")
    dispatcher = OutboxDispatcher(db, clock, subscribers, settings=OutboxSettings(poll_seconds=60))
    await dispatcher.start()
    try:
        await asyncio.sleep(0.2)  # idle now, for a minute
        async with db.transaction() as session:
            await emit(session, presave_done(clock))
        await asyncio.wait_for(delivered.wait(), timeout=5)
    finally:
        await dispatcher.stop()


async def test_notify_wakes_a_dispatcher_of_another_process_on_postgresql(
    db: Database, database_url: str, clock: FrozenClock
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite relies on the poll alone")
    delivered = asyncio.Event()

    async def handler(session: AsyncSession, event: PresaveDone) -> None:
        delivered.set()

    subscribers = Subscriptions()
    subscribers.subscribe(PresaveDone, handler, name="analytics.funnel")
    elsewhere = Database(database_url)  # its own engine: no in-process wake reaches it
    dispatcher = OutboxDispatcher(
        elsewhere, clock, subscribers, settings=OutboxSettings(poll_seconds=60)
    )
    await dispatcher.start()
    try:
        await asyncio.sleep(0.5)  # LISTEN connected, the first tick done
        async with db.transaction() as session:
            await emit(session, presave_done(clock))
        await asyncio.wait_for(delivered.wait(), timeout=5)
    finally:
        await dispatcher.stop()
        await elsewhere.dispose()


async def test_retention_deletes_handled_rows_and_keeps_parked_and_undelivered_ones(
    probe_db: Database, clock: FrozenClock
) -> None:
    async def always_fails(session: AsyncSession, event: Probe) -> None:
        raise RuntimeError("never works")

    subscribers = Subscriptions()
    subscribers.subscribe(Probe, recorder("analytics"), name="analytics")
    subscribers.subscribe(Probe, always_fails, name="broken")
    await emit_probes(probe_db, clock, streams=3, per_stream=2)
    settings = OutboxSettings(max_attempts=1, retention_days=1)
    dispatcher = OutboxDispatcher(probe_db, clock, subscribers, settings=settings)
    await dispatcher.drain()
    clock.advance(timedelta(days=2))
    late = await emit_probes(probe_db, clock, streams=1, per_stream=1)  # not fanned out yet

    assert await dispatcher.prune() == (6, 0)
    async with probe_db.sessionmaker() as session:
        status = await service.status(session)
    assert status.deliveries == {("broken", "parked"): 6}
    assert status.waiting_for_fan_out == 1
    # The parked deliveries keep their events; only events with nothing left go.
    assert len({d.event_id for d in await deliveries(probe_db)}) == 6
    await dispatcher.drain()
    assert {d.event_id for d in await deliveries(probe_db, subscriber="analytics")} == {late[0].id}


async def test_secrets_in_a_handler_error_are_masked_before_they_are_stored(
    db: Database, clock: FrozenClock
) -> None:
    async def leaky(event: PresaveDone) -> None:
        raise ValueError(
            "POST https://fan:hunter22@hooks.example/x?access_token=AQDw9secretvalue&x=1 "
            "failed; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"
        )

    subscribers = Subscriptions()
    subscribers.subscribe_effect(PresaveDone, leaky, name="webhook")
    async with db.transaction() as session:
        await emit(session, presave_done(clock))
    await OutboxDispatcher(db, clock, subscribers).drain()

    [delivery] = await deliveries(db)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("ValueError: POST https://***@hooks.example/x?")
    for secret in ("hunter22", "AQDw9secretvalue", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in delivery.last_error
    assert "access_token=***&x=1" in delivery.last_error


async def test_an_event_this_code_cannot_read_is_parked_with_a_clear_error(
    db: Database, clock: FrozenClock
) -> None:
    async def handler(event: PresaveDone) -> None:
        raise AssertionError("never called")

    subscribers = Subscriptions()
    subscribers.subscribe_effect(PresaveDone, handler, name="webhook")
    async with db.transaction() as session:
        await emit(session, presave_done(clock))
    # A dispatcher whose code does not know the type (an older deploy, a removed class).
    dispatcher = OutboxDispatcher(
        db,
        clock,
        subscribers,
        settings=OutboxSettings(max_attempts=1),
        registry=EventRegistry(),
    )
    await dispatcher.drain()
    [delivery] = await deliveries(db)
    assert delivery.state == DeliveryState.parked
    assert delivery.last_error == "UnknownEventType: no event class for type 'presave.done'"


async def test_subscribing_refuses_unknown_types_mixed_kinds_and_duplicates() -> None:
    subscribers = Subscriptions()

    async def handler(session: AsyncSession, event: PresaveDone) -> None:
        return None

    async def effect(event: PresaveDone) -> None:
        return None

    with pytest.raises(UnknownEventType, match=r"presave\.dun"):
        subscribers.subscribe("presave.dun", handler, name="typo")  # type: ignore[arg-type]
    subscribers.subscribe(PresaveDone, handler, name="analytics")
    with pytest.raises(ValueError, match="already handles"):
        subscribers.subscribe(PresaveDone, handler, name="analytics")
    with pytest.raises(ValueError, match="cannot mix"):
        subscribers.subscribe_effect(Probe, effect, name="analytics")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stable name"):
        subscribers.subscribe(PresaveDone, handler, name="")
    assert subscriptions is not subscribers


async def test_retrying_parked_deliveries_needs_a_subscriber_or_ids(db: Database) -> None:
    from launchlink.errors import ValidationFailed

    async with db.transaction() as session:
        with pytest.raises(ValidationFailed) as refused:
            await service.retry_parked(session, FrozenClock(T0))
    assert refused.value.field == "subscriber"
    async with db.sessionmaker() as session:
        with pytest.raises(ValidationFailed) as too_many:
            await service.parked(session, limit=5000)
    assert too_many.value.field == "limit"


async def test_a_subscriber_whose_dispatcher_is_down_gets_every_event_when_it_is_back(
    probe_db: Database, clock: FrozenClock
) -> None:
    analytics, webhooks = Subscriptions(), Subscriptions()
    analytics.subscribe(Probe, recorder("analytics"), name="analytics")
    webhooks.subscribe(Probe, recorder("webhook"), name="webhook")
    analytics_worker = OutboxDispatcher(probe_db, clock, analytics, owner="analytics-worker")
    webhook_worker = OutboxDispatcher(probe_db, clock, webhooks, owner="webhook-worker")
    await webhook_worker.drain()  # it ran once (registering its subscription), then went down

    await emit_probes(probe_db, clock, streams=2, per_stream=3)
    await analytics_worker.drain()  # fans out for every subscription, handles only its own
    assert {(r.subscriber, r.stream, r.n) for r in await recorded(probe_db)} == {
        ("analytics", f"s00{s}", n) for s in range(2) for n in range(3)
    }
    waiting = await deliveries(probe_db, subscriber="webhook")
    assert [d.state for d in waiting] == ["pending"] * 6

    assert await webhook_worker.drain() == 6
    rows = await recorded(probe_db)
    assert len([r for r in rows if r.subscriber == "webhook"]) == 6
    assert out_of_order(rows) == {}


async def test_a_dispatcher_never_claims_an_event_type_its_code_does_not_handle(
    db: Database, clock: FrozenClock
) -> None:
    got: list[str] = []

    async def new_code(event: Event) -> None:
        got.append(event.type)

    async def old_code(event: PresaveDone) -> None:
        got.append("old:" + event.type)

    # A rolling deploy: the new version of "webhook" also wants presave.failed.
    newer, older = Subscriptions(), Subscriptions()
    newer.subscribe_effect(PresaveDone, new_code, name="webhook")
    newer.subscribe_effect(PresaveFailed, new_code, name="webhook")
    older.subscribe_effect(PresaveDone, old_code, name="webhook")
    new_worker = OutboxDispatcher(db, clock, newer, owner="new")
    old_worker = OutboxDispatcher(db, clock, older, owner="old")
    await new_worker.drain()
    presave = uuid7()
    async with db.transaction() as session:
        await emit(session, presave_failed(clock, presave_id=presave))
        await emit(session, presave_done(clock, presave_id=presave))

    # The old code cannot take presave.failed, and the done that follows it must wait.
    assert await old_worker.drain() == 0
    assert got == []
    assert await new_worker.drain() == 2
    assert got == ["presave.failed", "presave.done"]


async def test_a_retired_subscriber_gets_no_more_deliveries(
    db: Database, clock: FrozenClock
) -> None:
    async def gone(event: PresaveDone) -> None:
        raise RuntimeError("this subscriber was removed from the code")

    async def ignore(event: LinkChanged) -> None:
        return None

    subscribers = Subscriptions()
    subscribers.subscribe_effect(PresaveDone, gone, name="legacy.crm")
    await OutboxDispatcher(db, clock, subscribers, settings=OutboxSettings(max_attempts=1)).drain()
    async with db.transaction() as session:
        await emit(session, presave_done(clock))
    others = Subscriptions()
    others.subscribe_effect(LinkChanged, ignore, name="links")
    await OutboxDispatcher(db, clock, others).drain()  # nobody runs legacy.crm any more
    async with db.sessionmaker() as session:
        assert (await service.status(session)).deliveries == {("legacy.crm", "pending"): 1}

    async with db.transaction() as session:
        assert await service.retire_subscriber(session, "legacy.crm") == (1, 1)
    async with db.transaction() as session:
        await emit(session, presave_done(clock))
    analytics = Subscriptions()
    analytics.subscribe_effect(PresaveDone, gone, name="analytics")
    await OutboxDispatcher(db, clock, analytics, settings=OutboxSettings(max_attempts=1)).drain()
    async with db.sessionmaker() as session:
        assert (await service.status(session)).deliveries == {("analytics", "parked"): 1}


async def test_emitters_about_one_aggregate_commit_in_the_order_they_emitted(
    probe_db: Database, clock: FrozenClock
) -> None:
    """Without this a smaller ``seq`` could commit after a larger one was delivered."""
    first_emitted, commit_first = asyncio.Event(), asyncio.Event()

    def probe(stream: str, n: int) -> Probe:
        return Probe(occurred_at=clock.now(), workspace_id=None, stream=stream, n=n)

    async def slow_writer() -> None:
        async with probe_db.transaction() as session:
            await emit(session, probe("s000", 0))
            first_emitted.set()
            await commit_first.wait()

    async def second_writer() -> None:
        async with probe_db.transaction() as session:
            await emit(session, probe("s000", 1))

    slow = asyncio.create_task(slow_writer())
    await first_emitted.wait()
    second = asyncio.create_task(second_writer())
    if probe_db.dialect == "postgresql":
        # Another aggregate is not held up (SQLite has one writer at a time anyway).
        async with probe_db.transaction() as session:
            await emit(session, probe("s001", 0))
    await asyncio.sleep(0.3)
    assert not second.done(), "the second emitter must wait for the first to commit"
    commit_first.set()
    await asyncio.gather(slow, second)

    subscribers = Subscriptions()
    subscribers.subscribe(Probe, recorder("ordered"), name="ordered")
    await OutboxDispatcher(probe_db, clock, subscribers).drain()
    rows = await recorded(probe_db)
    assert [r.n for r in rows if r.stream == "s000"] == [0, 1]
    assert out_of_order(rows) == {}


async def test_the_parked_list_of_one_workspace_shows_nothing_of_another(
    db: Database, clock: FrozenClock
) -> None:
    async def refuses(event: PresaveDone) -> None:
        raise RuntimeError("webhook endpoint gone")

    subscribers = Subscriptions()
    subscribers.subscribe_effect(PresaveDone, refuses, name="webhook")
    ours, theirs = presave_done(clock), presave_done(clock)
    async with db.transaction() as session:
        await emit(session, ours)
        await emit(session, theirs)
    await OutboxDispatcher(db, clock, subscribers, settings=OutboxSettings(max_attempts=1)).drain()

    async with db.sessionmaker() as session:
        mine = await service.parked(session, workspace_id=ours.workspace_id)
        nobody = await service.parked(session, workspace_id=uuid7())
    assert [p.event_id for p in mine] == [ours.id]
    assert nobody == []
