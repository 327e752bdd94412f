"""The SMTP adapter of the mail port (aiosmtplib), and a logging stand-in for setups
without a mail server."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import aiosmtplib

from launchlink.kit.clock import utc_now
from launchlink.kit.text import one_line
from launchlink.mail.port import MailSender, MailSendError, MessageRefused, OutgoingEmail
from launchlink.mail.settings import MailSettings

logger = logging.getLogger(__name__)

_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322 field name: visible ASCII, no colon
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
WIRE_POLICY = SMTP.clone(max_line_length=998)
"""RFC 5322's hard limit rather than the 78-column habit: folded at 78, a long header
without spaces (``List-Unsubscribe: <https://…/token>``) is turned into RFC 2047 encoded
words, which mail clients do not decode in List-Unsubscribe (RFC 2369 wants the bare URL)."""
_FIXED_HEADERS = frozenset({"from", "to", "subject", "message-id", "cc", "bcc", "reply-to"})


def _header_value(name: str, value: str) -> str:
    # Data must never add a header or a recipient: refuse, do not repair, every value that
    # could end the header line (the subject alone is prose and is flattened instead).
    if _CONTROL.search(value):
        raise MessageRefused(f"the {name} header holds a control character")
    return value


def build_message(
    message: OutgoingEmail,
    *,
    from_address: str,
    message_id: str | None = None,
    reply_to: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The MIME message; :class:`MessageRefused` when a header value could break it.

    ``message_id`` (``<id@domain>``) makes the Message-ID stable across retries, so a
    message handed over twice is recognisably the same message."""
    email = EmailMessage(policy=WIRE_POLICY)
    email["From"] = _header_value("From", from_address)
    email["To"] = _header_value("To", message.to)
    if reply_to:
        email["Reply-To"] = _header_value("Reply-To", reply_to)
    email["Subject"] = one_line(message.subject)
    email["Date"] = format_datetime(date or utc_now())
    email["Message-ID"] = (
        _header_value("Message-ID", message_id)
        if message_id
        else make_msgid(domain=from_address.rpartition("@")[2].strip("> ") or None)
    )
    for name, value in message.headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _FIXED_HEADERS:
            raise MessageRefused(f"{name[:40]!r} cannot be set as an extra header")
        email[name] = _header_value(name, value)
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


def mail_sender_from(
    settings: MailSettings, *, outbox: Path | None = None, page_url: str | None = None
) -> MailSender:
    """SMTP when a host is set; else the development outbox when given, else a log line."""
    if settings.host:
        return SmtpMailSender(settings)
    if outbox is not None:
        from launchlink.mail.outbox import OutboxMailSender

        return OutboxMailSender(outbox, page_url=page_url)
    return LoggingMailSender()
