"""Where a visit came from: the referrer's host mapped to a traffic source.

Sources: ``instagram``, ``tiktok``, ``x``, ``facebook``, ``youtube``, ``google``,
``email``, ``sms``, ``direct`` (no referrer) and ``other``. The referrer is parsed, never
fetched; only its host is kept (paths can carry a fan's e-mail address or a search).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

Source = Literal[
    "instagram", "tiktok", "x", "facebook", "youtube", "google", "email", "sms", "direct",
    "other",
]  # fmt: skip
SOURCES: tuple[Source, ...] = (
    "instagram", "tiktok", "x", "facebook", "youtube", "google", "email", "sms", "direct",
    "other",
)  # fmt: skip

_CACHE_SIZE = 4096
_MAX_LENGTH = 2048

# Registrable domains (and their subdomains) per source.
_DOMAINS: dict[str, Source] = {
    "instagram.com": "instagram",
    "ig.me": "instagram",
    "threads.net": "instagram",
    "threads.com": "instagram",
    "tiktok.com": "tiktok",
    "tiktokv.com": "tiktok",
    "tiktokcdn.com": "tiktok",
    "douyin.com": "tiktok",
    "t.co": "x",
    "x.com": "x",
    "twitter.com": "x",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "fb.gg": "facebook",
    "messenger.com": "facebook",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "youtube-nocookie.com": "youtube",
    # Webmail: a click in a newsletter opened in the browser.
    "mail.google.com": "email",
    "outlook.live.com": "email",
    "outlook.office.com": "email",
    "outlook.office365.com": "email",
    "mail.yahoo.com": "email",
    "mail.yahoo.co.jp": "email",
    "mail.proton.me": "email",
    "mail.protonmail.com": "email",
    "mail.aol.com": "email",
    "mail.zoho.com": "email",
    "mail.zoho.eu": "email",
    "fastmail.com": "email",
    "app.fastmail.com": "email",
    "mail.yandex.ru": "email",
    "mail.yandex.com": "email",
    "e.mail.ru": "email",
    "mail.gmx.net": "email",
    "navigator.gmx.net": "email",
    "web.de": "email",
    "navigator.web.de": "email",
    "tutanota.com": "email",
    "app.tuta.com": "email",
    "mail.tutanota.com": "email",
    "webmail.orange.fr": "email",
    "mail.orange.fr": "email",
    "mail.libero.it": "email",
    "mail.naver.com": "email",
    "mail.qq.com": "email",
    "wx.mail.qq.com": "email",
}
# Android apps referring through Chrome Custom Tabs ("android-app://com.instagram.android").
_ANDROID_APPS: dict[str, Source] = {
    "com.instagram.android": "instagram",
    "com.instagram.barcelona": "instagram",
    "com.zhiliaoapp.musically": "tiktok",
    "com.ss.android.ugc.trill": "tiktok",
    "com.twitter.android": "x",
    "com.facebook.katana": "facebook",
    "com.facebook.orca": "facebook",
    "com.facebook.lite": "facebook",
    "com.google.android.youtube": "youtube",
    "com.google.android.gm": "email",
    "com.microsoft.office.outlook": "email",
    "com.yahoo.mobile.client.android.mail": "email",
    "ch.protonmail.android": "email",
    "com.google.android.apps.messaging": "sms",
    "com.samsung.android.messaging": "sms",
    "com.google.android.googlequicksearchbox": "google",
    "com.google.android.gm.lite": "email",
}
# google.com, google.co.uk, google.com.br, news.google.de…; not googleusercontent.com.
_GOOGLE = re.compile(r"(?:^|\.)google\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$")
_WEBMAIL = re.compile(r"^(?:webmail|mail|email|posteo|roundcube)\.")
_HOST = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)


def referrer_host(referrer: str | None) -> str | None:
    """The referrer's host, lower-case without ``www.``; None when absent or not a URL."""
    if not referrer:
        return None
    return _host(referrer.strip()[:_MAX_LENGTH])


@lru_cache(maxsize=_CACHE_SIZE)
def _host(referrer: str) -> str | None:
    try:
        parts = urlsplit(referrer)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme == "android-app":
        return f"android-app:{host}" if host and _HOST.fullmatch(host) else None
    if parts.scheme not in ("http", "https") or not host:
        return None
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if _HOST.fullmatch(host) else None


@lru_cache(maxsize=_CACHE_SIZE)
def source_for_host(host: str) -> Source:
    """The source a referrer host stands for (``other`` when unknown)."""
    if host.startswith("android-app:"):
        return _ANDROID_APPS.get(host.removeprefix("android-app:"), "other")
    labels = host.split(".")
    for start in range(len(labels) - 1):
        found = _DOMAINS.get(".".join(labels[start:]))
        if found is not None:
            return found
    if _GOOGLE.search(host):
        return "google"
    if _WEBMAIL.match(host):
        return "email"
    return "other"


# The in-app browser a visit was opened in says where it came from when no referrer is
# sent (Instagram's and TikTok's in-app browsers send none).
IN_APP_SOURCES: dict[str, Source] = {
    "instagram": "instagram",
    "threads": "instagram",
    "tiktok": "tiktok",
    "facebook": "facebook",
    "messenger": "facebook",
    "twitter": "x",
}
