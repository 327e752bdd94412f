"""Sending release-day email reminders once each fan's release instant has come.

A fan who chose "remind me" (or whose service fell back to reminders) gets one email at
their release instant, deep-linked to their service. Claiming is a conditional update
(``pending`` → ``sent`` for one row), so two workers never send the same reminder; the
email goes out after that commit. A crash between the commit and the hand-over loses that
one email: at-most-once, which is the right side to err on for a message the fan can only
receive, not undo. SMS reminders wait for the messaging work; they stay ``pending``.

No row can block the queue:

* a message that cannot be built (its link is gone, a template or translation raises) is
  ``failed`` at once with the reason: trying again would fail the same way;
* a hand-over the mail server refused is retried with backoff (``retry_at``), at most
  :data:`MAX_ATTEMPTS` times, then ``failed`` with the last error;
* each reminder is handled on its own, so one failure never stops the rest of the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy.exc import DBAPIError

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
MAX_ATTEMPTS = 8
"""Hand-overs before a reminder is given up (1, 2, 4 … 64 min apart: about two hours)."""
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)

# Failures of the infrastructure, not of this message: the same reminder may go out later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    MailSendError,
    OSError,
    TimeoutError,
    DBAPIError,
)


class MessageNotBuilt(Exception):
    """This reminder's message cannot be built; retrying would fail the same way."""


@dataclass(frozen=True)
class ReminderRound:
    """What one round did: claimed = sent + retrying + failed."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed hand-over (doubling, capped)."""
    delay: timedelta = RETRY_BASE * 2 ** max(0, attempts - 1)
    return min(RETRY_CAP, delay)


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
        return (await self.send_round(limit=limit)).sent

    async def send_round(self, *, limit: int = BATCH) -> ReminderRound:
        """Claim up to ``limit`` due reminders and settle each: sent, retrying or failed."""
        now = self.kit.clock.now()
        async with self.database.transaction(write_lock=True) as session:
            claimed = await PresaveRepository(session).claim_due_email_reminders(now, limit=limit)
        sent = retrying = failed = 0
        for due in claimed:
            outcome = await self._settle(due)
            sent += outcome == "sent"
            retrying += outcome == "retrying"
            failed += outcome == "failed"
        return ReminderRound(len(claimed), sent, retrying, failed)

    async def _settle(self, due: DueReminder) -> str:
        attempts = due.attempts + 1
        try:
            message = await self._message(due)
            await self.mail.send(message)
        except MessageNotBuilt as error:
            logger.warning("reminder %s cannot be built, failed: %s", due.reminder_id, error)
            await self._fail(due, f"the message cannot be built: {error}", attempts)
            return "failed"
        except TRANSIENT_ERRORS as error:  # a mail server outage must not lose the reminder
            reason = f"{type(error).__name__}: {error}"
            if attempts >= MAX_ATTEMPTS:
                logger.warning("reminder %s given up after %d tries", due.reminder_id, attempts)
                await self._fail(
                    due, f"gave up after {attempts} failed hand-overs: {reason}", attempts
                )
                return "failed"
            logger.warning("reminder %s not sent, retrying later: %s", due.reminder_id, reason)
            now = self.kit.clock.now()
            async with self.database.transaction(write_lock=True) as session:
                await PresaveRepository(session).retry_reminder(
                    due.reminder_id,
                    error=reason,
                    attempts=attempts,
                    retry_at=now + retry_delay(attempts),
                    now=now,
                )
            return "retrying"
        return "sent"

    async def _fail(self, due: DueReminder, reason: str, attempts: int) -> None:
        async with self.database.transaction(write_lock=True) as session:
            await PresaveRepository(session).fail_reminder(
                due.reminder_id, reason=reason, attempts=attempts, now=self.kit.clock.now()
            )

    async def _message(self, due: DueReminder) -> OutgoingEmail:
        try:
            return await self._build(due)
        except TRANSIENT_ERRORS:
            raise
        except MessageNotBuilt:
            raise
        except Exception as error:  # a template, a translation, a vanished link: this row only
            raise MessageNotBuilt(f"{type(error).__name__}: {error}") from error

    async def _build(self, due: DueReminder) -> OutgoingEmail:
        location = await self.links.locate(due.link_id)
        if location is None:
            raise MessageNotBuilt("the link of this reminder no longer exists")
        host, slug = location
        snapshot = await self.source.load(host, slug)
        if snapshot is None:
            raise MessageNotBuilt("the link of this reminder is no longer served")
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
        return OutgoingEmail(
            to=due.email,
            subject=_("%(title)s is out now") % {"title": snapshot.release_title},
            text=self.pages.render_text("presave/email_reminder.txt", due.language, context),
            headers=presave_service.unsubscribe_headers(
                self.kit, self.public_url, due.fan_id, due.link_id
            ),
            tag="release_reminder",
        )


class LinkLocator:
    """Where a link is served (host, slug), read fresh: links may move between domains."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def locate(self, link_id: UUID) -> tuple[str | None, str] | None:
        """``None`` when the link is gone."""
        async with self.database.sessionmaker() as session:
            found = await PresaveRepository(session).link_location(link_id)
        if found is None:
            return None
        host, slug = found
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
                while (await self.sender.send_round()).claimed == BATCH:
                    pass  # a full batch: there may be more due right now
            except Exception:
                logger.exception("sending reminders failed; retrying next round")
            await asyncio.sleep(self.interval)
