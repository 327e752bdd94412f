"""A real SMTP server (aiosmtpd) for the messaging tests: it keeps every message as the
bytes received, and refuses the recipients it is told to with the reply it is told to."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Sink:
    port: int = 0
    raw: list[bytes] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """recipient → SMTP reply for its RCPT (``550 5.1.1 no such user``)."""

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(r, _class=EmailMessage, policy=default) for r in self.raw]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages()]


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        refusal = self.sink.refuse.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink.raw.append(bytes(envelope.original_content))
        return "250 2.0.0 accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
