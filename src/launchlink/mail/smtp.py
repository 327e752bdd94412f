"""The SMTP adapter of the mail port (aiosmtplib), and a logging stand-in for setups
without a mail server."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from launchlink.mail.port import MailSender, MailSendError, OutgoingEmail
from launchlink.mail.settings import MailSettings

logger = logging.getLogger(__name__)


def build_message(message: OutgoingEmail, *, from_address: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = from_address
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2].strip("> ") or None)
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


class SmtpMailSender:
    """Sends through one SMTP server; a connection per message (volumes here are small)."""

    def __init__(self, settings: MailSettings) -> None:
        if not settings.host:
            raise ValueError("SmtpMailSender needs a mail host")
        self.settings = settings

    async def send(self, message: OutgoingEmail) -> None:
        settings = self.settings
        email = build_message(message, from_address=settings.from_address)
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password.get_secret_value() if settings.password else None,
                use_tls=settings.security == "tls",
                start_tls=settings.security == "starttls",
                timeout=settings.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            # The server's reply names the failure; it never echoes our credentials.
            raise MailSendError(f"SMTP delivery failed: {type(error).__name__}") from error


class LoggingMailSender:
    """Used when no SMTP host is configured: says an email would have gone out."""

    async def send(self, message: OutgoingEmail) -> None:
        logger.info("no mail server configured; not sending %r email", message.tag or "an")


def mail_sender_from(settings: MailSettings) -> MailSender:
    return SmtpMailSender(settings) if settings.host else LoggingMailSender()
