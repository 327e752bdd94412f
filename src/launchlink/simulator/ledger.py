"""The ledger: one row per library write, so tests can assert exactly what each fan got.

Outcomes: ``added`` (the write changed the library), ``already`` (it was already
there), ``pending`` (an Apple pre-order add waiting for release), ``removed`` and
``absent`` for deletions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    seq: int
    at: datetime
    service: str
    app_id: str
    user_id: str
    action: str
    item: str
    outcome: str
    idempotency_key: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "service": self.service,
            "app_id": self.app_id,
            "user_id": self.user_id,
            "action": self.action,
            "item": self.item,
            "outcome": self.outcome,
            "idempotency_key": self.idempotency_key,
            "detail": self.detail,
        }


class Ledger:
    """Append-only list of :class:`LedgerEntry` with simple filters."""

    def __init__(self, before_read: Callable[[], None] | None = None) -> None:
        self.entries: list[LedgerEntry] = []
        # Lets the state settle time-driven writes (Apple pre-adds) before anyone reads.
        self._before_read = before_read

    def record(
        self,
        *,
        at: datetime,
        service: str,
        app_id: str,
        user_id: str,
        action: str,
        item: str,
        outcome: str,
        idempotency_key: str | None = None,
        detail: str | None = None,
    ) -> LedgerEntry:
        entry = LedgerEntry(
            seq=len(self.entries) + 1,
            at=at,
            service=service,
            app_id=app_id,
            user_id=user_id,
            action=action,
            item=item,
            outcome=outcome,
            idempotency_key=idempotency_key,
            detail=detail,
        )
        self.entries.append(entry)
        return entry

    def query(
        self,
        *,
        service: str | None = None,
        user: str | None = None,
        action: str | None = None,
        item: str | None = None,
        outcome: str | None = None,
    ) -> list[LedgerEntry]:
        if self._before_read is not None:
            self._before_read()
        return [
            e
            for e in self.entries
            if (service is None or e.service == service)
            and (user is None or e.user_id == user)
            and (action is None or e.action == action)
            and (item is None or e.item == item)
            and (outcome is None or e.outcome == outcome)
        ]

    def outcomes(self, **filters: str | None) -> Counter[str]:
        """How many writes ended in each outcome, e.g. ``{"added": 1, "already": 2}``."""
        return Counter(e.outcome for e in self.query(**filters))

    def clear(self) -> None:
        self.entries.clear()
