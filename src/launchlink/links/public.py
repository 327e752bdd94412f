"""The fan-facing hot path: smart-link pages and service redirects, in raw ASGI.

Kept off FastAPI on purpose (stack.md §0: a raw-ASGI redirect is 3-5x faster than a
FastAPI route). Routes, first match wins:

* reserved first segments (``/api``, ``/static``, ``/dashboard``, ...) and every
  non-HTTP scope go to ``fallback`` untouched;
* ``GET|HEAD /{slug}``: the page (or an auto-redirect for a fan who chose "always");
* ``GET|HEAD /{slug}/{service}``: 302 to that destination, for the visitor's country;
* on a custom domain, ``GET|HEAD /`` is the domain's root link;
* anything else: the friendly 404.

Only a link's own registered destinations can ever be a redirect target: the target is
looked up by service key in the snapshot, and nothing from the query string, headers or
cookies is copied into ``Location``. Every failure becomes a plain page without details.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

from launchlink.i18n import Catalogues
from launchlink.kit.clock import Clock
from launchlink.kit.useragent import VisitorAgent, classify
from launchlink.links.ordering import order_destinations
from launchlink.links.page import PageRenderer
from launchlink.links.page_cache import PageCache, PageKey, PageVariant
from launchlink.links.phase import (
    Countdown,
    Phase,
    ReleaseZones,
    chosen_zone_from_cookies,
    live_everywhere,
    phase_for,
    release_instant_for,
    visitor_zone_name,
)
from launchlink.links.preferences import (
    ALWAYS_SERVICE_COOKIE,
    LAST_SERVICE_COOKIE,
    CookiePolicy,
    ServicePreferences,
    read_preferences,
)
from launchlink.links.snapshot import DestinationView, LinkSnapshot, SnapshotSource
from launchlink.web.security import fan_page_csp

if TYPE_CHECKING:
    from launchlink.analytics.capture import AnalyticsCapture
    from launchlink.config import Settings

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_RESERVED_PREFIXES: frozenset[str] = frozenset(
    {
        "api",
        "static",
        "_sim",
        "_dev",
        "_internal",
        "_media",
        "presave",
        "oauth",
        "revoke",
        "dashboard",
        "healthz",
        "readyz",
        "metrics",
        "docs",
        "redoc",
        "openapi.json",
        "login",
        "logout",
        "favicon.ico",
        "robots.txt",
        "sitemap.xml",
        ".well-known",
    }
)

_SLUG = re.compile(r"[a-z0-9-]{1,64}")
_SERVICE = re.compile(r"[a-z0-9_-]{1,32}")
# A Location value must be one header line of visible ASCII; percent-encode the rest.
_LOCATION_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}')
_UA_CACHE_SIZE = 4096
_ORDER_CACHE_SIZE = 8192

_HTML = b"text/html; charset=utf-8"
_PAGE_CACHE_CONTROL = b"private, no-cache"
_NO_STORE = b"private, no-store"
_PAGE_VARY = b"Accept-Language, Cookie, User-Agent"
# No scripts at all: the page never needs one, and the CSP makes sure none ever runs.
_CSP = fan_page_csp(form_action="'none'").encode()
_COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)


class CountryLookup(Protocol):
    """``launchlink.kit.geo.CountryDetector``: the visitor's country, or None."""

    def country(
        self, headers: Sequence[tuple[bytes, bytes]], client_ip: str | None
    ) -> str | None: ...


class PresavePage(Protocol):
    """``launchlink.presave.front.PresaveFront``: serves the pre-save/announce page of a link
    with a campaign to a human visitor before their release; False hands back to us."""

    async def serve(
        self, visitor: Any, snapshot: LinkSnapshot, country: str | None, send: Send
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class PublicLinkConfig:
    """Settings the hot path needs; build it from ``Settings`` at start-up.

    ``platform_hosts``: hosts that serve the platform's own links (the host of
    ``public_base_url`` is always one). Any other host is looked up as a custom domain.
    """

    public_base_url: str
    platform_hosts: frozenset[str] = frozenset()
    cookie_domain: str | None = None
    reserved_prefixes: frozenset[str] = DEFAULT_RESERVED_PREFIXES
    site_name: str = "launchlink"
    _hosts: frozenset[str] = field(init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> PublicLinkConfig:
        return cls(public_base_url=settings.public_url)

    def __post_init__(self) -> None:
        base_host = _normalise_host(urlsplit(self.public_base_url).netloc)
        hosts = {_normalise_host(host) for host in self.platform_hosts}
        object.__setattr__(self, "_hosts", frozenset({base_host, *hosts}))

    @property
    def default_host(self) -> str:
        return _normalise_host(urlsplit(self.public_base_url).netloc)

    @property
    def cookie_policy(self) -> CookiePolicy:
        return CookiePolicy(
            secure=self.public_base_url.startswith("https://"), domain=self.cookie_domain
        )

    def is_platform_host(self, host: str) -> bool:
        return not host or host in self._hosts


@dataclass(slots=True)
class _Request:
    """The few request facts the hot path uses, parsed in one pass over the headers."""

    method: str
    host: str
    query: bytes
    user_agent: str = ""
    accept_language: str | None = None
    cookie: str | None = None
    referrer: str | None = None
    client_ip: str | None = None
    raw_headers: Sequence[tuple[bytes, bytes]] = ()

    @property
    def is_head(self) -> bool:
        return self.method == "HEAD"

    def flag(self, name: bytes) -> bool:
        """``?name=1`` present; nothing else in the query is ever read."""
        return bool(self.query) and name + b"=1" in self.query.split(b"&")


class PublicLinkApp:
    """ASGI app serving fan pages and redirects from :class:`LinkSnapshot` objects."""

    def __init__(
        self,
        *,
        source: SnapshotSource,
        cache: PageCache,
        country_detector: CountryLookup | None,
        territories: ReleaseZones,
        clock: Clock,
        fallback: ASGIApp,
        config: PublicLinkConfig,
        catalogues: Catalogues | None = None,
        renderer: PageRenderer | None = None,
        classify_agent: Callable[[str], VisitorAgent] = classify,
        presave: PresavePage | None = None,
        capture: AnalyticsCapture | None = None,
    ) -> None:
        self._source = source
        self._cache = cache
        self._country_detector = country_detector
        self._territories = territories
        self._clock = clock
        self._fallback = fallback
        self._config = config
        self._cookies = config.cookie_policy
        self._renderer = renderer or PageRenderer(
            catalogues=catalogues or Catalogues.load(),
            public_base_url=config.public_base_url,
            site_name=config.site_name,
        )
        self._catalogues = self._renderer.catalogues
        self._presave = presave
        self.capture = capture
        self._classify = lru_cache(maxsize=_UA_CACHE_SIZE)(classify_agent)
        self._orders: dict[tuple[UUID, int, str | None, str], tuple[str, ...]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._fallback(scope, receive, send)
            return
        path: str = scope["path"]
        segments = path[1:].split("/", 2) if path != "/" else []
        if segments and segments[-1] == "" and len(segments) > 1:
            segments.pop()  # one trailing slash: /slug/ is /slug
        if segments and segments[0] in self._config.reserved_prefixes:
            await self._fallback(scope, receive, send)
            return
        request = _parse(scope)
        if not segments and self._config.is_platform_host(request.host):
            await self._fallback(scope, receive, send)  # the platform's own home page
            return
        try:
            await self._route(request, segments, send)
        except Exception:
            logger.exception("public link request failed (path %r)", path[:200])
            language = self._safe_language(request)
            body = self._renderer.message_page("error", language)
            await _respond(send, 500, _html_headers(body, _NO_STORE), body, request.is_head)

    async def _route(self, request: _Request, segments: list[str], send: Send) -> None:
        if request.method not in ("GET", "HEAD"):
            headers = [(b"allow", b"GET, HEAD"), (b"content-length", b"0")]
            await _respond(send, 405, headers, b"", request.is_head)
            return
        if len(segments) > 2 or not all(_SLUG.fullmatch(s) for s in segments[:1]):
            await self._not_found(request, send)
            return
        host = None if self._config.is_platform_host(request.host) else request.host
        slug = segments[0] if segments else None
        snapshot = await self._source.load(host, slug)
        if snapshot is None:
            await self._not_found(request, send)
            return
        if len(segments) == 2:
            await self._redirect(request, snapshot, segments[1], send)
        else:
            await self._page(request, snapshot, send)

    async def _page(self, request: _Request, snapshot: LinkSnapshot, send: Send) -> None:
        agent = self._classify(request.user_agent)
        is_bot = agent.is_bot or agent.is_preview_bot
        preferences = read_preferences(request.cookie)
        if request.flag(b"forget") and not is_bot:
            await self._forget(request, snapshot, send)
            return
        now = self._clock.now()
        phase, country, country_known, zone = self._when(request, snapshot, now)
        if self.capture is not None:
            self._capture("page_view", request, snapshot, now, phase)
        if (
            self._presave is not None
            and phase.is_before_release
            and snapshot.campaign is not None
            and not is_bot
            and await self._presave.serve(request, snapshot, country, send)
        ):
            return  # link-preview bots fall through: they get the card, not the form
        always = preferences.always_service
        if (
            always is not None
            and phase is Phase.LIVE
            and not is_bot
            and not request.flag(b"choose")
        ):
            destination = snapshot.destination(always)
            if destination is not None:
                if not country_known:
                    country = self._country_if_needed(request, destination)
                await self._send_to(
                    request, snapshot, destination, country, send, now, phase, automatic=True
                )
                return
        variant = self._variant(request, snapshot, agent, preferences, phase, country, now, zone)
        key = PageKey(snapshot.link_id, snapshot.version, variant)
        body = self._cache.get(key)
        if body is None:
            body = self._renderer.link_page(snapshot, variant)
            self._cache.put(key, body)
        headers = _html_headers(body, _PAGE_CACHE_CONTROL)
        headers.append((b"vary", _PAGE_VARY))
        headers.append((b"content-language", variant.language.encode("ascii")))
        await _respond(send, 200, headers, body, request.is_head)

    def _variant(
        self,
        request: _Request,
        snapshot: LinkSnapshot,
        agent: VisitorAgent,
        preferences: ServicePreferences,
        phase: Phase,
        country: str | None,
        now: datetime,
        zone: ZoneInfo | None = None,
    ) -> PageVariant:
        language = self._catalogues.negotiate(request.accept_language, snapshot.base_language)
        is_bot = agent.is_bot or agent.is_preview_bot
        if phase.is_before_release:
            instant = release_instant_for(snapshot.timing, country, self._territories, zone)
            return PageVariant(
                language=language,
                services=(),
                phase=phase,
                always_service=None if is_bot else preferences.always_service,
                release_instant_utc=instant.isoformat(),
                zone_name=visitor_zone_name(snapshot.timing, country, self._territories, zone),
                countdown=Countdown.between(now, instant),
            )
        if is_bot:
            # Crawlers get the card in the configured order, free of anyone's choices.
            services = tuple(d.service for d in snapshot.destinations)
            return PageVariant(language=language, services=services, phase=phase)
        remembered = preferences.last_service
        services = self._ordered_services(snapshot, remembered, agent.device)
        has_remembered = remembered is not None and snapshot.destination(remembered) is not None
        always = preferences.always_service
        return PageVariant(
            language=language,
            services=services,
            phase=phase,
            offer_always=remembered if has_remembered and always != remembered else None,
            always_service=always,
        )

    def _ordered_services(
        self, snapshot: LinkSnapshot, remembered: str | None, device: str
    ) -> tuple[str, ...]:
        key = (snapshot.link_id, snapshot.version, remembered, device)
        services = self._orders.get(key)
        if services is None:
            ordered = order_destinations(
                snapshot.destinations, remembered_service=remembered, device=device
            )
            services = tuple(destination.service for destination in ordered)
            if len(self._orders) >= _ORDER_CACHE_SIZE:
                self._orders.clear()  # rare, and cheaper than keeping an LRU
            self._orders[key] = services
        return services

    async def _redirect(
        self, request: _Request, snapshot: LinkSnapshot, service: str, send: Send
    ) -> None:
        destination = snapshot.destination(service) if _SERVICE.fullmatch(service) else None
        if destination is None:
            await self._not_found(request, send)
            return
        agent = self._classify(request.user_agent)
        if agent.is_bot or agent.is_preview_bot:
            await self._page(request, snapshot, send)
            return
        now = self._clock.now()
        phase, country, country_known, _zone = self._when(request, snapshot, now)
        if not country_known:
            country = self._country_if_needed(request, destination)
        await self._send_to(
            request,
            snapshot,
            destination,
            country,
            send,
            now,
            phase,
            automatic=False,
            always=request.flag(b"always"),
        )

    def _when(
        self, request: _Request, snapshot: LinkSnapshot, now: datetime
    ) -> tuple[Phase, str | None, bool, ZoneInfo | None]:
        """The visitor's phase, and what finding it took: (phase, country, whether the
        country was looked up, the fan's chosen zone). A link live everywhere needs no geo
        lookup at all, which is most requests."""
        if live_everywhere(snapshot.timing, now):
            return Phase.LIVE, None, False, None
        country = self._country(request)
        zone = None
        if snapshot.timing.mode == "local":
            # The fan's chosen zone beats the country's (global mode: one instant).
            zone = chosen_zone_from_cookies(request.cookie)
        phase = phase_for(
            snapshot.timing, country=country, now=now, territories=self._territories, zone=zone
        )
        return phase, country, True, zone

    async def _send_to(
        self,
        request: _Request,
        snapshot: LinkSnapshot,
        destination: DestinationView,
        country: str | None,
        send: Send,
        now: datetime,
        phase: Phase,
        *,
        automatic: bool,
        always: bool = False,
    ) -> None:
        location = quote(destination.url_for(country), safe=_LOCATION_SAFE)
        headers = [
            (b"location", location.encode("ascii")),
            (b"cache-control", _NO_STORE),
            (b"content-length", b"0"),
            *_COMMON_HEADERS,
        ]
        if not request.is_head:
            headers.append(
                (b"set-cookie", self._cookies.remember(LAST_SERVICE_COOKIE, destination.service))
            )
            if always:
                headers.append(
                    (
                        b"set-cookie",
                        self._cookies.remember(ALWAYS_SERVICE_COOKIE, destination.service),
                    )
                )
        await _respond(send, 302, headers, b"", request.is_head)
        if self.capture is not None:
            self._capture(
                "service_click", request, snapshot, now, phase, destination.service, automatic
            )

    def _capture(
        self,
        kind: Any,
        request: _Request,
        snapshot: LinkSnapshot,
        now: datetime,
        phase: Phase,
        service: str | None = None,
        automatic: bool = False,
    ) -> None:
        # One append to the buffer; headers are read by the flusher (analytics/capture.py).
        # Positional, and the phase as it is: a StrEnum is already the str stored, while
        # ``.value`` is a Python-level descriptor (about a microsecond on the redirect).
        assert self.capture is not None
        self.capture.record(
            kind, now, snapshot.link_id, snapshot.workspace_id, request.method, request.query,
            request.raw_headers, request.client_ip, service, phase, automatic,
        )  # fmt: skip

    async def _forget(self, request: _Request, snapshot: LinkSnapshot, send: Send) -> None:
        headers = [
            (b"location", f"/{snapshot.slug}".encode("ascii")),
            (b"cache-control", _NO_STORE),
            (b"content-length", b"0"),
            *_COMMON_HEADERS,
        ]
        if not request.is_head:
            headers.append((b"set-cookie", self._cookies.forget(ALWAYS_SERVICE_COOKIE)))
        await _respond(send, 303, headers, b"", request.is_head)

    async def _not_found(self, request: _Request, send: Send) -> None:
        language = self._catalogues.negotiate(request.accept_language)
        body = self._renderer.message_page("not_found", language)
        await _respond(send, 404, _html_headers(body, _NO_STORE), body, request.is_head)

    def _country_if_needed(self, request: _Request, destination: DestinationView) -> str | None:
        # Geo lookups cost more than the rest of a redirect: only when the URL depends on it.
        return self._country(request) if destination.country_urls else None

    def _country(self, request: _Request) -> str | None:
        if self._country_detector is None:
            return None
        return self._country_detector.country(request.raw_headers, request.client_ip)

    def _safe_language(self, request: _Request) -> str:
        try:
            return self._catalogues.negotiate(request.accept_language)
        except Exception:
            return self._catalogues.default_language


def _parse(scope: Scope) -> _Request:
    raw_headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
    client = scope.get("client")
    request = _Request(
        method=scope.get("method", "GET"),
        host="",
        query=scope.get("query_string", b""),
        client_ip=client[0] if client else None,
        raw_headers=raw_headers,
    )
    for name, value in raw_headers:
        if name == b"host":
            request.host = _normalise_host(value.decode("latin-1"))
        elif name == b"user-agent":
            request.user_agent = value.decode("latin-1")
        elif name == b"accept-language":
            request.accept_language = value.decode("latin-1")
        elif name == b"cookie":
            # HTTP/2 may split cookies over several headers.
            cookie = value.decode("latin-1")
            request.cookie = f"{request.cookie}; {cookie}" if request.cookie else cookie
        elif name == b"referer":
            request.referrer = value.decode("latin-1")
    return request


def _normalise_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.partition("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".")


def _html_headers(body: bytes, cache_control: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", _HTML),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", cache_control),
        (b"content-security-policy", _CSP),
        *_COMMON_HEADERS,
    ]


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
