"""The inbox payload: a web process's anonymised flush, compact, for a worker to enrich.

JSON (never pickle: a worker must not run what a database row says). The web process
pays for the encoding on the event loop that serves the redirect, so it is built column
by column with C-level loops (``map``, ``dict.fromkeys``) rather than a Python loop per
event, and it is not compressed: zlib cost a third of a microsecond per event there, and
an inbox row lives only until a worker drains it (PostgreSQL compresses large values
itself). Requests repeat themselves, so each distinct request *shape* (kind, method,
query, user agent, referrer, accept, the prefetch headers), each (link, workspace) pair
and each distinct *tail* (service, phase, automatic, reason, browser, country, visitor)
is a table entry sent once; an event is three indexes and its time. No address and no
cookie are in it (:meth:`launchlink.analytics.ingest.VisitIngest.anonymise` did those).

Format 1 (one JSON list per event, zlib-compressed) is still read: rows an older web
process wrote stay in the inbox across an upgrade.
"""

from __future__ import annotations

import base64
import json
import sys
import zlib
from array import array
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

from launchlink.analytics.ingest import Anonymised

FORMAT = 2

_SHAPE = itemgetter(0, 8, 9, 10, 11, 12, 13, 14)
_TAIL = itemgetter(4, 5, 6, 7, 15, 16, 17)
_TS = itemgetter(1)
_LINK = itemgetter(2)
_WORKSPACE = itemgetter(3)
# Times travel as little-endian doubles (the POSIX timestamp format 1 wrote as text):
# formatting a float as JSON text cost more than half a microsecond per event.
_SWAP = sys.byteorder != "little"


class BadPayload(ValueError):
    """An inbox row that is not a payload this code wrote (it is set aside, not retried)."""


def _table(keys: list[Any]) -> tuple[list[Any], list[int]]:
    """The distinct keys in first-seen order, and each key's index among them."""
    distinct = dict.fromkeys(keys)
    index = {key: number for number, key in enumerate(distinct)}
    return list(distinct), list(map(index.__getitem__, keys))


def encode(batch: Sequence[Anonymised]) -> bytes:
    shapes, shape_of = _table(list(map(_SHAPE, batch)))
    tails, tail_of = _table(list(map(_TAIL, batch)))
    # A pair is keyed by its objects' identities, alive in the batch while this runs:
    # hashing a UUID is a Python-level call, two per event; the few distinct pairs are
    # then written by value (equal ids from other objects only repeat an entry).
    identities = list(zip(map(id, map(_LINK, batch)), map(id, map(_WORKSPACE, batch)), strict=True))
    pair_ids, pair_of = _table(identities)
    holder: dict[Hashable, Anonymised] = dict(zip(identities, batch, strict=True))
    times = array("d", map(datetime.timestamp, map(_TS, batch)))
    if _SWAP:
        times.byteswap()
    document = {
        "format": FORMAT,
        "shapes": shapes,
        "pairs": [[holder[key][2].hex, holder[key][3].hex] for key in pair_ids],
        "tails": tails,
        "shape": shape_of,
        "pair": pair_of,
        "tail": tail_of,
        "ts": base64.b64encode(times.tobytes()).decode("ascii"),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(payload: bytes) -> list[Anonymised]:
    try:
        document = json.loads(payload if payload[:1] == b"{" else zlib.decompress(payload))
        if not isinstance(document, dict):
            raise BadPayload("an inbox payload is a JSON object")
        version = document.get("format")
        if version == 1:
            return _decode_v1(document)
        if version != FORMAT:
            raise BadPayload(f"unknown inbox format {version!r}")
        return _decode_v2(document)
    except BadPayload:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, zlib.error) as error:
        raise BadPayload(f"unreadable inbox payload: {type(error).__name__}") from None


def _decode_v2(document: dict[str, Any]) -> list[Anonymised]:
    shapes = [_fields(shape, 8) for shape in document["shapes"]]
    tails = [_fields(tail, 7) for tail in document["tails"]]
    pairs = [(UUID(link), UUID(workspace)) for link, workspace in document["pairs"]]
    times = array("d")
    times.frombytes(base64.b64decode(document["ts"], validate=True))
    if _SWAP:
        times.byteswap()
    shape_of, pair_of, tail_of = document["shape"], document["pair"], document["tail"]
    if not len(shape_of) == len(pair_of) == len(tail_of) == len(times):
        raise BadPayload("inbox payload columns of different lengths")
    out: list[Anonymised] = []
    for shape_index, pair_index, tail_index, ts in zip(
        shape_of, pair_of, tail_of, times, strict=True
    ):
        kind, method, query, user_agent, referrer, accept, sec_purpose, purpose = shapes[
            shape_index
        ]
        service, phase, automatic, reason, browser, country, visitor = tails[tail_index]
        link_id, workspace_id = pairs[pair_index]
        out.append(
            (kind, datetime.fromtimestamp(ts, UTC), link_id, workspace_id, service, phase,
             bool(automatic), reason, method, query, user_agent, referrer, accept, sec_purpose,
             purpose, browser, country, visitor)
        )  # fmt: skip
    return out


def _fields(entry: Any, count: int) -> tuple[Any, ...]:
    if not isinstance(entry, list) or len(entry) != count:
        raise BadPayload("inbox payload table entry of the wrong size")
    return tuple(entry)


def _decode_v1(document: dict[str, Any]) -> list[Anonymised]:
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
