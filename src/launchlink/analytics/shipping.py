"""The inbox payload: a web process's anonymised flush, compact, for a worker to enrich.

JSON (never pickle: a worker must not run what a database row says), zlib-compressed.
Requests repeat themselves, so the repeated parts are sent once per payload: each
distinct request *shape* (kind, method, query, user agent, referrer, accept, the prefetch
headers) and each (link, workspace) pair is a table entry, and an event is a short list
of indexes and its own few values. No address and no cookie are in it
(:meth:`launchlink.analytics.ingest.VisitIngest.anonymise` did those).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from launchlink.analytics.ingest import Anonymised

FORMAT = 1


class BadPayload(ValueError):
    """An inbox row that is not a payload this code wrote (it is set aside, not retried)."""


def encode(batch: Sequence[Anonymised]) -> bytes:
    shapes: dict[tuple[Any, ...], int] = {}
    pairs: dict[tuple[UUID, UUID], int] = {}
    events: list[list[Any]] = []
    for item in batch:
        kind, ts, link_id, workspace_id, service, phase, automatic, reason = item[:8]
        shape_key = (kind, *item[8:15])
        shape = shapes.get(shape_key)
        if shape is None:
            shape = shapes[shape_key] = len(shapes)
        pair_key = (link_id, workspace_id)
        pair = pairs.get(pair_key)
        if pair is None:
            pair = pairs[pair_key] = len(pairs)
        events.append([shape, pair, ts.timestamp(), service, phase, automatic, reason, *item[15:]])
    document = {
        "format": FORMAT,
        "shapes": list(shapes),
        "pairs": [[link.hex, workspace.hex] for link, workspace in pairs],
        "events": events,
    }
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 1)


def decode(payload: bytes) -> list[Anonymised]:
    try:
        document = json.loads(zlib.decompress(payload))
        if document.get("format") != FORMAT:
            raise BadPayload(f"unknown inbox format {document.get('format')!r}")
        shapes = [tuple(shape) for shape in document["shapes"]]
        pairs = [(UUID(link), UUID(workspace)) for link, workspace in document["pairs"]]
        out: list[Anonymised] = []
        for event in document["events"]:
            shape, pair, ts, service, phase, automatic, reason, browser, country, visitor = event
            kind, *rest = shapes[shape]
            link_id, workspace_id = pairs[pair]
            out.append(
                (kind, datetime.fromtimestamp(ts, UTC), link_id, workspace_id, service, phase,
                 bool(automatic), reason, *rest, browser, country, visitor)
            )  # fmt: skip
        return out
    except BadPayload:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, zlib.error) as error:
        raise BadPayload(f"unreadable inbox payload: {type(error).__name__}") from None
