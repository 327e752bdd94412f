"""Sending fans' pre-save emails: the answers to pre-save events.

:class:`Messenger` answers events (its handlers are outbox subscribers, see
``messaging/subscribers.py``): it reads what the email needs *at delivery* (an address
erased or a link deleted meanwhile gets nothing), builds it (``emails.py``) and hands it
to the mail port. Delivery is at least once, so every message carries the event id as its
idempotency key (a stable ``Message-ID``).

Release-day messages, countdowns and receipts are not these: they are planned into the
message outbox and sent by the delivery workers (``planner.py``, ``delivery.py``).
"""

from __future__ import annotations

import logging
from uuid import UUID

from launchlink.db import Database
from launchlink.events import (
    ContactConfirmationRequested,
    Event,
    MagicLinkRequested,
    PresaveReceiptDue,
)
from launchlink.links.snapshot import LinkSnapshot, SnapshotSource
from launchlink.mail import MailSender
from launchlink.messaging.emails import Emails
from launchlink.models.presave import ContactPurpose
from launchlink.presave.repository import PresaveRepository

logger = logging.getLogger(__name__)


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
