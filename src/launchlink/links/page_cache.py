"""Rendered smart-link pages, kept as bytes so a hit costs a dict lookup.

A page depends on the link (id + version), the language, the destination order, the phase
and a few per-visitor choices; everything that changes the bytes is in :class:`PageKey`.
A new link version makes a new key, so stale entries are never served: ``invalidate``
only frees their memory early (the lead's cross-process invalidation calls it).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from uuid import UUID

from launchlink.links.phase import Countdown, Phase


@dataclass(frozen=True, slots=True)
class PageVariant:
    """Everything about one visitor's request that changes the rendered page."""

    language: str
    services: tuple[str, ...]
    """Visible destinations, in the order this visitor sees them."""
    phase: Phase
    offer_always: str | None = None
    """Service for which to offer "always use" (the fan's remembered choice)."""
    always_service: str | None = None
    """The fan's current "always use" choice, shown with a way to forget it."""
    release_instant_utc: str | None = None
    """ISO instant of the visitor's release moment (pre-release phases only)."""
    zone_name: str | None = None
    """Time zone in which the release moment is shown (pre-release phases only)."""
    countdown: Countdown | None = None


@dataclass(frozen=True, slots=True)
class PageKey:
    link_id: UUID
    version: int
    variant: PageVariant


class PageCache:
    """A bounded LRU of rendered pages, safe to share between threads."""

    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._pages: OrderedDict[PageKey, bytes] = OrderedDict()
        self._keys_by_link: dict[UUID, set[PageKey]] = {}
        self._lock = Lock()

    def get(self, key: PageKey) -> bytes | None:
        # Lock-free read: a racing eviction can at worst make this a miss.
        page = self._pages.get(key)
        if page is not None:
            try:
                self._pages.move_to_end(key)
            except KeyError:
                return page
        return page

    def put(self, key: PageKey, page: bytes) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            self._keys_by_link.setdefault(key.link_id, set()).add(key)
            while len(self._pages) > self._max_entries:
                evicted, _ = self._pages.popitem(last=False)
                self._forget_key(evicted)

    def invalidate(self, link_id: UUID) -> None:
        """Drop every page of one link (after it changed)."""
        with self._lock:
            for key in self._keys_by_link.pop(link_id, set()):
                self._pages.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._keys_by_link.clear()

    def __len__(self) -> int:
        return len(self._pages)

    def _forget_key(self, key: PageKey) -> None:
        keys = self._keys_by_link.get(key.link_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_by_link[key.link_id]
