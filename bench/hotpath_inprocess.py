"""In-process cost of the fan-facing hot path, in µs per request (no server, no socket).

Calls ``PublicLinkApp`` directly with pre-built ASGI scopes and a no-op ``send``, so the
figure is the app's own work: routing, header parsing, snapshot lookup, user-agent
classification (cached), phase, ordering, page-cache lookup, response headers. The lead's
wrk benchmark measures the same app behind a real server.

    .venv/bin/python bench/hotpath_inprocess.py [--requests 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from launchlink.analytics import shipping
from launchlink.analytics.capture import AnalyticsCapture
from launchlink.analytics.ingest import BatchSalts, VisitIngest
from launchlink.kit.clock import FrozenClock
from launchlink.kit.geo import CountryDetector, NullGeoResolver
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.kit.useragent import warm_up
from launchlink.links.page_cache import PageCache
from launchlink.links.public import PublicLinkApp, PublicLinkConfig
from launchlink.links.snapshot import (
    DestinationView,
    LinkSnapshot,
    ReleaseTiming,
    TrackView,
)

SERVICES = ("spotify", "apple_music", "youtube_music", "amazon_music", "deezer", "tidal")
IPHONE = (
    b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    b"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SNAPSHOT = LinkSnapshot(
    link_id=uuid.uuid4(),
    workspace_id=uuid.uuid4(),
    version=1,
    host=None,
    slug="night-drive",
    canonical_url="https://links.example/night-drive",
    release_title="Night Drive",
    release_type="album",
    artists=("Ada Lumen",),
    artwork_url="https://cdn.example/night-drive.jpg",
    upc=None,
    tracks=(TrackView("Night Drive", "GBAYE2400001", 215_000),),
    timing=ReleaseTiming(
        mode="local",
        instant=None,
        local_date=datetime(2026, 1, 9, tzinfo=UTC).date(),
        default_time_zone="America/New_York",
    ),
    destinations=tuple(
        DestinationView(
            service,
            f"https://{service}.example/album/1",
            {"DE": f"https://{service}.example/de/album/1"} if service == "spotify" else {},
        )
        for service in SERVICES
    ),
)


class DictSource:
    def __init__(self, snapshot: LinkSnapshot) -> None:
        self._snapshots = {(None, snapshot.slug): snapshot}

    async def load(self, host: str | None, slug: str | None) -> LinkSnapshot | None:
        return self._snapshots.get((host, slug))


async def fallback(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("the benchmark never reaches the fallback")


def scope(path: str, *, query: bytes = b"", extra: tuple[tuple[bytes, bytes], ...] = ()) -> Any:
    return {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "query_string": query,
        "headers": [
            (b"host", b"links.example"),
            (b"user-agent", IPHONE),
            (b"accept-language", b"en-GB,en;q=0.9"),
            (b"accept", b"text/html"),
            (b"accept-encoding", b"gzip, br"),
            *extra,
        ],
        "client": ("203.0.113.9", 50123),
    }


async def receive() -> Any:
    return {"type": "http.request", "body": b""}


async def send(message: Any) -> None:
    return None


async def measure(app: PublicLinkApp, request: Any, count: int) -> float:
    for _ in range(min(count, 2000)):  # warm caches (page, UA, language)
        await app(request, receive, send)
    rounds = []
    per_round = max(count // 5, 1)
    for _ in range(5):
        started = time.perf_counter_ns()
        for _ in range(per_round):
            await app(request, receive, send)
        rounds.append((time.perf_counter_ns() - started) / per_round / 1000)
    return statistics.median(rounds)


def build() -> PublicLinkApp:
    return PublicLinkApp(
        source=DictSource(SNAPSHOT),
        cache=PageCache(),
        country_detector=CountryDetector(NullGeoResolver(), trusted_header="cf-ipcountry"),
        territories=TerritoryTimeZones.load(),
        clock=FrozenClock(datetime(2026, 6, 1, tzinfo=UTC)),
        fallback=fallback,
        config=PublicLinkConfig(public_base_url="https://links.example"),
    )


async def main(count: int) -> None:
    warm_up()
    plain = build()
    analysed = build()
    analysed.capture = AnalyticsCapture(max_buffered=10**8)
    remembered = ((b"cookie", b"ll_last=tidal"),)
    always = ((b"cookie", b"ll_always=tidal"),)
    in_germany = ((b"cf-ipcountry", b"DE"),)
    cases = [
        ("page (cached)", plain, scope("/night-drive")),
        ("page, remembered service", plain, scope("/night-drive", extra=remembered)),
        ("redirect", plain, scope("/night-drive/deezer")),
        ("redirect + analytics capture", analysed, scope("/night-drive/deezer")),
        ("page + analytics capture", analysed, scope("/night-drive")),
        ("redirect, country override", plain, scope("/night-drive/spotify", extra=in_germany)),
        ("auto-redirect (always)", plain, scope("/night-drive", extra=always)),
        ("404", plain, scope("/no-such-link")),
    ]
    print(f"{'case':32} µs/request (median of 5 rounds, {count} requests)")
    for name, app, request in cases:
        print(f"{name:32} {await measure(app, request, count):8.2f}")
    # What a web process with workers then does per captured event, on its event loop
    # (analytics/tasks.py, ship mode): anonymise (country, visitor hash) and encode.
    assert analysed.capture is not None
    batch = analysed.capture.take()[:count]
    ingest = VisitIngest(
        countries=CountryDetector(NullGeoResolver(), trusted_header="cf-ipcountry")
    )
    now = datetime(2026, 6, 1, tzinfo=UTC)
    salts = BatchSalts({now.date(): "s" * 43}, now)
    started = time.perf_counter_ns()
    for start in range(0, len(batch), 1000):
        anonymised, _ = ingest.anonymise(batch[start : start + 1000], salts)
        shipping.encode(anonymised)
    per_event = (time.perf_counter_ns() - started) / max(1, len(batch)) / 1000
    print(f"{'web flush (anonymise + encode)':32} {per_event:8.2f}  per captured event")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().requests))
