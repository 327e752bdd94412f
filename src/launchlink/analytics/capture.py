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
        self.captured = 0
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
        *,
        service: str | None = None,
        phase: str | None = None,
        automatic: bool = False,
        reason: str | None = None,
    ) -> None:
        """Append one fact (about a microsecond); never raises on a full buffer."""
        buffer = self._buffer
        if len(buffer) >= self.max_buffered:
            self.dropped += 1
            return
        buffer.append(
            (kind, ts, link_id, workspace_id, service, phase, automatic, reason, method, query,
             headers, client_ip)
        )  # fmt: skip
        self.captured += 1

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
        return taken

    def give_back(self, batch: list[Captured]) -> None:
        """Put a batch that could not be written in front of the buffer (bounded)."""
        room = max(0, self.max_buffered - len(self._buffer))
        kept = batch[:room]
        self.dropped += len(batch) - len(kept)
        self._buffer = kept + self._buffer

    def __len__(self) -> int:
        return len(self._buffer)
