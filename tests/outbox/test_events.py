"""Typed events: every type in the catalogue survives the outbox unchanged, the envelope
rules hold (aware time, registered type), and the outbox tables match their migration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

import launchlink.models  # noqa: F401  (registers the tables)
from launchlink import events
from launchlink.db import Base, Database
from launchlink.events import (
    ANY,
    Event,
    FulfilmentCompleted,
    FulfilmentServicePaused,
    LinkChanged,
    MessageFailed,
    MessageQueued,
    MessageSent,
    PresaveCancelled,
    PresaveCreated,
    PresaveDone,
    PresaveFailed,
    PresaveNeedsReauth,
    PresavePartial,
    PresaveRevoked,
    ReleaseLive,
    ReleaseMoved,
    Subscriptions,
    UnknownEventType,
    emit_many,
)
from launchlink.kit.clock import FrozenClock
from launchlink.kit.ids import uuid7
from launchlink.outbox.dispatcher import OutboxDispatcher

T0 = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
WORKSPACE = uuid7()
PRESAVE = {
    "presave_id": uuid7(),
    "link_id": uuid7(),
    "release_id": uuid7(),
    "fan_id": uuid7(),
    "service": "deezer",
}
OUTCOME = PRESAVE | {"reason": "token revoked", "outcome": [{"kind": "save_release"}]}


def catalogue() -> list[Event]:
    common: dict[str, Any] = {"occurred_at": T0, "workspace_id": WORKSPACE}
    message = {"message_id": uuid7(), "fan_id": uuid7(), "channel": "email", "kind": "release"}
    return [
        PresaveCreated(**common, **PRESAVE, mode="direct_save", due_at=T0),
        PresaveDone(**common, **OUTCOME),
        PresavePartial(**common, **OUTCOME),
        PresaveNeedsReauth(**common, **OUTCOME),
        PresaveFailed(**common, **OUTCOME),
        PresaveCancelled(**common, **OUTCOME),
        PresaveRevoked(**common, **PRESAVE, reason="revoked from the fan's page"),
        ReleaseLive(**common, release_id=uuid7(), service="spotify", territory="FR"),
        ReleaseMoved(
            **common,
            release_id=uuid7(),
            release_mode="local_midnight",
            time_zone="Europe/Paris",
            release_date=date(2027, 1, 15),
            previous_release_date=date(2027, 1, 8),
        ),
        LinkChanged(**common, link_id=uuid7(), link_version=7),
        FulfilmentCompleted(
            **common, release_id=uuid7(), service="spotify", counts={"done": 9, "failed": 1}
        ),
        FulfilmentServicePaused(
            occurred_at=T0, workspace_id=None, service="youtube", reason="quota", until=T0
        ),
        MessageQueued(**common, **message),
        MessageSent(**common, **message),
        MessageFailed(**common, **message, reason="mailbox full"),
    ]


async def test_every_event_type_comes_back_from_the_outbox_as_it_went_in(db: Database) -> None:
    received: list[Event] = []

    async def audit(event: Event) -> None:
        received.append(event)

    subscribers = Subscriptions()
    subscribers.subscribe_effect(ANY, audit, name="audit")
    sent = catalogue()
    assert {type(event).type for event in sent} >= {
        "presave.created",
        "presave.done",
        "presave.partial",
        "presave.needs_reauth",
        "presave.failed",
        "presave.cancelled",
        "presave.revoked",
        "release.live",
        "release.moved",
        "link.changed",
        "fulfilment.completed",
        "fulfilment.service_paused",
        "message.queued",
        "message.sent",
        "message.failed",
    }
    async with db.transaction() as session:
        await emit_many(session, sent)
    await OutboxDispatcher(db, FrozenClock(T0), subscribers).drain()

    back, out = sorted(received, key=lambda e: e.id), sorted(sent, key=lambda e: e.id)
    assert back == out
    assert [type(event) for event in back] == [type(event) for event in out]


def test_an_event_knows_its_aggregate_and_keeps_the_envelope_out_of_its_payload() -> None:
    event = PresaveDone(occurred_at=T0, workspace_id=WORKSPACE, **OUTCOME)
    assert event.aggregate == ("presave", str(PRESAVE["presave_id"]))
    assert event.id.version == 7
    payload = event.payload()
    assert payload["presave_id"] == str(PRESAVE["presave_id"])
    assert {"id", "occurred_at", "workspace_id"}.isdisjoint(payload)


def test_naive_datetimes_are_refused_in_the_envelope_and_the_payload() -> None:
    naive = datetime(2026, 12, 4, 9, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive datetime refused"):
        LinkChanged(occurred_at=naive, workspace_id=None, link_id=uuid7())
    with pytest.raises(ValueError, match="naive datetime refused"):
        FulfilmentServicePaused(occurred_at=T0, workspace_id=None, service="x", until=naive)


def test_a_type_string_belongs_to_one_class() -> None:
    with pytest.raises(ValueError, match=r"'presave\.done' is already PresaveDone"):

        @dataclass(frozen=True, kw_only=True)
        class Impostor(Event):
            type = "presave.done"
            aggregate_type = "presave"
            aggregate_field = "presave_id"
            presave_id: str

    assert events.registry.get("presave.done") is PresaveDone
    with pytest.raises(UnknownEventType, match=r"presave\.dun"):
        events.registry.get("presave.dun")


def test_a_stored_version_this_code_does_not_know_is_refused() -> None:
    with pytest.raises(UnknownEventType, match="version 2"):
        events.registry.decode(
            event_type="link.changed",
            version=2,
            id=uuid7(),
            occurred_at=T0,
            workspace_id=None,
            payload={"link_id": str(uuid7())},
        )


def _diff(connection: Connection) -> list[Any]:
    outbox = MetaData()
    for name in ("outbox_event", "outbox_delivery"):
        Base.metadata.tables[name].to_metadata(outbox)
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        change
        for change in compare_metadata(context, outbox)
        if "outbox" in repr(change) and change[0] != "remove_table"
    ]


async def test_the_outbox_tables_match_their_migration(db: Database) -> None:
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
