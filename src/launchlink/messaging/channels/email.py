"""Email over SMTP (aiosmtplib), DKIM-signed with the operator's key.

Connections are kept open and shared (``smtp_connections`` per worker): a new TLS
session per message would cost more than the message. The Message-ID is the message's
own id (``<uuid@domain>``), the same on every attempt, so a message handed over twice
(a worker killed between the server's "250" and our commit) is one message to any
receiver that de-duplicates, and the ledger finds it by that id.
"""

from __future__ import annotations

import asyncio
import contextlib
from email.utils import formataddr, parseaddr

import aiosmtplib

from launchlink.kit.clock import Clock, SystemClock
from launchlink.mail.port import MessageRefused, OutgoingEmail
from launchlink.mail.settings import MailSettings
from launchlink.mail.smtp import build_message
from launchlink.messaging.channels.base import (
    Accepted,
    Envelope,
    PermanentFailure,
    TransientFailure,
)
from launchlink.messaging.channels.status import classify
from launchlink.messaging.dkim import DkimSigner


def message_id_header(envelope: Envelope) -> str:
    domain = parseaddr(envelope.sender.email_address)[1].rpartition("@")[2] or "localhost"
    return f"<{envelope.message_id}@{domain}>"


class SmtpChannel:
    """The email channel: one SMTP server, a few kept-open connections."""

    name = "email"
    provider = "smtp"

    def __init__(
        self,
        settings: MailSettings,
        *,
        signer: DkimSigner | None,
        connections: int = 4,
        clock: Clock | None = None,
    ) -> None:
        if not settings.host:
            raise ValueError("SmtpChannel needs a mail host")
        self.settings = settings
        self.signer = signer
        self.clock = clock or SystemClock()
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(connections):
            self._idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        return aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            timeout=settings.timeout_seconds,
        )

    def render(self, envelope: Envelope) -> bytes:
        """The signed message as it goes on the wire; :class:`PermanentFailure` when it
        cannot be built (a header that would break the header block)."""
        sender = envelope.sender
        try:
            email = build_message(
                OutgoingEmail(
                    to=envelope.to,
                    subject=envelope.subject,
                    text=envelope.text,
                    html=envelope.html,
                    headers=envelope.headers,
                ),
                from_address=formataddr((sender.email_name, sender.email_address)),
                message_id=message_id_header(envelope),
                reply_to=sender.reply_to,
                date=self.clock.now(),
            )
        except MessageRefused as error:
            raise PermanentFailure(str(error), bounce="other") from None
        raw = email.as_bytes()
        return self.signer.sign(raw) if self.signer is not None else raw

    async def send(self, envelope: Envelope) -> Accepted:
        raw = self.render(envelope)
        client = await self._idle.get()
        healthy = True
        try:
            if not client.is_connected:
                await client.connect()
            await client.sendmail(envelope.sender.email_address, [envelope.to], raw)
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            raise _failure(refused.code, refused.message) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError) as error:
            healthy = False
            raise TransientFailure(f"SMTP connection failed: {type(error).__name__}") from None
        except aiosmtplib.SMTPResponseException as error:
            # After a refused transaction the connection is still usable; RSET clears it.
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.rset()
            raise _failure(error.code, error.message) from None
        except (aiosmtplib.SMTPException, TimeoutError) as error:
            healthy = False
            raise TransientFailure(f"SMTP delivery failed: {type(error).__name__}") from None
        finally:
            if not healthy:
                client.close()
                client = self._client()
            self._idle.put_nowait(client)
        return Accepted(provider=self.provider, provider_message_id=message_id_header(envelope))

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()


def _failure(code: int, text: str) -> TransientFailure | PermanentFailure:
    verdict = classify(code, text)
    # The server's text names the failure; it is cut short and never holds our secrets.
    summary = f"SMTP {code} {text[:200]}".strip()
    if verdict.permanent:
        return PermanentFailure(summary, code=verdict.code, bounce=verdict.bounce)
    return TransientFailure(summary)
