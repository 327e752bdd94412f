"""Web processes with workers ship anonymised flushes; a worker enriches and stores them."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from launchlink.analytics import shipping
from launchlink.analytics.ingest import Anonymised, VisitIngest
from launchlink.analytics.tasks import InboxDrain
from launchlink.db import Database
from launchlink.models.analytics import AnalyticsEvent, AnalyticsInbox
from tests.analytics._capture_support import captured, totals
from tests.links.test_public_support import ANDROID, IPHONE, make_snapshot

IPS = ("203.0.113.7", "2001:db8::17")


def _fact(**changes: object) -> Anonymised:
    fact: list[object] = [
        "page_view", datetime(2027, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), uuid4(), uuid4(),
        None, "live", False, None, "GET", "c=ig-story", IPHONE, "https://l.instagram.com/",
        "text/html", None, None, None, "GB", "ab" * 16,
    ]  # fmt: skip
    names = ("kind", "ts", "link_id", "workspace_id", "service", "phase", "automatic",
             "reason", "method", "query", "user_agent", "referrer", "accept", "sec_purpose",
             "purpose", "browser_hash", "country", "visitor_hash")  # fmt: skip
    for name, value in changes.items():
        fact[names.index(name)] = value
    return tuple(fact)  # type: ignore[return-value]


def test_a_payload_reads_back_as_the_facts_it_was_made_of() -> None:
    first = _fact()
    click = _fact(kind="service_click", service="spotify", automatic=True, link_id=first[2],
                  workspace_id=first[3], visitor_hash=None, country=None)  # fmt: skip
    other = _fact(user_agent=ANDROID, browser_hash="f" * 64, reason="x")
    batch = [first, click, first, other]
    assert shipping.decode(shipping.encode(batch)) == batch


def test_a_payload_an_older_web_process_wrote_still_reads_back() -> None:
    # Format 1: one list per event, zlib-compressed (rows left in the inbox by an upgrade).
    link, workspace = uuid4(), uuid4()
    document = {
        "format": 1,
        "shapes": [["page_view", "GET", "c=ig-story", IPHONE, None, "text/html", None, None]],
        "pairs": [[link.hex, workspace.hex]],
        "events": [[0, 0, datetime(2027, 3, 1, 12, tzinfo=UTC).timestamp(), None, "live",
                    False, None, None, "GB", "ab" * 16]],
    }  # fmt: skip
    payload = zlib.compress(json.dumps(document).encode())
    assert shipping.decode(payload) == [
        _fact(ts=datetime(2027, 3, 1, 12, tzinfo=UTC), link_id=link, workspace_id=workspace,
              referrer=None)
    ]  # fmt: skip


def _v2(**changes: object) -> bytes:
    document: dict[str, object] = {
        "format": 2, "shapes": [["page_view", "GET", None, IPHONE, None, None, None, None]],
        "pairs": [[uuid4().hex, uuid4().hex]],
        "tails": [[None, "live", False, None, None, "GB", None]],
        "shape": [0], "pair": [0], "tail": [0], "ts": "AAAAAAAA8D8=",  # one double: 1.0
    }  # fmt: skip
    document.update(changes)
    return json.dumps(document).encode()


def test_a_payload_of_this_format_reads_back_from_its_tables() -> None:
    (fact,) = shipping.decode(_v2())
    assert fact[:2] == ("page_view", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert fact[4:] == (None, "live", False, None, "GET", None, IPHONE, None, None, None, None,
                        None, "GB", None)  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [b"not zlib", zlib.compress(b"{"), b"{", zlib.compress(b'{"format": 99}'), b"[2]",
     zlib.compress(json.dumps({"format": 1, "shapes": [], "pairs": [],
                               "events": [[0, 0, 1.0, None, None, False, None, None, None,
                                           None]]}).encode()),
     _v2(shape=[1]), _v2(tail=[0, 0]), _v2(ts="AAAA"), _v2(ts="not base64!"),
     _v2(tails=[[None, "live"]]), _v2(shapes=["page_view"])],
    ids=["not-compressed", "not-json", "not-json-2", "unknown-format", "not-an-object",
         "v1-dangling-index", "dangling-index", "columns-differ", "times-cut", "times-garbled",
         "short-tail", "shape-not-a-list"],
)  # fmt: skip
def test_a_payload_this_code_did_not_write_is_refused_with_a_reason(payload: bytes) -> None:
    with pytest.raises(shipping.BadPayload):
        shipping.decode(payload)


async def _count(db: Database, model: type[AnalyticsEvent] | type[AnalyticsInbox]) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_shipped_flush_holds_no_address_or_cookie_and_counts_once_when_drained(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot, ship=True)
    for ip in IPS:
        async with setup.browser(ip=ip, user_agent=IPHONE, cookie="ll_session=secret-value") as fan:
            await fan.get("/night-drive?c=ig-story")
            await fan.get("/night-drive/spotify")
    async with setup.browser(ip=IPS[0], user_agent=ANDROID) as fan:
        await fan.get("/night-drive")
    assert await setup.flusher.flush() == 5
    assert await _count(db, AnalyticsEvent) == 0  # the web process wrote the inbox only
    async with db.transaction() as session:
        (payload,) = (await session.execute(select(AnalyticsInbox.payload))).scalars()
    text = payload  # not compressed (analytics/shipping.py): the search reads it as is
    for secret in (*IPS, "secret-value", "ll_session"):
        assert secret.encode() not in text
    assert IPHONE.encode() in text  # the search would have found text

    worker = InboxDrain(db, setup.harness.clock, VisitIngest(countries=None))
    assert await worker.drain() == 5
    assert await worker.drain() == 0  # the row went with the events: nothing twice
    assert await _count(db, AnalyticsInbox) == 0
    assert await _count(db, AnalyticsEvent) == 5
    link = await totals(db, snapshot.link_id)
    assert link["view"]["all"] == {"": 3}
    assert link["view"]["channel"] == {"ig-story": 2, "": 1}
    assert link["click"]["service"] == {"spotify": 2}
    assert link["visitor"]["bucket"]["all"] == 3  # two addresses, one of them on two phones


async def test_an_unreadable_inbox_row_is_set_aside_and_the_rest_still_counts(
    db: Database,
) -> None:
    snapshot = make_snapshot()
    setup = captured(db, snapshot, ship=True)
    async with db.transaction() as session:
        session.add(AnalyticsInbox(created_at=setup.harness.clock.now(), events=1, payload=b"?"))
    async with setup.browser(ip=IPS[0], user_agent=IPHONE) as fan:
        await fan.get("/night-drive")
    await setup.flusher.flush()
    worker = InboxDrain(db, setup.harness.clock, VisitIngest(countries=None))
    assert await worker.drain() == 1
    assert worker.bad_rows == 1
    assert await _count(db, AnalyticsInbox) == 0
    assert (await totals(db, snapshot.link_id))["view"]["all"] == {"": 1}
