"""The channels a message can go out on: one port (:class:`Channel`), one adapter each."""

from launchlink.messaging.channels.base import (
    Accepted,
    Channel,
    ChannelError,
    ChannelStatus,
    Envelope,
    PermanentFailure,
    SenderIdentity,
    TransientFailure,
)

__all__ = [
    "Accepted",
    "Channel",
    "ChannelError",
    "ChannelStatus",
    "Envelope",
    "PermanentFailure",
    "SenderIdentity",
    "TransientFailure",
]
