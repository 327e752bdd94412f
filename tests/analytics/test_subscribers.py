"""Fulfilment outcomes and messages sent reach the rollups through the outbox, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from launchlink.analytics import subscribers as analytics_subscribers
from launchlink.analytics.settings import AnalyticsSettings
from launchlink.bootstrap import Role, build_context, close_context
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.events import (
    MessageSent,
    PresaveDone,
    PresaveFailed,
    Subscriptions,
    emit_many,
)
from launchlink.kit.clock import FrozenClock
from launchlink.outbox.dispatcher import OutboxDispatcher
from tests.analytics._capture_support import totals

NOW = datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
WORKSPACE = uuid.uuid4()
LINK = uuid.uuid4()


def _outcome(kind: type[PresaveDone] | type[PresaveFailed], service: str, reason: str | None):  # type: ignore[no-untyped-def]
    return kind(
        occurred_at=NOW,
        workspace_id=WORKSPACE,
        presave_id=uuid.uuid4(),
        link_id=LINK,
        release_id=uuid.uuid4(),
        fan_id=uuid.uuid4(),
        service=service,
        reason=reason,
    )


async def test_fulfilment_outcomes_count_once_per_service_with_failure_reasons(
    db: Database,
) -> None:
    clock = FrozenClock(NOW)
    subscriptions = Subscriptions()
    analytics_subscribers.register(subscriptions)
    dispatcher = OutboxDispatcher(db, clock, subscriptions)
    await dispatcher.drain()  # registers the durable subscriptions before the events
    outcomes = [
        _outcome(PresaveDone, "spotify", None),
        _outcome(PresaveDone, "spotify", None),
        _outcome(PresaveDone, "deezer", None),
        _outcome(PresaveFailed, "spotify", "token_revoked"),
    ]
    message = MessageSent(
        occurred_at=NOW, workspace_id=WORKSPACE, message_id=uuid.uuid4(), fan_id=None,
        channel="email", kind="release_day",
    )  # fmt: skip
    async with db.transaction() as session:
        await emit_many(session, [*outcomes, message])
    assert await dispatcher.drain() == 5
    assert await dispatcher.drain() == 0  # delivered once: nothing counts twice

    link = await totals(db, LINK)
    assert link["fulfilled"]["service"] == {"spotify": 2, "deezer": 1}
    assert link["fulfilment_outcome"]["reason"] == {"spotify|token_revoked": 1}
    assert link["fulfilment_outcome"]["outcome"] == {
        "spotify|done": 2, "deezer|done": 1, "spotify|failed": 1,
    }  # fmt: skip
    workspace = await totals(db, WORKSPACE)
    assert workspace["message_sent"]["channel"] == {"email": 1}
    assert workspace["fulfilled"] == link["fulfilled"]


@pytest.mark.parametrize("role", ["web", "worker"])
@pytest.mark.parametrize("enabled", [True, False])
async def test_every_process_that_dispatches_the_outbox_registers_analytics_when_enabled(
    role: Role, enabled: bool, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}",
        var_dir=tmp_path / "var",
        environment="test",
        analytics=AnalyticsSettings(enabled=enabled),
    )
    context = build_context(settings, role=role)
    try:
        assert context.outbox is not None  # this process type dispatches the outbox
        names = {subscriber.name for subscriber in context.subscriptions.subscribers()}
    finally:
        await close_context(context)
    analytics = {
        analytics_subscribers.FULFILMENT_SUBSCRIBER,
        analytics_subscribers.MESSAGES_SUBSCRIBER,
    }
    assert (analytics <= names) is enabled
    assert analytics.isdisjoint(names) is not enabled
