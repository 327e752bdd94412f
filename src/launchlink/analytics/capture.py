"""Capture: the request appends one tuple to an in-memory buffer, nothing more.

Everything else — header parsing, geo-IP, the classifier, hashing, SQL — happens in the
flusher (:mod:`launchlink.analytics.tasks`), off the request path. The buffer is a plain
list swapped out whole by the flusher: appends and the swap run on the event loop's
thread, so no lock is needed. It is bounded (``max_buffered``): when the database is
down for long, the newest events are counted as dropped rather than growing memory
without end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal
from uuid import UUID

Kind = Literal[
    "page_view",
    "service_click",
    "presave_start",
    "presave_authorised",
    "presave_failed",
    "optin_email",
    "optin_sms",
    "fulfilment_outcome",
    "message_sent",
    "message_click",
    "qr_scan",
]
KINDS: Final[tuple[str, ...]] = (
    "page_view", "service_click", "presave_start", "presave_authorised", "presave_failed",
    "optin_email", "optin_sms", "fulfilment_outcome", "message_sent", "message_click", "qr_scan",
)  # fmt: skip
FUNNEL_KINDS: Final = frozenset(
    {"presave_start", "presave_authorised", "presave_failed", "optin_email", "optin_sms"}
)

RawHeaders = Sequence[tuple[bytes, bytes]]

# One captured request fact, in this order (a tuple: the cheapest thing to build).
# (kind, ts, link_id, workspace_id, service, phase, automatic, reason, method, query,
#  headers, client_ip)
Captured = tuple[
    str, datetime, UUID, UUID, str | None, str | None, bool, str | None, str, bytes,
    RawHeaders, str | None,
]  # fmt: skip

DEFAULT_MAX_BUFFERED = 200_000


class AnalyticsCapture:
    """The process's buffer of captured request facts."""

    def __init__(self, *, max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        self.max_buffered = max_buffered
        self._buffer: list[Captured] = []
        self._taken = 0  # events handed to the flusher and not given back
        self.dropped = 0

    def record(
        self,
        kind: Kind,
        ts: datetime,
        link_id: UUID,
        workspace_id: UUID,
        method: str,
        query: bytes,
        headers: RawHeaders,
        client_ip: str | None,
        service: str | None = None,
        phase: str | None = None,
        automatic: bool = False,
        reason: str | None = None,
    ) -> None:
        """Append one fact; never raises on a full buffer.

        The redirect pays for this call, so it does the least it can (bench/smartlink.py
        --capture): positional arguments (the public app passes them so: cheaper to bind
        than keywords), no counter (``captured`` is derived), the header list kept as the
        server built it — the flusher reads the few headers it needs.
        """
        buffer = self._buffer
        if len(buffer) < self.max_buffered:
            buffer.append(
                (kind, ts, link_id, workspace_id, service, phase, automatic, reason, method,
                 query, headers, client_ip)
            )  # fmt: skip
        else:
            self.dropped += 1

    @property
    def captured(self) -> int:
        """Events ever accepted into the buffer (flushed, dropped later, or still here)."""
        return self._taken + len(self._buffer)

    def record_request(
        self,
        kind: Kind,
        ts: datetime,
        link_id: UUID,
        workspace_id: UUID,
        scope: dict[str, Any] | Any,
        *,
        service: str | None = None,
        reason: str | None = None,
    ) -> None:
        """:meth:`record` from an ASGI scope (the pre-save pages' Starlette requests)."""
        client = scope.get("client")
        self.record(
            kind,
            ts,
            link_id,
            workspace_id,
            scope.get("method", "GET"),
            scope.get("query_string", b""),
            scope.get("headers") or (),
            client[0] if client else None,
            service=service,
            reason=reason,
        )

    def take(self) -> list[Captured]:
        """Everything buffered so far; the buffer starts again empty."""
        taken, self._buffer = self._buffer, []
        self._taken += len(taken)
        return taken

    def give_back(self, batch: list[Captured]) -> None:
        """Put a batch that could not be written in front of the buffer (bounded)."""
        room = max(0, self.max_buffered - len(self._buffer))
        kept = batch[:room]
        self.dropped += len(batch) - len(kept)
        self._taken -= len(kept)  # counted again by len() of the buffer
        self._buffer = kept + self._buffer

    def __len__(self) -> int:
        return len(self._buffer)
