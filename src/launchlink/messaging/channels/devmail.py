"""Email in development without SMTP: the messages go to the dev outbox (``/_dev/mail``).

Only ``LAUNCHLINK_ENVIRONMENT=development`` builds it (``registry.channels_from``), so the
demo shows its release-day messages; anywhere else an instance without SMTP and a DKIM
key has no email channel, and its messages wait, queued, until one is configured.
"""

from __future__ import annotations

from email.utils import parseaddr

from launchlink.mail.port import MailSender, MailSendError, MessageRefused, OutgoingEmail
from launchlink.messaging.channels.base import (
    Accepted,
    Envelope,
    PermanentFailure,
    TransientFailure,
)


class DevOutboxChannel:
    name = "email"
    provider = "dev-outbox"

    def __init__(self, mail: MailSender) -> None:
        self.mail = mail

    async def send(self, envelope: Envelope) -> Accepted:
        domain = parseaddr(envelope.sender.email_address)[1].rpartition("@")[2] or "localhost"
        try:
            await self.mail.send(
                OutgoingEmail(
                    to=envelope.to,
                    subject=envelope.subject,
                    text=envelope.text,
                    html=envelope.html,
                    headers=envelope.headers,
                    tag="message",
                    idempotency_key=str(envelope.message_id),
                )
            )
        except MessageRefused as error:
            raise PermanentFailure(str(error), bounce="other") from None
        except MailSendError as error:
            raise TransientFailure(str(error)) from None
        return Accepted(
            provider=self.provider, provider_message_id=f"<{envelope.message_id}@{domain}>"
        )

    async def close(self) -> None:
        return None
