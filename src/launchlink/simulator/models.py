"""Plain records the simulator keeps in memory: apps, users, grants, tokens, playlists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from launchlink.simulator.faults import RateLimit

AppMode = Literal["development", "extended"]
ConsentMode = Literal["manual", "auto_approve", "deny"]
CONSENT_MODES: tuple[str, ...] = ("manual", "auto_approve", "deny")
DEV_MODE_USER_LIMIT = 5


@dataclass(slots=True)
class SimApp:
    """A registered client of one service.

    ``client_secret`` None means a public (PKCE-only) client. ``mode`` and ``allow_list``
    only matter for Spotify; ``rotate_refresh_tokens`` switches confidential Spotify
    clients from "omit refresh_token on refresh" to "rotate"; ``forbidden_as_json``
    switches the dev-mode "User not registered" 403 from text/plain to JSON.
    ``daily_quota``/``search_daily_quota`` are YouTube quota units/calls per Pacific day.
    """

    service: str
    client_id: str
    client_secret: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    mode: AppMode = "extended"
    allow_list: set[str] = field(default_factory=set)
    rate_limit: RateLimit | None = None
    rotate_refresh_tokens: bool = False
    forbidden_as_json: bool = False
    daily_quota: int = 10_000
    search_daily_quota: int = 100

    @property
    def confidential(self) -> bool:
        return self.client_secret is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "client_id": self.client_id,
            "confidential": self.confidential,
            "redirect_uris": list(self.redirect_uris),
            "mode": self.mode,
            "allow_list": sorted(self.allow_list),
            "rate_limit": self.rate_limit.to_json() if self.rate_limit else None,
            "rotate_refresh_tokens": self.rotate_refresh_tokens,
            "forbidden_as_json": self.forbidden_as_json,
            "daily_quota": self.daily_quota,
            "search_daily_quota": self.search_daily_quota,
        }


@dataclass(slots=True)
class SimUser:
    """A listener on one service. ``country`` doubles as the Apple storefront."""

    service: str
    user_id: str
    display_name: str
    country: str = "US"
    email: str = ""
    product: str = "premium"
    numeric_id: int = 0

    @property
    def storefront(self) -> str:
        return self.country.lower()

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "id": self.user_id,
            "display_name": self.display_name,
            "country": self.country,
            "email": self.email,
            "product": self.product,
            "numeric_id": self.numeric_id,
        }


@dataclass(slots=True)
class Grant:
    """One user's consent to one app; revoking it kills every token it produced."""

    service: str
    client_id: str
    user_id: str
    scopes: frozenset[str]
    authorized_at: datetime
    revoked: bool = False
    pkce: bool = False


@dataclass(slots=True)
class AccessToken:
    token: str
    service: str
    client_id: str
    grant: Grant | None  # None for app-only (client credentials) tokens
    scopes: frozenset[str]
    expires_at: datetime | None

    @property
    def user_id(self) -> str | None:
        return self.grant.user_id if self.grant else None


@dataclass(slots=True)
class RefreshToken:
    token: str
    grant: Grant
    expires_at: datetime | None
    used: bool = False


@dataclass(slots=True)
class AuthCode:
    code: str
    service: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: frozenset[str]
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    offline: bool = True
    used: bool = False


@dataclass(slots=True)
class PendingConsent:
    """An authorize request waiting on the consent page."""

    consent_id: str
    service: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    offline: bool
    login_hint: str | None


@dataclass(slots=True)
class ConsentSettings:
    mode: ConsentMode = "manual"
    next_user: str | None = None


@dataclass(slots=True)
class Playlist:
    service: str
    playlist_id: str
    owner_id: str
    name: str
    public: bool = True
    collaborative: bool = False
    description: str = ""
    items: list[tuple[str, datetime, str]] = field(default_factory=list)  # (item, at, by)
    snapshot: int = 1


@dataclass(slots=True)
class MusicUserToken:
    token: str
    user_id: str
    revoked: bool = False
    expires_at: datetime | None = None


@dataclass(slots=True)
class DeveloperKey:
    """An Apple MusicKit key: ``kid`` and team (``iss``) with its public key (PEM)."""

    kid: str
    team_id: str
    public_key_pem: str
