"""Sending fans' emails: the answers to pre-save events, and release-day reminders.

:class:`Messenger` answers events (its handlers are outbox subscribers, see
``messaging/subscribers.py``): it reads what the email needs *at delivery* (an address
erased or a link deleted meanwhile gets nothing), builds it (``emails.py``) and hands it
to the mail port. Delivery is at least once, so every message carries the event id as its
idempotency key (a stable ``Message-ID``).

Release-day reminders (:class:`ReminderSender`) have their own durable queue, the
``reminder`` rows planned with each pre-save: at each fan's release instant a claim is a
conditional update (``pending`` → ``sent`` for one row), so two workers never send the same
reminder; the email goes out after that commit. A crash between the commit and the
hand-over loses that one email: at-most-once, which is the right side to err on for a
message the fan can only receive, not undo. SMS reminders wait for the messaging work;
they stay ``pending``.

No reminder row can block the queue:

* a message that cannot be built (its link is gone, a template or translation raises) is
  ``failed`` at once with the reason: trying again would fail the same way;
* a hand-over the mail server refused is retried with backoff (``retry_at``), at most
  :data:`MAX_ATTEMPTS` times, then ``failed`` with the last error;
* each reminder is handled on its own, so one failure never stops the rest of the batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy.exc import DBAPIError

from launchlink.db import Database
from launchlink.events import (
    ContactConfirmationRequested,
    Event,
    MagicLinkRequested,
    PresaveReceiptDue,
)
from launchlink.links.snapshot import LinkSnapshot, SnapshotSource
from launchlink.mail import MailSender, OutgoingEmail
from launchlink.mail.port import MailSendError
from launchlink.messaging.emails import Emails
from launchlink.models.presave import ContactPurpose
from launchlink.presave.repository import DueReminder, PresaveRepository

logger = logging.getLogger(__name__)

BATCH = 100
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


class Links:
    """A link's current snapshot by id, read fresh: links may move between domains."""

    def __init__(self, database: Database, source: SnapshotSource) -> None:
        self.database = database
        self.source = source

    async def snapshot(self, link_id: UUID) -> LinkSnapshot | None:
        """``None`` when the link is gone or no longer served."""
        async with self.database.sessionmaker() as session:
            found = await PresaveRepository(session).link_location(link_id)
        if found is None:
            return None
        host, slug = found
        return await self.source.load(host or None, slug)


class Messenger:
    """Answers pre-save events with the fan's email (handlers of ``subscribers.py``).

    A handler that finds nothing to send (the address was erased, confirmed already, the
    link deleted) returns quietly: the event is handled. One that fails raises, and the
    outbox retries it with backoff, then parks it with the error.
    """

    def __init__(
        self, *, database: Database, emails: Emails, mail: MailSender, links: Links
    ) -> None:
        self.database = database
        self.emails = emails
        self.mail = mail
        self.links = links

    async def contact_confirmation(self, event: ContactConfirmationRequested) -> None:
        async with self.database.sessionmaker() as session:
            contact = await PresaveRepository(session).pending_contact_by_id(
                _workspace(event), event.contact_id
            )
            if contact is None or contact.confirmed_at is not None:
                return
            to, purpose = contact.email, contact.purpose
        snapshot = await self.links.snapshot(event.link_id)
        if snapshot is None:
            return
        token = self.emails.kit.cipher.decrypt(event.sealed_token.encode("ascii"))
        await self.mail.send(
            self.emails.contact_confirmation(
                snapshot,
                to=to,
                token=token,
                reminder=purpose is ContactPurpose.reminder,
                language=event.language,
                key=str(event.id),
            )
        )

    async def receipt(self, event: PresaveReceiptDue) -> None:
        async with self.database.sessionmaker() as session:
            repository = PresaveRepository(session)
            fan = await repository.fan(_workspace(event), event.fan_id)
            if fan is None or fan.email is None:
                return
            to = fan.email
            presaves = await repository.presaves_of_fan(event.fan_id, link_id=event.link_id)
        snapshot = await self.links.snapshot(event.link_id)
        if snapshot is None:
            return
        await self.mail.send(
            self.emails.receipt(
                snapshot,
                to=to,
                fan_id=event.fan_id,
                presaves=presaves,
                language=event.language,
                key=str(event.id),
            )
        )

    async def magic_link(self, event: MagicLinkRequested) -> None:
        async with self.database.sessionmaker() as session:
            magic = await PresaveRepository(session).magic_link_by_id(
                _workspace(event), event.magic_link_id
            )
            if magic is None or magic.email is None or magic.used_at is not None:
                return
            to = magic.email
        snapshot = await self.links.snapshot(event.link_id)
        if snapshot is None:
            return
        token = self.emails.kit.cipher.decrypt(event.sealed_token.encode("ascii"))
        await self.mail.send(
            self.emails.magic_link(
                snapshot, to=to, token=token, language=event.language, key=str(event.id)
            )
        )


def _workspace(event: Event) -> UUID:
    if event.workspace_id is None:  # every pre-save fact belongs to a workspace
        raise ValueError(f"{event.type} {event.id} names no workspace")
    return event.workspace_id


# -- release-day reminders -------------------------------------------------------------------


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
        self, *, database: Database, emails: Emails, mail: MailSender, links: Links
    ) -> None:
        self.database = database
        self.emails = emails
        self.mail = mail
        self.links = links

    async def send_due(self, *, limit: int = BATCH) -> int:
        """Send the email reminders that are due; returns how many were handed over."""
        return (await self.send_round(limit=limit)).sent

    async def send_round(self, *, limit: int = BATCH) -> ReminderRound:
        """Claim up to ``limit`` due reminders and settle each: sent, retrying or failed."""
        now = self.emails.clock.now()
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
            now = self.emails.clock.now()
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
                due.reminder_id, reason=reason, attempts=attempts, now=self.emails.clock.now()
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
        snapshot = await self.links.snapshot(due.link_id)
        if snapshot is None:
            raise MessageNotBuilt("the link of this reminder no longer exists or is not served")
        return self.emails.reminder(
            snapshot,
            to=due.email,
            fan_id=due.fan_id,
            service=due.service,
            language=due.language,
            key=f"reminder-{due.reminder_id}",
        )
