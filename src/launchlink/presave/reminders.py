"""Sending release-day email reminders once each fan's release instant has come.

A fan who chose "remind me" (or whose service fell back to reminders) gets one email at
their release instant, deep-linked to their service. Claiming is a conditional update
(``pending`` → ``sent`` for one row), so two workers never send the same reminder; the
email goes out after that commit, and a failed hand-over puts the row back to
``pending`` with the error, to be retried on the next round. A crash between the commit
and the hand-over loses that one email: at-most-once, which is the right side to err on
for a message the fan can only receive, not undo. SMS reminders wait for the messaging
work; they stay ``pending``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from launchlink.db import Database
from launchlink.links.snapshot import SnapshotSource
from launchlink.mail import MailSender, OutgoingEmail
from launchlink.mail.port import MailSendError
from launchlink.platforms import PLATFORMS
from launchlink.presave import service as presave_service
from launchlink.presave.page import PresavePages
from launchlink.presave.repository import DueReminder, PresaveRepository
from launchlink.presave.service import PresaveKit

logger = logging.getLogger(__name__)

BATCH = 100
ROUND_SECONDS = 30.0


class ReminderSender:
    def __init__(
        self,
        *,
        database: Database,
        kit: PresaveKit,
        pages: PresavePages,
        mail: MailSender,
        source: SnapshotSource,
        links: LinkLocator,
        public_url: str,
    ) -> None:
        self.database = database
        self.kit = kit
        self.pages = pages
        self.mail = mail
        self.source = source
        self.links = links
        self.public_url = public_url

    async def send_due(self, *, limit: int = BATCH) -> int:
        """Send the email reminders that are due; returns how many were handed over."""
        now = self.kit.clock.now()
        async with self.database.transaction(write_lock=True) as session:
            claimed = await PresaveRepository(session).claim_due_email_reminders(now, limit=limit)
        sent = 0
        for due in claimed:
            try:
                await self._send(due)
                sent += 1
            except Exception as error:  # a mail server outage must not lose the reminder
                logger.warning("reminder %s not sent, retrying later: %s", due.reminder_id, error)
                async with self.database.transaction() as session:
                    await PresaveRepository(session).release_reminder(
                        due.reminder_id, error=type(error).__name__
                    )
        return sent

    async def _send(self, due: DueReminder) -> None:
        host, slug = await self.links.locate(due.link_id)
        snapshot = await self.source.load(host, slug)
        if snapshot is None:
            raise MailSendError("the link of this reminder no longer exists")
        destination = snapshot.destination(due.service) if due.service else None
        listen = (
            f"{snapshot.canonical_url}/{due.service}" if destination else snapshot.canonical_url
        )
        platform = PLATFORMS.get(due.service) if due.service else None
        _ = self.pages.translations.get(due.language).gettext
        revoke = (
            f"{self.public_url}/revoke/"
            f"{presave_service.revoke_token(self.kit, due.fan_id, due.link_id)}"
        )
        context = self.pages.release_context(snapshot, due.language)
        context.update(
            service_name=platform.display_name if platform and destination else _("your service"),
            listen_link=listen,
            revoke_link=revoke,
        )
        await self.mail.send(
            OutgoingEmail(
                to=due.email,
                subject=_("%(title)s is out now") % {"title": snapshot.release_title},
                text=self.pages.render_text("presave/email_reminder.txt", due.language, context),
                headers=presave_service.unsubscribe_headers(
                    self.kit, self.public_url, due.fan_id, due.link_id
                ),
                tag="release_reminder",
            )
        )


class LinkLocator:
    """Where a link is served (host, slug), read fresh: links may move between domains."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def locate(self, link_id: UUID) -> tuple[str | None, str]:
        async with self.database.sessionmaker() as session:
            host, slug = await PresaveRepository(session).link_location(link_id)
        return (host or None), slug


class ReminderLoop:
    """Runs :meth:`ReminderSender.send_due` every ``interval`` seconds in the background."""

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
                while await self.sender.send_due() == BATCH:
                    pass  # a full batch: there may be more due right now
            except Exception:
                logger.exception("sending reminders failed; retrying next round")
            await asyncio.sleep(self.interval)
