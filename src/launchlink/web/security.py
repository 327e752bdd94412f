"""Browser binding, CSRF tokens, signed links, cookies and security headers: the one
implementation shared by fan pages (presave/) and the dashboard (dashboard/).

* Every fan's browser gets a random id in a signed HttpOnly cookie (``ll_b``: the id and
  its HMAC, so only ids this instance issued count). CSRF tokens, OAuth states,
  confirmation pages and the pre-saves a browser made are bound to it: a form posted, an
  OAuth callback landing or a confirmation opened in another browser is refused.
* Signed values (confirmation, revoke, magic-link continuation) are
  ``base64url(json).base64url(hmac)``, with a purpose mixed into the key so a token made for
  one purpose is worthless for another.
* CSRF is a token derived from the signed browser id (HMAC with its own purpose): a form
  is accepted only with the token of the browser posting it, so a page on another site
  cannot forge one (it can neither read our cookie nor compute the HMAC).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from launchlink.links.phase import TIME_ZONE_COOKIE as PHASE_TIME_ZONE_COOKIE

BROWSER_COOKIE = "ll_b"
TIME_ZONE_COOKIE = PHASE_TIME_ZONE_COOKIE
RESUME_COOKIE = "ll_resume"
CSRF_FIELD = "csrf"
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
"""RFC 8058: a mail client's one-click unsubscribe POSTs ``List-Unsubscribe=One-Click``."""
COOKIE_MAX_AGE = 400 * 24 * 3600


def fan_page_csp(*, form_action: str) -> str:
    """Every fan page's policy; only where its forms may post differs (the smart link has
    none, the pre-save pages post to us). No script but the hashed ones, inline styles
    (rendered once per snapshot, cached). ``connect-src 'self'`` lets auditors that fetch
    from inside the page (Lighthouse reads /robots.txt that way, under the page's CSP)
    reach our own origin; no script may run that could use it for anything else."""
    return (
        "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; connect-src 'self'; "
        f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'"
    )


FAN_PAGE_CSP = fan_page_csp(form_action="'self'")
APP_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""Dashboard pages: scripts and styles only from our own /static files, never inline;
images also from https (release artwork lives on the services' CDNs)."""


def security_headers(
    csp: str = APP_PAGE_CSP,
    *,
    referrer: str = "same-origin",
    cache: str = "private, no-store",
) -> dict[str, str]:
    """The headers every HTML page we render carries."""
    return {
        "cache-control": cache,
        "x-content-type-options": "nosniff",
        "referrer-policy": referrer,
        "content-security-policy": csp,
        # For browsers that predate CSP frame-ancestors.
        "x-frame-options": "DENY",
    }


@dataclass(frozen=True)
class CookieJar:
    """Set-Cookie values: always HttpOnly and path-wide, Secure on an https instance."""

    secure: bool

    def set(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = COOKIE_MAX_AGE,
        same_site: Literal["Lax", "Strict"] = "Lax",
    ) -> str:
        parts = [f"{name}={value}", "Path=/"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        parts += ["HttpOnly", f"SameSite={same_site}"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    def clear(self, name: str) -> str:
        return self.set(name, "", max_age=0)


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)


def new_secret_token() -> str:
    """A one-time value handed to the fan (OAuth state, magic link); only its hash is kept."""
    return secrets.token_urlsafe(32)


def token_hash(value: str) -> str:
    """Lookup hash of a high-entropy token (a fast hash is enough for 256 random bits)."""
    return hashlib.sha256(value.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadSignature(Exception):
    pass


@dataclass(frozen=True)
class Signer:
    """HMAC-SHA256 signatures, CSRF tokens and browser hashes from the instance secret."""

    secret_key: str

    def _key(self, purpose: str) -> bytes:
        return hashlib.sha256(f"launchlink:{purpose}:{self.secret_key}".encode()).digest()

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._key(purpose), data, hashlib.sha256).digest()

    def browser_cookie(self, browser_id: str) -> str:
        """The cookie value carrying ``browser_id``: the id and its signature."""
        return f"{browser_id}.{_b64(self._mac('browser-cookie', browser_id.encode()))}"

    def browser_id_of(self, cookie_value: str | None) -> str | None:
        """The browser id in a cookie value this instance issued; None for anything else
        (absent, unsigned, altered)."""
        browser_id, dot, mac = (cookie_value or "").partition(".")
        if not browser_id or not dot or len(browser_id) > 64:
            return None
        if not hmac.compare_digest(self.browser_cookie(browser_id), f"{browser_id}.{mac}"):
            return None
        return browser_id

    def browser_hash(self, browser_id: str) -> str:
        return self._mac("browser", browser_id.encode()).hex()

    def csrf_token(self, browser_id: str) -> str:
        return _b64(self._mac("csrf", browser_id.encode()))

    def csrf_ok(self, browser_id: str | None, token: str | None) -> bool:
        if not browser_id or not token:
            return False
        return hmac.compare_digest(self.csrf_token(browser_id), token)

    def sign(self, purpose: str, payload: dict[str, Any], *, expires_at: datetime | None) -> str:
        body = dict(payload)
        if expires_at is not None:
            body["exp"] = int(expires_at.timestamp())
        data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(data)}.{_b64(self._mac(purpose, data))}"

    def unsign(self, purpose: str, token: str, *, now: datetime) -> dict[str, Any]:
        """The payload of a valid, unexpired token; :class:`BadSignature` otherwise."""
        data_part, _, mac_part = token.partition(".")
        try:
            data, mac = _unb64(data_part), _unb64(mac_part)
        except (ValueError, TypeError):
            raise BadSignature("malformed token") from None
        if not hmac.compare_digest(mac, self._mac(purpose, data)):
            raise BadSignature("bad signature")
        try:
            payload = json.loads(data)
        except ValueError:
            raise BadSignature("malformed payload") from None
        if not isinstance(payload, dict):
            raise BadSignature("malformed payload")
        expires = payload.pop("exp", None)
        if expires is not None and (not isinstance(expires, int) or now.timestamp() > expires):
            raise BadSignature("expired")
        return payload
