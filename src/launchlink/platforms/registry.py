"""Lookup, parsing and validation over the service catalogue. Pure: nothing is fetched."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import SplitResult, urlsplit, urlunsplit

from launchlink.platforms.catalogue import PLATFORM_LIST
from launchlink.platforms.errors import DestinationUrlError, UnknownPlatform
from launchlink.platforms.model import CallToAction, Kind, ParsedServiceUrl, Platform, UrlPattern

__all__ = [
    "MAX_DESTINATION_URL_LENGTH",
    "PLATFORMS",
    "CallToAction",
    "DestinationUrlError",
    "Kind",
    "ParsedServiceUrl",
    "Platform",
    "UnknownPlatform",
    "UrlPattern",
    "get_platform",
    "parse_service_url",
    "platform_for_host",
    "validate_destination_url",
]

MAX_DESTINATION_URL_LENGTH = 2048

PLATFORMS: Mapping[str, Platform] = MappingProxyType(
    {platform.key: platform for platform in PLATFORM_LIST}
)

# Anything a browser would read differently from urlsplit: whitespace, controls, backslashes.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
# A scheme has no dot, which tells "javascript:…" from "open.spotify.com:443/…".
_SCHEME = re.compile(r"[a-z][a-z0-9+-]*:", re.IGNORECASE)
_HOST_LABELS = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


def get_platform(key: str) -> Platform:
    try:
        return PLATFORMS[key]
    except KeyError:
        raise UnknownPlatform(key) from None


def platform_for_host(host: str) -> Platform | None:
    """The service that owns ``host``, if any (the first in display order)."""
    for platform in PLATFORMS.values():
        if platform.owns_host(host):
            return platform
    return None


def _split(url: str) -> SplitResult | None:
    candidate = url.strip()
    if not candidate or len(candidate) > MAX_DESTINATION_URL_LENGTH:
        return None
    if _UNSAFE_CHARACTERS.search(candidate):
        return None
    if not _SCHEME.match(candidate):
        candidate = f"https://{candidate}"  # pasted without a scheme: "open.spotify.com/…"
    try:
        parts = urlsplit(candidate)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return None
    return parts


def _match_target(parts: SplitResult, host: str) -> str:
    return f"{host}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _https_url(parts: SplitResult, host: str) -> str:
    return urlunsplit(("https", host, parts.path or "/", parts.query, parts.fragment))


def parse_service_url(url: str) -> ParsedServiceUrl | None:
    """Recognise a service's album/track/artist/playlist/video URL; ``None`` if not one.

    Accepts http or https (and a missing scheme); ``ParsedServiceUrl.url`` is the https form.
    Short links (spotify.link, on.soundcloud.com, …) are not resolved: that needs a fetch.
    """
    parts = _split(url)
    if parts is None or parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if parts.port not in (None, 80, 443):
        return None
    host = parts.hostname.rstrip(".")
    target, https_url = _match_target(parts, host), _https_url(parts, host)
    # itunes.apple.com belongs to both Apple Music (legacy links) and the iTunes Store.
    for platform in PLATFORMS.values():
        if platform.owns_host(host):
            parsed = platform.parse_target(target, https_url)
            if parsed is not None:
                return parsed
    return None


def validate_destination_url(platform_key: str, url: str) -> str:
    """Return the normalised https URL of a destination, or raise :class:`DestinationUrlError`.

    Rules: https only (http is upgraded, the host being one we know); the host must be one
    of the service's own (a Spotify destination cannot point elsewhere: no open redirect);
    no user name or password; no port other than 443; at most 2048 characters.
    """
    platform = get_platform(platform_key)
    name = platform.display_name
    stripped = url.strip()
    if not stripped:
        raise DestinationUrlError(f"Enter the {name} link for this release.")
    if len(stripped) > MAX_DESTINATION_URL_LENGTH:
        raise DestinationUrlError(
            f"This link is longer than {MAX_DESTINATION_URL_LENGTH} characters; copy the "
            f"short share link from {name} instead."
        )
    parts = _split(stripped)
    if parts is None:
        raise DestinationUrlError(
            f"This is not a valid web address (it contains spaces, backslashes or a bad "
            f"port). Copy the link from {name}'s Share menu."
        )
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise DestinationUrlError(
            f"Only web links starting with https:// are accepted, not {scheme}: links. "
            f"Copy the link from {name}'s Share menu."
        )
    if parts.username is not None or parts.password is not None:
        raise DestinationUrlError(
            "Links must not contain a user name or password; remove the part before '@'."
        )
    host = (parts.hostname or "").rstrip(".")
    if not _HOST_LABELS.fullmatch(host):
        raise DestinationUrlError(
            f"This link has no valid host name. Copy the link from {name}'s Share menu."
        )
    if not platform.owns_host(host):
        allowed = ", ".join(sorted(entry.lstrip(".") for entry in platform.hosts))
        raise DestinationUrlError(
            f"A {name} link must point to {allowed}; this one points to {host}."
        )
    if parts.port not in (None, 443) and not (scheme == "http" and parts.port == 80):
        raise DestinationUrlError(f"Remove the port number (:{parts.port}) from the {name} link.")
    normalised = _https_url(parts, host)
    if len(normalised) > MAX_DESTINATION_URL_LENGTH:
        raise DestinationUrlError(
            f"This link is longer than {MAX_DESTINATION_URL_LENGTH} characters; copy the "
            f"short share link from {name} instead."
        )
    return normalised
