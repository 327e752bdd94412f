"""A smart-link front with a capture buffer and a flusher on a real database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import httpx

from launchlink.analytics.capture import AnalyticsCapture
from launchlink.analytics.ingest import VisitIngest
from launchlink.analytics.repository import AnalyticsRepository
from launchlink.analytics.tasks import AnalyticsFlusher, InboxDrain
from launchlink.db import Database
from launchlink.kit.geo import CountryDetector, NullGeoResolver
from launchlink.web.security import Signer
from tests.links.test_public_support import BASE_URL, COUNTRY_HEADER, Harness, make_harness

SECRET = "analytics-tests-secret"


@dataclass
class Captured:
    harness: Harness
    capture: AnalyticsCapture
    flusher: AnalyticsFlusher

    def browser(self, *, ip: str, user_agent: str, **headers: str) -> httpx.AsyncClient:
        sent = {"user-agent": user_agent, "accept": "text/html,*/*"}
        sent.update({k.replace("_", "-"): v for k, v in headers.items()})
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.harness.app, client=(ip, 40000)),
            base_url=BASE_URL,
            headers=sent,
            follow_redirects=False,
        )


async def write_everything(setup: Captured) -> int:
    """Flush; when the flusher ships (a web process with workers), drain the inbox the
    way a worker does (its own ingest: no geo-IP database, no signer). Returns the
    events flushed."""
    flushed = await setup.flusher.flush()
    if setup.flusher.ship:
        ingest = VisitIngest(countries=None, own_hosts=["links.test"])
        await InboxDrain(setup.flusher.database, setup.harness.clock, ingest).drain()
    return flushed


def captured(
    db: Database, *snapshots: object, now: datetime | None = None, ship: bool = False
) -> Captured:
    harness = make_harness(*snapshots, **({"now": now} if now else {}))  # type: ignore[arg-type]
    capture = AnalyticsCapture()
    harness.app.capture = capture
    ingest = VisitIngest(
        countries=CountryDetector(NullGeoResolver(), trusted_header=COUNTRY_HEADER),
        signer=Signer(SECRET),
        own_hosts=["links.test"],
    )
    flusher = AnalyticsFlusher(capture, db, harness.clock, ingest, ship=ship)
    return Captured(harness, capture, flusher)


async def totals(
    db: Database, scope: UUID, *, start: datetime | None = None, end: datetime | None = None
) -> dict[str, dict[str, dict[str, int]]]:
    """metric → dimension → value → count, from the daily rollups."""
    start = start or datetime(2000, 1, 1, tzinfo=UTC)
    end = end or datetime(2100, 1, 1, tzinfo=UTC)
    async with db.transaction() as session:
        rows = await AnalyticsRepository(session).rollup_totals(scope, days=(start, end), hours=())
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for metric, dimension, value, count in rows:
        out[metric][dimension][value] = count
    return out
