"""Cursor pagination over time-ordered ids: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Generic, TypeVar
from uuid import UUID

from launchlink.errors import BadRequest

T = TypeVar("T")

_id_of = attrgetter("id")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(last_id: UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> UUID | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return UUID(bytes=raw)
    except (binascii.Error, ValueError):
        raise BadRequest("cursor is not one this API returned", field="cursor") from None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def page_from(rows: Sequence[T], *, limit: int, key: Callable[[T], UUID] = _id_of) -> Page[T]:
    """``rows`` were fetched with ``limit + 1`` in ``key`` order: the extra one says "more"."""
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(key(items[-1])) if has_more and items else None
    return Page(items=items, next_cursor=next_cursor)
