"""The shape of a streaming or store service, as the smart-link page and redirect see it.

Nothing here fetches anything: a :class:`Platform` is static knowledge about a service
(its hosts, how its share URLs look, how to open its app) that the page renderer, the
redirect and the link auto-fill read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["album", "track", "artist", "playlist", "video"]
CallToAction = Literal["play", "buy", "download"]

# Services name the same thing differently in their paths ("song", "albums", "release").
KIND_ALIASES: dict[str, Kind] = {
    "album": "album",
    "albums": "album",
    "release": "album",
    "sets": "playlist",
    "track": "track",
    "tracks": "track",
    "song": "track",
    "songs": "track",
    "artist": "artist",
    "artists": "artist",
    "interpreter": "artist",
    "playlist": "playlist",
    "playlists": "playlist",
    "featured": "playlist",
    "chart": "playlist",
    "video": "video",
    "music-video": "video",
}


@dataclass(frozen=True, slots=True)
class ParsedServiceUrl:
    """What a service URL points at; ``url`` is the https form of the input."""

    platform: str
    kind: Kind
    id: str
    country: str | None
    url: str


AppLinkBuilder = Callable[[ParsedServiceUrl], str]


@dataclass(frozen=True, slots=True)
class UrlPattern:
    """One recognisable URL shape of a service.

    ``regex`` is matched against ``host + path [+ "?" + query]`` (host lower-cased, no
    scheme). Named groups: ``id`` (required), ``kind`` (when the path names it; mapped
    through :data:`KIND_ALIASES`), ``country`` (storefront, two letters). ``kind`` on
    the pattern itself is used when the URL shape implies it (``youtu.be/…`` is a video).
    """

    regex: re.Pattern[str]
    kind: Kind | None = None

    def match(self, target: str) -> tuple[Kind, str, str | None] | None:
        found = self.regex.match(target)
        if found is None:
            return None
        groups = found.groupdict()
        kind = KIND_ALIASES[groups["kind"].lower()] if groups.get("kind") else self.kind
        if kind is None:  # a pattern without a kind group must declare one
            raise ValueError(f"pattern {self.regex.pattern!r} yields no kind")
        country = groups.get("country")
        return kind, groups["id"], country.upper() if country else None


def pattern(regex: str, kind: Kind | None = None) -> UrlPattern:
    return UrlPattern(re.compile(regex, re.IGNORECASE), kind)


@dataclass(frozen=True, slots=True)
class Platform:
    """A service a smart link can send a fan to.

    ``hosts``: the web hosts its links live on. An entry starting with a dot (".bandcamp.com")
    admits any sub-domain of it (artist pages on Bandcamp), never the bare suffix alone.

    ``app_link``: turns a parsed https URL into a custom-scheme deep link (``spotify:album:…``)
    or is ``None`` where the service documents no scheme we can rely on. Phones open apps
    from the https URL itself (iOS universal links, Android app links), so the https URL is
    always the primary target; the scheme is for desktop apps and for in-app browsers
    (Instagram, TikTok) that do not hand universal links to the OS.

    ``brand_color`` is the service's accent; ``text_color`` is the colour of text drawn on
    it, chosen so the pair meets WCAG AA (4.5:1) — tests enforce it.
    """

    key: str
    display_name: str
    icon: str
    brand_color: str
    text_color: str
    hosts: frozenset[str]
    url_patterns: tuple[UrlPattern, ...]
    app_link: AppLinkBuilder | None
    call_to_action: CallToAction

    def owns_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host in self.hosts:
            return True
        return any(
            entry.startswith(".") and host.endswith(entry) and len(host) > len(entry)
            for entry in self.hosts
        )

    def parse_target(self, target: str, url: str) -> ParsedServiceUrl | None:
        """Match ``host + path + query`` against this service's URL shapes."""
        for url_pattern in self.url_patterns:
            matched = url_pattern.match(target)
            if matched is not None:
                kind, item_id, country = matched
                return ParsedServiceUrl(self.key, kind, item_id, country, url)
        return None

    def app_link_for(self, parsed: ParsedServiceUrl) -> str | None:
        if self.app_link is None or parsed.platform != self.key:
            return None
        return self.app_link(parsed)
