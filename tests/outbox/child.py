"""A dispatcher in its own process, to be SIGKILLed by ``test_sigkill.py``.

``python -m tests.outbox.child --database-url URL --effects FILE`` runs an
:class:`OutboxDispatcher` with one slow session subscriber, ``probe.recorder``: for each
event it appends the event id to FILE (an outside effect, made before the transaction
commits) and records it in ``outbox_probe`` in the handler's transaction. SIGTERM stops it
gracefully; SIGKILL is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database
from launchlink.events import Subscriptions
from launchlink.kit.clock import SystemClock
from launchlink.outbox.dispatcher import OutboxDispatcher
from launchlink.outbox.settings import OutboxSettings
from tests.outbox.probe import Probe, record

SUBSCRIBER = "probe.recorder"
BATCH = 30
"""Deliveries claimed at once: what one SIGKILL can cut short."""


async def main(database_url: str, effects: str, sleep_ms: float) -> None:
    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def recorder(session: AsyncSession, event: Probe) -> None:
        os.write(fd, f"{event.id}\n".encode())  # one write per line: a kill never halves it
        await asyncio.sleep(sleep_ms / 1000)
        await record(session, SUBSCRIBER, event, handled_by=os.getpid())

    subscriptions = Subscriptions()
    subscriptions.subscribe(Probe, recorder, name=SUBSCRIBER)
    database = Database(database_url, pool_size=3, max_overflow=2)
    dispatcher = OutboxDispatcher(
        database,
        SystemClock(),
        subscriptions,
        settings=OutboxSettings(lease_seconds=2, poll_seconds=0.1, batch=BATCH, per_aggregate=5),
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, dispatcher.request_stop)
    try:
        await dispatcher.run()
    finally:
        await database.dispose()
        os.close(fd)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--effects", required=True)
    parser.add_argument("--sleep-ms", type=float, default=2.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.effects, arguments.sleep_ms))
