"""Unique visitors without storing who they are (Plausible's design).

A visitor is ``keyed_hash(daily_salt, workspace_id + ip + user_agent)``. The salt is
random, one per UTC day, and deleted 48 hours after its day began, so yesterday's hashes
can still be matched for a visit that spans midnight but nobody — us included — can later
recompute or reverse them. A date-derived salt would not do: anyone who knows the date
could rebuild every hash from a list of IP addresses.

The raw IP address is used only inside :func:`visitor_hash` and never returned, logged or
stored. The salts' storage is the caller's: :class:`InMemorySaltStore` is the reference
behaviour (one process); a database-backed store must keep the same rules.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from launchlink.kit.clock import Clock

SALT_LIFETIME = timedelta(hours=48)
_SEPARATOR = "\x1f"  # cannot occur in a header value, so fields cannot run into each other


def new_salt() -> str:
    """A fresh random salt (256 bits)."""
    return secrets.token_hex(32)


@lru_cache(maxsize=65_536)
def _normalised_ip(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


@lru_cache(maxsize=3)
def _keyed(salt: str) -> Any:
    # kit.crypto.keyed_hash's HMAC with the day's key already set up: copying it costs less
    # than keying a new one for every new visitor. Two salts are alive at a time; a third
    # evicts the oldest, so a deleted salt does not linger here beyond the next day's.
    keyed = hmac.new(salt.encode(), digestmod=hashlib.sha256)
    # The OpenSSL HMAC inside it when there is one: its copy/update/hexdigest are C calls,
    # the wrapper's are Python methods around them (a third of a new visitor's hash).
    return getattr(keyed, "_hmac", None) or keyed


@lru_cache(maxsize=4096)
def _workspace_text(workspace_id: UUID | str) -> str:
    return str(workspace_id)  # a UUID's str() cost more than the rest of the hash


def visitor_hash(salt: str, workspace_id: UUID | str, ip: str, user_agent: str | None) -> str:
    """The day's pseudonymous visitor id; the same visitor in another workspace differs.

    ``keyed_hash(salt, workspace + ip + agent)`` (kit.crypto), computed from a copy of the
    salt's keyed HMAC.
    """
    if not salt:
        raise ValueError("a visitor hash needs a salt")
    value = _SEPARATOR.join((_workspace_text(workspace_id), _normalised_ip(ip), user_agent or ""))
    digest = _keyed(salt).copy()
    digest.update(value.encode())
    return str(digest.hexdigest())[:32]


class SaltStore(Protocol):
    """Hands out the salt of a UTC day; deletes salts once :data:`SALT_LIFETIME` is over."""

    def salt_for(self, at: datetime) -> str | None:
        """The salt of ``at``'s UTC day, created on first use; None once it is deleted."""
        ...


class InMemorySaltStore:
    """Salts in this process's memory: for the embedded single process and for tests."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._salts: dict[date, str] = {}
        self._lock = threading.Lock()

    def salt_for(self, at: datetime) -> str | None:
        if at.tzinfo is None:
            raise ValueError("aware datetimes only")
        day = at.astimezone(UTC).date()
        with self._lock:
            self._forget_expired()
            if _expired(day, self._clock.now()):
                return None
            if day not in self._salts:
                self._salts[day] = new_salt()
            return self._salts[day]

    def days_held(self) -> list[date]:
        with self._lock:
            self._forget_expired()
            return sorted(self._salts)

    def _forget_expired(self) -> None:
        now = self._clock.now()
        for day in [day for day in self._salts if _expired(day, now)]:
            del self._salts[day]


def _expired(day: date, now: datetime) -> bool:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return now >= start + SALT_LIFETIME
