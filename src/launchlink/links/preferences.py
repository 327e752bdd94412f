"""The fan's service choices, remembered in two cookies.

* ``ll_last``: the service the fan opened last; the page lists it first next time.
* ``ll_always``: opt-in "always use this service"; the next visit to any link on this host
  that has the service goes straight there (``/{slug}?choose=1`` shows the page anyway,
  ``/{slug}?forget=1`` clears it).

Cookie values are service keys and nothing else: anything that does not look like one is
ignored, so a forged cookie can at most reorder buttons among the link's own services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LAST_SERVICE_COOKIE = "ll_last"
ALWAYS_SERVICE_COOKIE = "ll_always"
ONE_YEAR_SECONDS = 365 * 24 * 3600

_SERVICE_KEY = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True, slots=True)
class ServicePreferences:
    last_service: str | None = None
    always_service: str | None = None


NO_PREFERENCES = ServicePreferences()


def read_preferences(cookie_header: str | None) -> ServicePreferences:
    """Parse only the two cookies we own out of a ``Cookie`` header."""
    if not cookie_header or "ll_" not in cookie_header:
        return NO_PREFERENCES
    last: str | None = None
    always: str | None = None
    for part in cookie_header.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name = name.strip()
        if name == LAST_SERVICE_COOKIE:
            last = _service_or_none(value)
        elif name == ALWAYS_SERVICE_COOKIE:
            always = _service_or_none(value)
    if last is None and always is None:
        return NO_PREFERENCES
    return ServicePreferences(last_service=last, always_service=always)


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """How our cookies are written: ``secure`` when the public URL is https."""

    secure: bool
    domain: str | None = None
    max_age: int = ONE_YEAR_SECONDS

    def remember(self, name: str, service: str) -> bytes:
        """A ``Set-Cookie`` value storing ``service`` under ``name``."""
        if _SERVICE_KEY.fullmatch(service) is None:
            raise ValueError("not a service key")
        return self._cookie(name, service, self.max_age)

    def forget(self, name: str) -> bytes:
        return self._cookie(name, "", 0)

    def _cookie(self, name: str, value: str, max_age: int) -> bytes:
        parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        if self.domain:
            parts.append(f"Domain={self.domain}")
        return "; ".join(parts).encode("latin-1")


def _service_or_none(raw: str) -> str | None:
    value = raw.strip().strip('"')
    return value if _SERVICE_KEY.fullmatch(value) else None
