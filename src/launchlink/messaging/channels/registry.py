"""Which channels this instance can send on, built from the settings; off until configured.

:func:`statuses` is what the API shows (``GET /api/v1/messaging/channels``): each channel,
whether it can send, and when not, what the operator must set.
"""

from __future__ import annotations

from launchlink.config import Settings
from launchlink.kit.clock import Clock
from launchlink.mail.port import MailSender
from launchlink.messaging.channels.base import Channel, ChannelStatus
from launchlink.messaging.channels.devmail import DevOutboxChannel
from launchlink.messaging.channels.email import SmtpChannel
from launchlink.messaging.dkim import DkimKeyError, DkimSigner
from launchlink.messaging.sms.twilio import TwilioChannel
from launchlink.models.messaging import MessageChannel


def statuses(settings: Settings) -> list[ChannelStatus]:
    return [_email_status(settings), _sms_status(settings)]


DEV_OUTBOX = "dev-outbox"


def _email_status(settings: Settings) -> ChannelStatus:
    mail, messaging = settings.resolved_mail, settings.messaging
    if not mail.host and settings.dev_outbox_dir is not None:
        return ChannelStatus(
            "email",
            True,
            provider=DEV_OUTBOX,
            reason="development: messages are kept in the dev outbox (/_dev/mail); set "
            "LAUNCHLINK_SMTP_URL and a DKIM key to send them",
        )
    if not mail.host:
        return ChannelStatus(
            "email", False, reason="no SMTP server: set LAUNCHLINK_SMTP_URL (or MAIL__HOST)"
        )
    if not messaging.dkim_domain or messaging.dkim_key_file is None:
        return ChannelStatus(
            "email",
            False,
            provider="smtp",
            reason="no DKIM key: set LAUNCHLINK_MESSAGING__DKIM_DOMAIN and "
            "LAUNCHLINK_MESSAGING__DKIM_KEY_FILE (unsigned mail is junked, and "
            "List-Unsubscribe must be signed)",
        )
    try:
        _signer(settings)
    except DkimKeyError as error:
        return ChannelStatus("email", False, provider="smtp", reason=str(error))
    return ChannelStatus("email", True, provider="smtp")


def _sms_status(settings: Settings) -> ChannelStatus:
    messaging = settings.messaging
    if messaging.sms_provider == "off":
        return ChannelStatus(
            "sms", False, reason="no SMS provider: set LAUNCHLINK_MESSAGING__SMS_PROVIDER=twilio"
        )
    twilio = messaging.twilio
    missing = [
        name
        for name, value in (
            ("TWILIO__ACCOUNT_SID", twilio.account_sid),
            ("TWILIO__AUTH_TOKEN", twilio.auth_token),
        )
        if not value
    ]
    if not (twilio.from_number or twilio.messaging_service_sid):
        missing.append("TWILIO__FROM_NUMBER or TWILIO__MESSAGING_SERVICE_SID")
    if missing:
        return ChannelStatus(
            "sms",
            False,
            provider="twilio",
            reason="set " + ", ".join(f"LAUNCHLINK_MESSAGING__{m}" for m in missing),
        )
    return ChannelStatus("sms", True, provider="twilio")


def _signer(settings: Settings) -> DkimSigner:
    messaging = settings.messaging
    if not messaging.dkim_domain or messaging.dkim_key_file is None:
        raise DkimKeyError("no DKIM key is configured")
    return DkimSigner.from_file(
        domain=messaging.dkim_domain, selector=messaging.dkim_selector, path=messaging.dkim_key_file
    )


def channels_from(
    settings: Settings, *, mail: MailSender | None = None, clock: Clock | None = None
) -> dict[MessageChannel, Channel]:
    """The channels that can send (the others are absent); ``mail`` is the process's
    mail port, which development without SMTP sends through (the dev outbox)."""
    found = {status.channel: status for status in statuses(settings) if status.available}
    built: dict[MessageChannel, Channel] = {}
    email = found.get("email")
    if email is not None and email.provider == DEV_OUTBOX:
        if mail is not None:
            built[MessageChannel.email] = DevOutboxChannel(mail)
    elif email is not None:
        built[MessageChannel.email] = SmtpChannel(
            settings.resolved_mail,
            signer=_signer(settings),
            connections=settings.messaging.smtp_connections,
            clock=clock,
        )
    if "sms" in found:
        built[MessageChannel.sms] = TwilioChannel(settings.messaging.twilio)
    return built
