"""The mail-sending port every email in launchlink goes through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One message to one recipient: a plain-text body, optionally an HTML alternative.

    ``headers`` are extra headers such as ``List-Unsubscribe``; ``tag`` says what kind of
    message this is (``magic_link``, ``presave_confirmation``...) for logs and outboxes.
    ``idempotency_key`` (e.g. the id of the event it answers) makes the ``Message-ID``
    stable, so a message handed over twice (at-least-once delivery) is one message to
    the mail systems that deduplicate by it.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tag: str = ""
    idempotency_key: str | None = None


class MailSendError(Exception):
    """The message could not be handed to the mail server; safe to retry later."""


class MessageRefused(ValueError):
    """The message cannot be built as given (a header value that would break the header
    block, an address with a line break...); retrying the same message will not help."""


class MailSender(Protocol):
    """Hands messages to a mail transport.

    ``send`` returns once the transport accepted the message, or raises
    :class:`MailSendError`. Implementations must never log message bodies (they carry
    sign-in and revoke links).
    """

    async def send(self, message: OutgoingEmail) -> None: ...
