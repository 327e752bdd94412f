"""A delivery worker in its own process, to be SIGKILLed by ``test_sigkill.py``.

``python -m tests.messaging.worker_child --database-url URL --smtp-port PORT`` sends the
email outbox to the SMTP server on PORT until SIGTERM; SIGKILL is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from launchlink.db import Database
from launchlink.kit.clock import SystemClock
from launchlink.mail.settings import MailSettings
from launchlink.messaging.channels.email import SmtpChannel
from launchlink.models.messaging import MessageChannel
from tests.messaging.conftest import make_delivery

BATCH = 20
"""Messages claimed at once: what one SIGKILL can cut short."""


async def main(database_url: str, smtp_port: int, rate: float) -> None:
    database = Database(database_url, pool_size=2, max_overflow=2)
    clock = SystemClock()
    channel = SmtpChannel(
        MailSettings(host="127.0.0.1", port=smtp_port, security="none"),
        signer=None,
        connections=2,
        clock=clock,
    )
    delivery = make_delivery(
        database,
        clock,
        {MessageChannel.email: channel},
        batch=BATCH,
        lease_seconds=2,
        email_per_second=rate,
        smtp_connections=2,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await delivery.run(stop, idle_seconds=0.1)
    finally:
        await channel.close()
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=150.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.smtp_port, arguments.rate))
