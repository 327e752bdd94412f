"""Campaign tags in a smart link's URL: UTM parameters and our per-placement channel code.

A label puts ``?c=ig-story`` on the link in its Instagram story and ``?c=email-launch`` in
its newsletter; the code is counted as the visit's channel, and its prefix (``email-``,
``sms-``, ``ig-``…) says the source when nothing better does. UTM values are trimmed,
cut to 100 characters, and ``utm_source``/``utm_medium`` lower-cased so "Email" and
"email" count together. A malformed value is left out, never an error: fans do not
choose the links they tap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

from launchlink.analytics.referrers import Source

CHANNEL_PARAMETER = "c"
CAMPAIGN_PARAMETERS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", CHANNEL_PARAMETER,
)  # fmt: skip
_CACHE_SIZE = 4096
_MAX_QUERY = 2048
_MAX_VALUE = 100
_CHANNEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Channel-code prefixes and utm_source values that name a source.
_PREFIX_SOURCES: dict[str, Source] = {
    "email": "email",
    "mail": "email",
    "newsletter": "email",
    "sms": "sms",
    "text": "sms",
    "ig": "instagram",
    "insta": "instagram",
    "instagram": "instagram",
    "tt": "tiktok",
    "tiktok": "tiktok",
    "x": "x",
    "tw": "x",
    "twitter": "x",
    "fb": "facebook",
    "facebook": "facebook",
    "yt": "youtube",
    "youtube": "youtube",
    "google": "google",
}
# utm_medium values that say e-mail or SMS whatever the referrer.
_MEDIUM_SOURCES: dict[str, Source] = {
    "email": "email",
    "e-mail": "email",
    "newsletter": "email",
    "sms": "sms",
    "text": "sms",
    "mms": "sms",
}


@dataclass(frozen=True, slots=True)
class Campaign:
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    channel: str | None = None

    def declared_source(self) -> Source | None:
        """E-mail or SMS as the link's own tags declare it (beats any referrer)."""
        if self.utm_medium in _MEDIUM_SOURCES:
            return _MEDIUM_SOURCES[self.utm_medium]
        prefix = _prefix_source(self.channel)
        return prefix if prefix in ("email", "sms") else None

    def hinted_source(self) -> Source | None:
        """The source the channel prefix or ``utm_source`` suggests (weaker than a referrer)."""
        return _prefix_source(self.channel) or _prefix_source(self.utm_source)


_NONE = Campaign()


def _prefix_source(value: str | None) -> Source | None:
    if not value:
        return None
    return _PREFIX_SOURCES.get(re.split(r"[-_.]", value, maxsplit=1)[0])


def parse_campaign(query: str | None) -> Campaign:
    """The campaign tags in a URL query string (without the ``?``); cached."""
    if not query:
        return _NONE
    return _parse(query[:_MAX_QUERY])


def _clean(value: str | None, *, lower: bool = False) -> str | None:
    if value is None:
        return None
    value = _CONTROL.sub("", value).strip()[:_MAX_VALUE]
    if not value:
        return None
    return value.lower() if lower else value


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(query: str) -> Campaign:
    values: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        values.setdefault(key.lower(), value)  # the first of repeated parameters wins
    channel = _clean(values.get(CHANNEL_PARAMETER), lower=True)
    return Campaign(
        utm_source=_clean(values.get("utm_source"), lower=True),
        utm_medium=_clean(values.get("utm_medium"), lower=True),
        utm_campaign=_clean(values.get("utm_campaign")),
        utm_term=_clean(values.get("utm_term")),
        utm_content=_clean(values.get("utm_content")),
        channel=channel if channel is not None and _CHANNEL.fullmatch(channel) else None,
    )


def campaign_query(query: str | None) -> str | None:
    """The query reduced to its campaign parameters (what a stored event keeps)."""
    tags = parse_campaign(query)
    kept = [
        (name, value)
        for name in CAMPAIGN_PARAMETERS
        if (value := getattr(tags, "channel" if name == CHANNEL_PARAMETER else name))
    ]
    return urlencode(kept) or None
