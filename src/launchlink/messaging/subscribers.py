"""Which event gets which message: registered once per process by ``launchlink.bootstrap``.

Fans' emails (``Messenger``), the dashboard's account emails (``AccountMessenger``:
invitations, password resets) and the message planner. Two sorts:

* the emails are *effect* subscribers: they send outside any transaction; delivery is
  at least once, and each email carries its event's id as idempotency key;
* the **planner** subscribers are *session* handlers: they write ``message`` rows (the
  message outbox, sent by :mod:`launchlink.messaging.delivery`) in the transaction that
  marks the event handled, so each event plans its messages exactly once. A new pre-save
  (``presave.created``, "remind me" ones included) plans its release-day and countdown
  messages (and the SMS opt-in text); fulfilment's outcomes plan the receipt ("it's in
  your library" for done and partial, "we couldn't save it, tap to listen" for failed and
  needs re-auth); a cancelled pre-save cancels what was planned from it.

Not subscribed, on purpose: a release that moves re-plans its messages in the
transaction that moves it (``presave/replan.py``), so no message can go out at the old
instant between the commit and an event's delivery; ``link.changed`` needs nothing,
because a message reads its link's slug, title and artists when it is sent; a revoke
cancels the fan's messages in its own transaction (``presave.service.revoke``), applied
at once. ``fulfilment.completed`` counts a release × service, not a fan: receipts come
from each pre-save's own outcome event.

Subscriber names
are stable: they are the rows the outbox keeps delivery state under (renaming one is a
new subscriber; the old name must be retired, see ``outbox.service.retire_subscriber``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.context import AppContext
from launchlink.events import (
    ContactConfirmationRequested,
    InvitationIssued,
    MagicLinkRequested,
    PasswordResetRequested,
    PresaveCancelled,
    PresaveCreated,
    PresaveDone,
    PresaveFailed,
    PresaveNeedsReauth,
    PresaveOutcome,
    PresavePartial,
    PresaveReceiptDue,
    Subscriptions,
)
from launchlink.i18n import Catalogues
from launchlink.kit.clock import Clock
from launchlink.links.snapshots import DatabaseSnapshotSource
from launchlink.messaging import planner
from launchlink.messaging.accounts import AccountEmails, AccountMessenger
from launchlink.messaging.emails import Emails
from launchlink.messaging.service import Links, Messenger
from launchlink.presave.i18n import PresaveTranslations
from launchlink.presave.page import PresavePages
from launchlink.web.security import Signer

CONTACT_CONFIRMATION = "messaging.contact_confirmation"
RECEIPT = "messaging.presave_receipt"
MAGIC_LINK = "messaging.magic_link"
PLAN = "messaging.plan"
FULFILMENT_RECEIPT = "messaging.fulfilment_receipt"
CANCEL = "messaging.cancel"

SAVED_OUTCOMES: tuple[type[PresaveOutcome], ...] = (PresaveDone, PresavePartial)
UNSAVED_OUTCOMES: tuple[type[PresaveOutcome], ...] = (PresaveFailed, PresaveNeedsReauth)


class Planning:
    """The planner's session handlers, on the process's clock: "now" is when the event is
    handled (a countdown whose moment passed while the event waited is not planned)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def plan_presave(self, session: AsyncSession, event: PresaveCreated) -> None:
        await planner.plan_presave(session, event.presave_id, now=self.clock.now())

    async def plan_receipt(self, session: AsyncSession, event: PresaveOutcome) -> None:
        saved = isinstance(event, SAVED_OUTCOMES)
        await planner.plan_receipt(session, event.presave_id, saved=saved, now=self.clock.now())

    async def cancel_planned(self, session: AsyncSession, event: PresaveCancelled) -> None:
        await planner.cancel_presave_messages(
            session, [event.presave_id], now=self.clock.now(), reason="the pre-save was cancelled"
        )


INVITATION = "messaging.dashboard_invitation"
RESET = "messaging.dashboard_password_reset"


def emails_for(context: AppContext) -> Emails:
    return Emails(
        pages=PresavePages(PresaveTranslations(Catalogues.load())),
        kit=context.require_presave(),
        public_url=context.settings.public_url,
    )


def links_for(context: AppContext) -> Links:
    source = DatabaseSnapshotSource(context.database, public_base_url=context.settings.public_url)
    return Links(context.database, source)


def messenger_for(context: AppContext) -> Messenger:
    return Messenger(
        database=context.database,
        emails=emails_for(context),
        mail=context.require_mail(),
        links=links_for(context),
    )


def account_messenger_for(context: AppContext) -> AccountMessenger:
    kit = context.require_presave()
    return AccountMessenger(
        database=context.database,
        emails=AccountEmails(base_url=context.settings.public_url.rstrip("/")),
        mail=context.require_mail(),
        # The dashboard signs its links with the instance's secret key, as here.
        signer=Signer(context.settings.resolved_secret_key()),
        cipher=kit.cipher,
        clock=context.clock,
    )


def register(subscriptions: Subscriptions, context: AppContext) -> Messenger:
    """Subscribe the fans' emails and the message planner to the events that call for
    them."""
    accounts = account_messenger_for(context)
    subscriptions.subscribe_effect(InvitationIssued, accounts.invitation, name=INVITATION)
    subscriptions.subscribe_effect(PasswordResetRequested, accounts.password_reset, name=RESET)
    messenger = messenger_for(context)
    subscriptions.subscribe_effect(
        ContactConfirmationRequested, messenger.contact_confirmation, name=CONTACT_CONFIRMATION
    )
    subscriptions.subscribe_effect(PresaveReceiptDue, messenger.receipt, name=RECEIPT)
    subscriptions.subscribe_effect(MagicLinkRequested, messenger.magic_link, name=MAGIC_LINK)
    planning = Planning(context.clock)
    subscriptions.subscribe(PresaveCreated, planning.plan_presave, name=PLAN)
    for outcome in (*SAVED_OUTCOMES, *UNSAVED_OUTCOMES):
        subscriptions.subscribe(outcome, planning.plan_receipt, name=FULFILMENT_RECEIPT)
    subscriptions.subscribe(PresaveCancelled, planning.cancel_planned, name=CANCEL)
    return messenger
