"""Builders shared by the public (hot path) tests: an in-memory snapshot source, the app
wired with real collaborators, browser and bot user agents. Holds no tests itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from launchlink.analytics.capture import AnalyticsCapture, Captured
from launchlink.i18n import Catalogues
from launchlink.kit.clock import FrozenClock
from launchlink.kit.geo import CountryDetector, NullGeoResolver
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.links.page_cache import PageCache
from launchlink.links.public import PublicLinkApp, PublicLinkConfig
from launchlink.links.snapshot import (
    DestinationView,
    LinkSnapshot,
    ReleaseTiming,
    ReleaseType,
    SnapshotSource,
    TrackView,
)

BASE_URL = "https://links.test"
COUNTRY_HEADER = "cf-ipcountry"

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
PREVIEW_BOTS: Mapping[str, str] = {
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "imessage": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 "
    "(KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 "
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "twitter": "Twitterbot/1.0",
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "whatsapp": "WhatsApp/2.23.20.0 A",
    "discord": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "telegram": "TelegramBot (like TwitterBot)",
    "linkedin": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "google": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

DEFAULT_SERVICES = ("spotify", "apple_music", "youtube_music", "deezer", "tidal", "bandcamp")
# Well after the default release: the smart link is live for everyone.
LIVE_NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
RELEASED = ReleaseTiming(
    mode="global",
    instant=datetime(2027, 1, 15, 0, 0, tzinfo=UTC),
    local_date=None,
    default_time_zone="America/New_York",
)


def destination_url(service: str, country: str | None = None) -> str:
    suffix = f"-{country.lower()}" if country else ""
    return f"https://{service.replace('_', '-')}.example/album/night-drive{suffix}"


def make_snapshot(
    *,
    slug: str = "night-drive",
    host: str | None = None,
    services: Iterable[str] = DEFAULT_SERVICES,
    country_overrides: Mapping[str, Mapping[str, str]] | None = None,
    timing: ReleaseTiming = RELEASED,
    release_type: ReleaseType = "album",
    title: str = "Night Drive",
    artists: tuple[str, ...] = ("Ada Lumen", "The Bytes"),
    version: int = 1,
    tracks: tuple[TrackView, ...] | None = None,
) -> LinkSnapshot:
    overrides = country_overrides or {}
    return LinkSnapshot(
        link_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{host}/{slug}"),
        workspace_id=uuid.uuid5(uuid.NAMESPACE_URL, "workspace"),
        version=version,
        host=host,
        slug=slug,
        canonical_url=f"https://{host}/{slug}" if host else f"{BASE_URL}/{slug}",
        release_title=title,
        release_type=release_type,
        artists=artists,
        artwork_url="/static/artwork/night-drive.jpg",
        upc="00602445790128",
        tracks=tracks
        if tracks is not None
        else (
            TrackView("Night Drive", "GBAYE2400001", 215_000),
            TrackView("Neon Rain", "GBAYE2400002", 3_725_400),
        ),
        timing=timing,
        destinations=tuple(
            DestinationView(
                service=service,
                url=destination_url(service),
                country_urls=dict(overrides.get(service, {})),
            )
            for service in services
        ),
    )


@dataclass
class InMemorySource:
    """A SnapshotSource over a dict: (host, slug) → snapshot; host None is the platform."""

    snapshots: dict[tuple[str | None, str | None], LinkSnapshot] = field(default_factory=dict)
    root_links: dict[str, LinkSnapshot] = field(default_factory=dict)
    loads: int = 0

    def add(self, snapshot: LinkSnapshot, *, domain_root: bool = False) -> None:
        self.snapshots[(snapshot.host, snapshot.slug)] = snapshot
        if domain_root and snapshot.host is not None:
            self.snapshots[(snapshot.host, None)] = snapshot

    async def load(self, host: str | None, slug: str | None) -> LinkSnapshot | None:
        self.loads += 1
        return self.snapshots.get((host, slug))


@dataclass
class Fallback:
    """Stands in for the FastAPI app behind the hot path; remembers what it was given."""

    paths: list[str] = field(default_factory=list)
    scope_types: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope_types.append(scope["type"])
        if scope["type"] != "http":
            return
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"api")]})
        await send({"type": "http.response.body", "body": b"from the fallback app"})


@dataclass(frozen=True)
class Click:
    """A ``service_click`` the redirect captured, read back from the analytics buffer with
    the header values and country the flusher derives from it."""

    link_id: uuid.UUID
    workspace_id: uuid.UUID
    service: str | None
    phase: str | None
    automatic: bool
    method: str
    instant: datetime
    user_agent: str | None
    referrer: str | None
    client_ip: str | None
    country: str | None


@dataclass
class Harness:
    app: PublicLinkApp
    source: InMemorySource
    cache: PageCache
    clock: FrozenClock
    fallback: Fallback
    capture: AnalyticsCapture
    countries: CountryDetector

    @property
    def captured_clicks(self) -> list[Click]:
        facts = self.capture.take()
        self.capture.give_back(facts)  # read, not consumed: the buffer stays as it was
        return [self._click(fact) for fact in facts if fact[0] == "service_click"]

    @property
    def clicks(self) -> list[Click]:
        """The clicks analytics counts: a HEAD is captured too, and dropped by the enricher
        as a probe (analytics/enrich.py)."""
        return [click for click in self.captured_clicks if click.method != "HEAD"]

    def _click(self, fact: Captured) -> Click:
        _kind, ts, link_id, workspace_id, service, phase, automatic, _reason, method = fact[:9]
        headers, client_ip = fact[10], fact[11]
        values = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers
        }
        return Click(
            link_id=link_id,
            workspace_id=workspace_id,
            service=service,
            phase=phase,
            automatic=automatic,
            method=method,
            instant=ts,
            user_agent=values.get("user-agent"),
            referrer=values.get("referer"),
            client_ip=client_ip,
            country=self.countries.country(headers, client_ip),
        )


_TERRITORIES = TerritoryTimeZones.load()
_CATALOGUES = Catalogues.load()


def make_harness(
    *snapshots: LinkSnapshot,
    now: datetime = LIVE_NOW,
    base_url: str = BASE_URL,
    source_override: SnapshotSource | None = None,
) -> Harness:
    source = InMemorySource()
    for snapshot in snapshots:
        source.add(snapshot)
    cache = PageCache(max_entries=256)
    clock = FrozenClock(now)
    fallback = Fallback()
    capture = AnalyticsCapture()
    countries = CountryDetector(NullGeoResolver(), trusted_header=COUNTRY_HEADER)
    app = PublicLinkApp(
        source=source_override or source,
        cache=cache,
        country_detector=countries,
        territories=_TERRITORIES,
        clock=clock,
        fallback=fallback,
        config=PublicLinkConfig(public_base_url=base_url),
        catalogues=_CATALOGUES,
        capture=capture,
    )
    return Harness(app, source, cache, clock, fallback, capture, countries)


def client(
    harness: Harness,
    *,
    user_agent: str = DESKTOP,
    country: str | None = None,
    base_url: str = BASE_URL,
    **headers: str,
) -> httpx.AsyncClient:
    sent = {"user-agent": user_agent, **{k.replace("_", "-"): v for k, v in headers.items()}}
    if country is not None:
        sent[COUNTRY_HEADER] = country
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=harness.app),
        base_url=base_url,
        headers=sent,
        follow_redirects=False,
    )


def release_day(local_date: date, *, mode: str = "local") -> ReleaseTiming:
    if mode == "local":
        return ReleaseTiming(
            mode="local", instant=None, local_date=local_date, default_time_zone="America/New_York"
        )
    return ReleaseTiming(
        mode="global",
        instant=datetime(local_date.year, local_date.month, local_date.day, tzinfo=UTC),
        local_date=None,
        default_time_zone="America/New_York",
    )
