"""The release-day reminder loop: a thin task around :class:`ReminderSender`.

Run by ``launchlink serve`` (embedded) and by every ``launchlink worker``: claims are
conditional updates, so any number of loops can run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from launchlink.context import AppContext
from launchlink.messaging.service import BATCH, ReminderSender
from launchlink.messaging.subscribers import emails_for, links_for

logger = logging.getLogger(__name__)

ROUND_SECONDS = 30.0


class ReminderLoop:
    """Runs :meth:`ReminderSender.send_round` every ``interval`` seconds in the background."""

    def __init__(self, sender: ReminderSender, *, interval: float = ROUND_SECONDS) -> None:
        self.sender = sender
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reminders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while (await self.sender.send_round()).claimed == BATCH:
                    pass  # a full batch: there may be more due right now
            except Exception:
                logger.exception("sending reminders failed; retrying next round")
            await asyncio.sleep(self.interval)


def reminder_loop(context: AppContext, *, interval: float = ROUND_SECONDS) -> ReminderLoop:
    """The loop of a process, on its context's kit and mail (no web piece needed)."""
    sender = ReminderSender(
        database=context.database,
        emails=emails_for(context),
        mail=context.require_mail(),
        links=links_for(context),
    )
    return ReminderLoop(sender, interval=interval)
