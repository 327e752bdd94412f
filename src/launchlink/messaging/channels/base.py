"""The channel port: hand one rendered message to a provider, say what became of it.

A channel never decides *whether* to send (consent, quiet hours and pauses are the
delivery's, :mod:`launchlink.messaging.delivery`); it only sends and classifies the
answer: :class:`Accepted` (with the provider's id for the message, the key the delivery
ledger is reconciled by), :class:`TransientFailure` (retry later, with backoff) or
:class:`PermanentFailure` (recorded against the fan; never retried).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable
from uuid import UUID

BounceKind = Literal["hard", "soft", "blocked", "complaint", "other"]


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    """Who a workspace's messages come from: the From of email, the sender of SMS."""

    email_address: str
    email_name: str = ""
    reply_to: str | None = None
    sms_from: str | None = None
    """E.164 number or a messaging-service id; None: the instance's default."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One rendered message to one recipient."""

    message_id: UUID
    to: str
    text: str
    sender: SenderIdentity
    subject: str = ""
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    status_callback: str | None = None
    """SMS: where the provider reports delivery (signed by the provider)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    provider: str
    provider_message_id: str
    status: str = "sent"
    """``sent`` (handed over) — ``delivered`` only ever comes from a callback."""


class ChannelError(Exception):
    """Base of what :meth:`Channel.send` raises; the message never holds secrets."""


class TransientFailure(ChannelError):
    """Try again later (server busy, greylisting, a network failure, a 429).

    ``rate_limited``: the provider refused for our pace, not for this message (a 429):
    the message is not charged an attempt and waits ``retry_after`` only."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class PermanentFailure(ChannelError):
    """This message to this recipient will not go out; retrying repeats the refusal."""

    def __init__(self, message: str, *, code: str | None = None, bounce: BounceKind) -> None:
        super().__init__(message)
        self.code = code
        self.bounce = bounce


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """Whether a channel can send, and when not, what the operator must configure."""

    channel: str
    available: bool
    provider: str | None = None
    reason: str | None = None


class Channel(Protocol):
    """Sends messages of one kind (``email``, ``sms``) through one provider.

    ``send`` returns once the provider took the message, or raises a
    :class:`ChannelError`. It must be safe to call concurrently; implementations must
    never log message bodies (they carry signed links).
    """

    name: str
    provider: str

    async def send(self, envelope: Envelope) -> Accepted: ...

    async def close(self) -> None: ...


@runtime_checkable
class Reconciling(Protocol):
    """A channel whose provider can be asked what it accepted (Twilio's Messages list).

    After a crash, a message marked handed over but never settled is looked up there
    before anything is re-sent: found, it is settled with the provider's id; not found,
    it is sent. Raises :class:`TransientFailure` when the provider cannot be asked (the
    message then waits: it is never re-sent blind)."""

    async def accepted_since(self, envelope: Envelope, since: datetime) -> list[Accepted]:
        """The provider's messages that match ``envelope`` (recipient, sender, body)
        created at or after ``since``, newest first."""
        ...
