"""``launchlink simulate-traffic``: a seeded, known mix of visitors against a running server.

It drives a smart link over real HTTP — people on many devices and in-app browsers, from
many sources and channel codes, some choosing "always use" and coming back (automatic
redirects), link-preview bots, crawlers, AI agents, monitors, prefetches and HEAD
requests — and writes the figures the analytics API must then report (the ground truth).

Countries come from a trusted country header and each person's address from
``X-Forwarded-For``: the server must trust the simulator as a proxy
(``LAUNCHLINK_TRUSTED_PROXIES=127.0.0.1``, ``LAUNCHLINK_TRUSTED_COUNTRY_HEADER``). The
expected labels of every user agent are part of the table below: the point of the run is
that the server's classifier agrees with them.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from launchlink.analytics.rollups import day_of, hour_of


@dataclass(frozen=True)
class Device:
    user_agent: str
    device: str
    os: str
    in_app: str | None = None


DEVICES: tuple[Device, ...] = (
    Device(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "mobile", "iOS",
    ),
    Device(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        "mobile", "Android",
    ),
    Device(
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "tablet", "iPadOS",
    ),
    Device(
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        "tablet", "Android",
    ),
    Device(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop", "Windows",
    ),
    Device(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Safari/605.1.15",
        "desktop", "macOS",
    ),
    Device(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "desktop", "Linux",
    ),
    Device(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Instagram 337.0.3.23.54 (iPhone15,2; iOS 17_5; en_GB; "
        "en-GB; scale=3.00; 1179x2556; 614234567)",
        "mobile", "iOS", "instagram",
    ),
    Device(
        "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 Instagram "
        "337.0.0.35.102 Android (33/13; 420dpi; 1080x2177; samsung; SM-G991B; o1s; exynos2100; "
        "en_GB; 614234567)",
        "mobile", "Android", "instagram",
    ),
    Device(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 musical_ly_34.1.0 JsSdk/2.0 NetType/WIFI Channel/App Store "
        "ByteLocale/en Region/US",
        "mobile", "iOS", "tiktok",
    ),
    Device(
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36 "
        "[FB_IAB/FB4A;FBAV/468.0.0.55.105;]",
        "mobile", "Android", "facebook",
    ),
    Device(
        "Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SQ3A.220705.003; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 "
        "Snapchat/13.3.0.45 (Pixel 6; Android 12; gzip)",
        "mobile", "Android", "snapchat",
    ),
    Device(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Line/14.8.0",
        "mobile", "iOS", "line",
    ),
    Device(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003129) NetType/WIFI Language/zh_CN",
        "mobile", "iOS", "wechat",
    ),
    Device(
        "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP1A.240505.005; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36 "
        "[Pinterest/Android]",
        "mobile", "Android", "pinterest",
    ),
    Device(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Twitter for iPhone/10.45",
        "mobile", "iOS", "twitter",
    ),
)  # fmt: skip

IN_APP_SOURCE = {"instagram": "instagram", "tiktok": "tiktok", "facebook": "facebook",
                 "twitter": "x"}  # fmt: skip

# (label the API must report, user agent)
ROBOTS: tuple[tuple[str, str], ...] = (
    ("preview", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
    ("preview", "Twitterbot/1.0"),
    ("preview", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
    ("preview", "WhatsApp/2.23.20.0 A"),
    ("preview", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"),
    ("preview", "TelegramBot (like TwitterBot)"),
    # Search engines get the card like link previews do: they count as previews.
    ("preview", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("bot", "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)"),
    ("bot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
    ("bot", "curl/8.5.0"),
    ("bot", "python-requests/2.32.3"),
    ("ai_agent", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
                 "+https://openai.com/gptbot)"),
    ("ai_agent", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
                 "+claudebot@anthropic.com)"),
    ("ai_agent", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; "
                 "PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)"),
    ("ai_agent", "Claude-User/1.0"),
    ("monitor", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"),
    ("monitor", "Datadog Agent/7.52.0"),
)  # fmt: skip

# (scenario, referrer, the source its host means, query parameters)
SOURCES: tuple[tuple[str, str | None, str | None, dict[str, str]], ...] = (
    ("ig-story", None, None, {"c": "ig-story"}),
    ("x", "https://t.co/Ab12Cd", "x", {}),
    ("facebook", "https://lm.facebook.com/l.php?u=x", "facebook", {}),
    ("youtube", "https://www.youtube.com/", "youtube", {"c": "yt-desc"}),
    ("google", "https://www.google.com/", "google", {}),
    ("email", None, None, {"c": "email-launch"}),
    ("sms", None, None, {"c": "sms-drop"}),
    ("qr", None, None, {"c": "qr-poster"}),
    ("utm", "https://news.example.org/post", "other",
     {"utm_source": "newsletter", "utm_medium": "email"}),
    ("direct", None, None, {}),
)  # fmt: skip
_HINTS = {"ig": "instagram", "yt": "youtube", "tt": "tiktok", "fb": "facebook", "x": "x",
          "email": "email", "newsletter": "email", "sms": "sms"}  # fmt: skip

COUNTRIES = ("US", "GB", "DE", "FR", "BR", "JP", "NG", "MX", "SE", "IN")


@dataclass
class Truth:
    """What the API must report for the run, built request by request."""

    views: int = 0
    visitor_days: set[tuple[int, str]] = field(default_factory=set)
    clicks: Counter[str] = field(default_factory=Counter)
    automatic_clicks: int = 0
    bot_views: Counter[str] = field(default_factory=Counter)
    breakdowns: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    click_breakdowns: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    source_service: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    qr_scans: int = 0
    message_clicks: Counter[str] = field(default_factory=Counter)
    hours: Counter[str] = field(default_factory=Counter)
    hour_clicks: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    straddled_hours: int = 0
    """Requests sent in one hour and answered in the next (counted in the later one)."""
    first: datetime | None = None
    last: datetime | None = None

    def seen(self, at: datetime) -> None:
        self.requests += 1
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)

    def to_json(self) -> dict[str, Any]:
        views = self.views
        clicks_total = sum(self.clicks.values())
        return {
            "views": views,
            "visitors": len(self.visitor_days),
            "clicks": dict(self.clicks),
            "clicks_total": clicks_total,
            "automatic_clicks": self.automatic_clicks,
            "click_through": round(clicks_total / views, 4) if views else None,
            "bot_views": dict(self.bot_views),
            "breakdowns": {k: dict(v) for k, v in self.breakdowns.items()},
            "click_breakdowns": {k: dict(v) for k, v in self.click_breakdowns.items()},
            "source_service": {k: dict(v) for k, v in self.source_service.items()},
            "qr_scans": self.qr_scans,
            "message_clicks": dict(self.message_clicks),
            "views_per_hour": dict(self.hours),
            "clicks_per_hour": dict(self.hour_clicks),
            "requests": self.requests,
            "straddled_hours": self.straddled_hours,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


def expected_source(device: Device, referrer_source: str | None, query: dict[str, str]) -> str:
    """The documented rule (docs/analytics.md): tags declaring e-mail or SMS, then the
    referrer's host, then the in-app browser, then the channel prefix or utm_source."""
    prefix = query.get("c", "").split("-", 1)[0]
    if query.get("utm_medium") == "email" or prefix == "email":
        return "email"
    if prefix == "sms":
        return "sms"
    if referrer_source is not None:
        return referrer_source
    if device.in_app in IN_APP_SOURCE:
        return IN_APP_SOURCE[device.in_app]
    return _HINTS.get(prefix) or _HINTS.get(query.get("utm_source", "")) or "direct"


_Person = tuple[int, Device, dict[str, str], str, str | None]


class Simulation:
    def __init__(
        self,
        base_url: str,
        slug: str,
        services: list[str],
        *,
        seed: int,
        people: int,
        robots: int,
        country_header: str,
        concurrency: int = 8,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.slug = slug
        self.services = services
        self.random = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
        self.people = people
        self.robots = robots
        self.country_header = country_header
        self.truth = Truth()
        self._slots = asyncio.Semaphore(concurrency)
        self.timeout = timeout

    async def run(self) -> Truth:
        plans = [self._person(number) for number in range(self.people)]
        plans += [self._robot(number) for number in range(self.robots)]
        self.random.shuffle(plans)
        await asyncio.gather(*plans)
        return self.truth

    def _client(self, user_agent: str, address: str, country: str | None) -> httpx.AsyncClient:
        headers = {"user-agent": user_agent, "x-forwarded-for": address}
        if country is not None:
            headers[self.country_header] = country
        return httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=self.timeout, follow_redirects=False
        )

    def _address(self, number: int) -> str:
        return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"

    async def _person(self, number: int) -> None:
        pick = self.random
        device = pick.choice(DEVICES)
        _scenario, referrer, referrer_source, query = pick.choice(SOURCES)
        source = expected_source(device, referrer_source, query)
        country = pick.choice((*COUNTRIES, None))
        views = pick.choice((1, 1, 1, 2, 3))
        service = pick.choice(self.services) if pick.random() < 0.6 else None
        always = service is not None and pick.random() < 0.2
        prefetch_first = pick.random() < 0.1
        head_probe = pick.random() < 0.05
        page = f"/{self.slug}" + (f"?{urlencode(query)}" if query else "")
        async with (
            self._slots,
            self._client(device.user_agent, self._address(number), country) as c,
        ):
            accept = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
            if prefetch_first:
                await self._get(c, page, {**accept, "sec-purpose": "prefetch"}, bot="prefetch")
            if head_probe:
                await self._request(c, "HEAD", page, accept, bot="prefetch")
            for _ in range(views):
                headers = dict(accept)
                if referrer is not None:
                    headers["referer"] = referrer
                await self._get(c, page, headers, human=(number, device, query, source, country))
            if service is not None:
                target = f"/{self.slug}/{service}" + ("?always=1" if always else "")
                headers = {**accept, "referer": f"{self.base_url}{page}"}
                at = await self._get(c, target, headers)
                self._count_click(device, query, country, service, at, automatic=False)
                if always:
                    # Back later: the "always" choice redirects straight away (302, not a page).
                    came_back: _Person = (
                        number, device, {}, expected_source(device, None, {}), country,
                    )  # fmt: skip
                    at = await self._get(c, f"/{self.slug}", accept, expect=302, human=came_back)
                    self._count_click(device, {}, country, service, at, automatic=True)

    def _count_click(
        self, device: Device, query: dict[str, str], country: str | None, service: str,
        at: datetime, *, automatic: bool,
    ) -> None:  # fmt: skip
        truth = self.truth
        truth.clicks[service] += 1
        truth.automatic_clicks += automatic
        # A click's referrer is the page itself (no source); the page's tags come along.
        source = expected_source(device, None, query)
        truth.click_breakdowns["source"][source] += 1
        truth.click_breakdowns["channel"][query.get("c") or "unknown"] += 1
        truth.click_breakdowns["country"][country or "unknown"] += 1
        truth.click_breakdowns["device"][device.device] += 1
        truth.click_breakdowns["in_app"][device.in_app or "unknown"] += 1
        truth.source_service[source][service] += 1
        truth.hour_clicks[hour_of(at).isoformat()] += 1

    async def _robot(self, number: int) -> None:
        label, user_agent = self.random.choice(ROBOTS)
        path = f"/{self.slug}" if self.random.random() < 0.7 else (
            f"/{self.slug}/{self.random.choice(self.services)}"
        )  # fmt: skip
        async with (
            self._slots,
            self._client(user_agent, self._address(100_000 + number), None) as c,
        ):
            await self._get(c, path, {"accept": "*/*"}, bot=label)

    async def _get(
        self,
        client: httpx.AsyncClient,
        path: str,
        headers: dict[str, str],
        *,
        bot: str | None = None,
        human: _Person | None = None,
        expect: int | None = None,
    ) -> datetime:
        return await self._request(client, "GET", path, headers, bot=bot, human=human,
                                   expect=expect)  # fmt: skip

    async def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        bot: str | None = None,
        human: _Person | None = None,
        expect: int | None = None,
    ) -> datetime:
        sent = datetime.now(UTC)
        response = await client.request(method, path, headers=headers)
        at = datetime.now(UTC)
        if hour_of(sent) != hour_of(at):
            # The server stamped it somewhere in between: either hour may hold it.
            self.truth.straddled_hours += 1
        if response.status_code >= 400 or (expect is not None and response.status_code != expect):
            raise RuntimeError(f"{method} {path}: unexpected {response.status_code}")
        self.truth.seen(at)
        if bot is not None:
            self.truth.bot_views[bot] += 1
        if human is not None:
            self._count_view(at, *human)
        return at

    def _count_view(
        self, at: datetime, number: int, device: Device, query: dict[str, str], source: str,
        country: str | None,
    ) -> None:  # fmt: skip
        truth = self.truth
        truth.views += 1
        truth.visitor_days.add((number, day_of(at).date().isoformat()))
        channel = query.get("c")
        for name, value in (
            ("source", source), ("channel", channel or "unknown"),
            ("country", country or "unknown"), ("device", device.device),
            ("in_app", device.in_app or "unknown"), ("os", device.os), ("phase", "live"),
        ):  # fmt: skip
            truth.breakdowns[name][value] += 1
        prefix = (channel or "").split("-", 1)[0]
        if prefix == "qr":
            truth.qr_scans += 1
        elif prefix in ("email", "sms"):
            truth.message_clicks[channel or ""] += 1
        truth.hours[hour_of(at).isoformat()] += 1


async def simulate(
    base_url: str,
    slug: str,
    services: list[str],
    *,
    seed: int = 7,
    people: int = 300,
    robots: int = 120,
    country_header: str = "cf-ipcountry",
) -> dict[str, Any]:
    simulation = Simulation(
        base_url, slug, services, seed=seed, people=people, robots=robots,
        country_header=country_header,
    )  # fmt: skip
    truth = await simulation.run()
    return {"seed": seed, "slug": slug, "services": services, **truth.to_json()}
