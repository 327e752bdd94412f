"""PostgreSQL LISTEN as a wake-up call: a dedicated connection that calls back on NOTIFY.

Used where a poller already guarantees progress (the link change feed, the outbox
dispatcher): a notification only makes it poll now instead of at its next tick, so a lost
connection costs latency, never data. It reconnects by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = 5.0


async def listen_forever(
    database_url: str, channel: str, on_notify: Callable[[], None], *, what: str
) -> None:
    """Call ``on_notify`` for every NOTIFY on ``channel`` until cancelled.

    ``on_notify`` is also called once each time LISTEN is (re)established, because
    notifications sent while the connection was down are gone.
    """
    conninfo = (
        make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    while True:
        try:
            connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            async with connection:
                await connection.execute(f"LISTEN {channel}")
                on_notify()
                async for _notification in connection.notifies():
                    on_notify()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning(
                "LISTEN for %s lost; polling continues, retrying in %.0f s",
                what,
                RECONNECT_SECONDS,
            )
            await asyncio.sleep(RECONNECT_SECONDS)
