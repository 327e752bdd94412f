"""Which event gets which message: registered once per process by ``launchlink.bootstrap``.

Fans' emails (``Messenger``) and the dashboard's account emails (``AccountMessenger``:
invitations, password resets).

All handlers are *effect* subscribers (they send outside any transaction): delivery is at
least once, and each message carries its event's id as idempotency key. Subscriber names
are stable: they are the rows the outbox keeps delivery state under (renaming one is a
new subscriber; the old name must be retired, see ``outbox.service.retire_subscriber``).
"""

from __future__ import annotations

from launchlink.context import AppContext
from launchlink.events import (
    ContactConfirmationRequested,
    InvitationIssued,
    MagicLinkRequested,
    PasswordResetRequested,
    PresaveReceiptDue,
    Subscriptions,
)
from launchlink.i18n import Catalogues
from launchlink.links.snapshots import DatabaseSnapshotSource
from launchlink.messaging.accounts import AccountEmails, AccountMessenger
from launchlink.messaging.emails import Emails
from launchlink.messaging.service import Links, Messenger
from launchlink.presave.i18n import PresaveTranslations
from launchlink.presave.page import PresavePages
from launchlink.web.security import Signer

CONTACT_CONFIRMATION = "messaging.contact_confirmation"
RECEIPT = "messaging.presave_receipt"
MAGIC_LINK = "messaging.magic_link"
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
    """Subscribe the emails to the events that call for them."""
    accounts = account_messenger_for(context)
    subscriptions.subscribe_effect(InvitationIssued, accounts.invitation, name=INVITATION)
    subscriptions.subscribe_effect(PasswordResetRequested, accounts.password_reset, name=RESET)
    messenger = messenger_for(context)
    subscriptions.subscribe_effect(
        ContactConfirmationRequested, messenger.contact_confirmation, name=CONTACT_CONFIRMATION
    )
    subscriptions.subscribe_effect(PresaveReceiptDue, messenger.receipt, name=RECEIPT)
    subscriptions.subscribe_effect(MagicLinkRequested, messenger.magic_link, name=MAGIC_LINK)
    return messenger
