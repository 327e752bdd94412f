"""Everything the simulator remembers, in plain dicts, plus the Python control API.

Tests drive a :class:`SimulatorState` directly (``state.upsert_app(...)``,
``state.set_faults("spotify", burst_429=3)``, ``state.ledger.query(...)``) or through
the HTTP control endpoint, which is a thin JSON wrapper over the same methods.
"""

from __future__ import annotations

import copy
import random
import secrets
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from launchlink.kit.clock import Clock, SystemClock, ensure_aware
from launchlink.simulator.catalog import SERVICES, Album, Catalog
from launchlink.simulator.faults import FaultPlan, RateLimit, SlidingWindow
from launchlink.simulator.ledger import Ledger
from launchlink.simulator.models import (
    CONSENT_MODES,
    DEV_MODE_USER_LIMIT,
    AccessToken,
    AuthCode,
    ConsentSettings,
    DeveloperKey,
    Grant,
    MusicUserToken,
    PendingConsent,
    Playlist,
    RefreshToken,
    SimApp,
    SimUser,
)

OAUTH_SERVICES: tuple[str, ...] = ("spotify", "deezer", "tidal", "soundcloud", "youtube", "apple")
FAULT_SERVICES: tuple[str, ...] = (*SERVICES, "odesli")

# Rate limits a service publishes (or that are widely observed); the rest default to none
# and are set per app by tests and benchmarks.
DEFAULT_RATE_LIMITS: dict[str, RateLimit | None] = {
    "spotify": None,
    "apple": None,
    "deezer": RateLimit(50, 5.0),
    "tidal": None,
    "soundcloud": None,
    "youtube": None,
}
ODESLI_KEYLESS_PER_MINUTE = 10
ODESLI_KEYED_PER_MINUTE = 60


@dataclass(slots=True)
class IdempotentReply:
    payload_digest: str
    status: int
    body: bytes
    media_type: str | None


@dataclass(slots=True)
class Options:
    """Global switches. ``normalize_upc_leading_zeros``: UPC lookups ignore leading zeros
    (platform-apis §6.2); off by default so connectors must try both forms."""

    normalize_upc_leading_zeros: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"normalize_upc_leading_zeros": self.normalize_upc_leading_zeros}


@dataclass(slots=True)
class _ServiceRuntime:
    faults: FaultPlan = field(default_factory=FaultPlan)
    consent: ConsentSettings = field(default_factory=ConsentSettings)


class SimulatorState:
    """The simulator's whole world. Not thread-safe: one event loop owns it."""

    def __init__(self, clock: Clock | None = None, seed: Catalog | None = None) -> None:
        self.base_clock: Clock = clock or SystemClock()
        self._seed = seed
        # Seeded so injected error rates are reproducible run to run; not for secrets.
        self.random = random.Random(0x5EED)  # noqa: S311
        self._init_world()

    def _init_world(self) -> None:
        self.clock_offset = timedelta(0)
        self.catalog: Catalog = copy.deepcopy(self._seed) if self._seed else Catalog()
        self.options = Options()
        self.apps: dict[tuple[str, str], SimApp] = {}
        self.users: dict[tuple[str, str], SimUser] = {}
        self.grants: list[Grant] = []
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.pending_consents: dict[str, PendingConsent] = {}
        self.runtime: dict[str, _ServiceRuntime] = {s: _ServiceRuntime() for s in FAULT_SERVICES}
        self.ledger = Ledger(before_read=self.materialise_preadds)
        self.libraries: dict[tuple[str, str], dict[str, dict[str, datetime]]] = {}
        self.pending_preadds: list[tuple[str, str, str, str]] = []  # (app, user, album id, key)
        self.playlists: dict[tuple[str, str], Playlist] = {}
        self.limiters: dict[tuple[str, str], SlidingWindow] = {}
        self.apple_keys: dict[str, DeveloperKey] = {}
        self.apple_verified_tokens: dict[str, tuple[str, float]] = {}  # jwt -> (team, exp)
        self.music_user_tokens: dict[str, MusicUserToken] = {}
        self.idempotency: dict[tuple[str, str, str], IdempotentReply] = {}
        from launchlink.simulator.services.twilio import TwilioSim

        self.twilio = TwilioSim(clock=self.base_clock)
        self.youtube_usage: dict[tuple[str, str, str], int] = {}  # (client, day, bucket)
        self.odesli_keys: dict[str, int] = {}
        self.contract_violations: list[str] = []

    # -- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.base_clock.now() + self.clock_offset

    def set_clock(self, at: datetime) -> None:
        """Shift the simulator's notion of now to ``at`` (an offset over the base clock)."""
        self.clock_offset = ensure_aware(at) - self.base_clock.now()

    def advance_clock(self, delta: timedelta | float) -> None:
        self.clock_offset += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)

    # -- reset --------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed catalogue with no apps, users, tokens, faults or ledger."""
        self._init_world()

    # -- apps and users ------------------------------------------------------------------

    def upsert_app(self, service: str, client_id: str, **changes: Any) -> SimApp:
        """Create or update an app. Keyword names are :class:`SimApp` fields; a
        ``rate_limit`` may be a :class:`RateLimit`, ``{"limit","window_seconds"}`` or None."""
        _check_service(service, OAUTH_SERVICES)
        app = self.apps.get((service, client_id))
        if app is None:
            app = SimApp(
                service=service, client_id=client_id, rate_limit=DEFAULT_RATE_LIMITS.get(service)
            )
            self.apps[(service, client_id)] = app
        for name, value in changes.items():
            if name == "rate_limit":
                app.rate_limit = _rate_limit(value)
                self.limiters.pop((service, client_id), None)
            elif name == "allow_list":
                users = set(value)
                if len(users) > DEV_MODE_USER_LIMIT:
                    raise ValueError(
                        f"a development-mode allow-list holds at most {DEV_MODE_USER_LIMIT} users"
                    )
                app.allow_list = users
            elif name == "mode":
                if value not in ("development", "extended"):
                    raise ValueError("mode must be 'development' or 'extended'")
                app.mode = value
            elif name == "redirect_uris":
                app.redirect_uris = list(value)
            elif name in {
                "client_secret",
                "rotate_refresh_tokens",
                "forbidden_as_json",
                "daily_quota",
                "search_daily_quota",
            }:
                setattr(app, name, value)
            else:
                raise ValueError(f"unknown app field {name!r}")
        return app

    def app(self, service: str, client_id: str) -> SimApp | None:
        return self.apps.get((service, client_id))

    def create_user(
        self,
        service: str,
        user_id: str,
        *,
        display_name: str | None = None,
        country: str = "US",
        email: str | None = None,
        product: str = "premium",
    ) -> SimUser:
        """Create a listener (or return the existing one unchanged)."""
        _check_service(service, OAUTH_SERVICES)
        existing = self.users.get((service, user_id))
        if existing is not None:
            return existing
        user = SimUser(
            service=service,
            user_id=user_id,
            display_name=display_name or user_id,
            country=country.upper(),
            email=email or f"{user_id}@example.test",
            product=product,
            numeric_id=100_000_000 + zlib.crc32(f"{service}:{user_id}".encode()) % 900_000_000,
        )
        self.users[(service, user_id)] = user
        return user

    def user(self, service: str, user_id: str) -> SimUser | None:
        return self.users.get((service, user_id))

    def new_user_id(self, service: str) -> str:
        while True:
            candidate = f"fan-{secrets.token_hex(4)}"
            if (service, candidate) not in self.users:
                return candidate

    def revoke_user(self, service: str, user_id: str) -> int:
        """Revoke every grant (and Apple Music-User-Token) the user gave; returns how many."""
        count = 0
        for grant in self.grants:
            if grant.service == service and grant.user_id == user_id and not grant.revoked:
                grant.revoked = True
                count += 1
        if service == "apple":
            for mut in self.music_user_tokens.values():
                if mut.user_id == user_id and not mut.revoked:
                    mut.revoked = True
                    count += 1
        return count

    # -- consent and faults -----------------------------------------------------------------

    def set_consent_mode(self, service: str, mode: str, *, next_user: str | None = None) -> None:
        _check_service(service, OAUTH_SERVICES)
        if mode not in CONSENT_MODES:
            raise ValueError(f"consent mode must be one of {CONSENT_MODES}")
        settings = self.runtime[service].consent
        settings.mode = mode  # type: ignore[assignment]
        settings.next_user = next_user

    def consent(self, service: str) -> ConsentSettings:
        return self.runtime[service].consent

    def faults(self, service: str) -> FaultPlan:
        return self.runtime[service].faults

    def set_faults(self, service: str, **knobs: Any) -> FaultPlan:
        """Set failure knobs (see :class:`FaultPlan`); unspecified knobs keep their value."""
        _check_service(service, FAULT_SERVICES)
        plan = self.runtime[service].faults
        plan.update(knobs)
        return plan

    def clear_faults(self, service: str | None = None) -> None:
        for name in [service] if service else list(FAULT_SERVICES):
            self.runtime[name].faults = FaultPlan()

    # -- rate limiting ------------------------------------------------------------------

    def rate_limit_hit(self, service: str, bucket: str, rate: RateLimit | None) -> int | None:
        """Count a request against ``bucket``; ``None`` if allowed, else seconds to wait."""
        if rate is None:
            return None
        limiter = self.limiters.get((service, bucket))
        if limiter is None or limiter.rate != rate:
            limiter = self.limiters[(service, bucket)] = SlidingWindow(rate)
        return limiter.hit(self.now().timestamp())

    # -- catalogue ------------------------------------------------------------------------

    def upsert_album(self, album: Album) -> Album:
        return self.catalog.upsert_album(album)

    def set_availability(
        self, album_key: str, *, country: str | None = None, at: datetime | None
    ) -> Album:
        """Move an album's availability: per ``country``, or the default when no country.
        ``at=None`` with a country makes the album unavailable there."""
        album = self.catalog.albums[album_key]
        if country is None:
            if at is None:
                raise ValueError("the default availability needs an instant")
            album.available_from = ensure_aware(at)
        else:
            album.availability[country.upper()] = ensure_aware(at) if at is not None else None
        return album

    # -- libraries and the ledger ------------------------------------------------------------

    def library(self, service: str, user_id: str) -> dict[str, dict[str, datetime]]:
        found = self.libraries.get((service, user_id))
        if found is None:
            found = self.libraries[(service, user_id)] = {}
        return found

    def library_add(
        self,
        *,
        service: str,
        app_id: str,
        user_id: str,
        action: str,
        item: str,
        idempotency_key: str | None = None,
    ) -> str:
        """Add ``item`` to the user's ``action`` shelf, ledger it; returns the outcome."""
        shelf = self.library(service, user_id).setdefault(action, {})
        if item in shelf:
            outcome = "already"
        else:
            shelf[item] = self.now()
            outcome = "added"
        self.ledger.record(
            at=self.now(),
            service=service,
            app_id=app_id,
            user_id=user_id,
            action=action,
            item=item,
            outcome=outcome,
            idempotency_key=idempotency_key,
        )
        return outcome

    def library_remove(
        self, *, service: str, app_id: str, user_id: str, action: str, item: str
    ) -> str:
        shelf = self.library(service, user_id).setdefault(action, {})
        outcome = "removed" if shelf.pop(item, None) is not None else "absent"
        self.ledger.record(
            at=self.now(),
            service=service,
            app_id=app_id,
            user_id=user_id,
            action=f"un{action}",
            item=item,
            outcome=outcome,
        )
        return outcome

    def playlist_add(
        self,
        playlist: Playlist,
        items: Sequence[str],
        *,
        app_id: str,
        user_id: str,
        detail: str,
        position: int | None = None,
    ) -> None:
        """Put ``items`` into ``playlist`` (at ``position``, else at the end), one ledger row
        each. Playlists keep repeats, as every service's do: a repeat is ``duplicate``."""
        now = self.now()
        existing = {item for item, _, _ in playlist.items}
        at = len(playlist.items) if position is None else max(0, min(position, len(playlist.items)))
        playlist.items[at:at] = [(item, now, user_id) for item in items]
        for item in items:
            self.ledger.record(
                at=now,
                service=playlist.service,
                app_id=app_id,
                user_id=user_id,
                action="playlist_add",
                item=item,
                outcome="duplicate" if item in existing else "added",
                detail=detail,
            )
            existing.add(item)

    def library_contains(self, service: str, user_id: str, action: str, item: str) -> bool:
        return item in self.libraries.get((service, user_id), {}).get(action, {})

    def materialise_preadds(self) -> None:
        """Turn pending Apple pre-adds whose album is now out in the user's storefront into adds."""
        if not self.pending_preadds:
            return
        now, still_pending = self.now(), []
        for team_id, user_id, album_id, album_key in self.pending_preadds:
            album = self.catalog.albums.get(album_key)
            user = self.users.get(("apple", user_id))
            released_at = album.available_at(user.country) if album and user else None
            if released_at is None or released_at > now:
                still_pending.append((team_id, user_id, album_id, album_key))
                continue
            item = f"albums:{album_id}"
            shelf = self.library("apple", user_id).setdefault("save_album", {})
            outcome = "already" if item in shelf else "added"
            shelf.setdefault(item, released_at)
            self.ledger.record(
                at=released_at,
                service="apple",
                app_id=team_id,
                user_id=user_id,
                action="save_album",
                item=item,
                outcome=outcome,
                detail="pre-add materialised at release",
            )
        self.pending_preadds = still_pending

    # -- tokens ---------------------------------------------------------------------------

    def add_playlist(
        self,
        service: str,
        playlist_id: str,
        *,
        owner_id: str,
        name: str,
        description: str = "",
        public: bool = True,
        collaborative: bool = False,
    ) -> Playlist:
        """A playlist ``owner_id`` just created on ``service`` (every create-playlist call)."""
        playlist = Playlist(
            service=service,
            playlist_id=playlist_id,
            owner_id=owner_id,
            name=name,
            description=description,
            public=public,
            collaborative=collaborative,
        )
        self.playlists[(service, playlist_id)] = playlist
        return playlist

    def new_token(self, prefix: str) -> str:
        return f"{prefix}{secrets.token_urlsafe(24)}"

    def add_grant(self, service: str, client_id: str, user_id: str, scopes: Iterable[str]) -> Grant:
        grant = Grant(
            service=service,
            client_id=client_id,
            user_id=user_id,
            scopes=frozenset(scopes),
            authorized_at=self.now(),
        )
        self.grants.append(grant)
        return grant

    def issue_access_token(
        self,
        *,
        service: str,
        client_id: str,
        grant: Grant | None,
        scopes: frozenset[str],
        ttl_seconds: int | None,
    ) -> AccessToken:
        token = AccessToken(
            token=self.new_token(f"{service[:2]}_at_"),
            service=service,
            client_id=client_id,
            grant=grant,
            scopes=scopes,
            expires_at=self.now() + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
        )
        self.access_tokens[token.token] = token
        return token

    def issue_refresh_token(
        self, grant: Grant, absolute_lifetime: timedelta | None
    ) -> RefreshToken:
        token = RefreshToken(
            token=self.new_token(f"{grant.service[:2]}_rt_"),
            grant=grant,
            expires_at=grant.authorized_at + absolute_lifetime if absolute_lifetime else None,
        )
        self.refresh_tokens[token.token] = token
        return token

    def mint_user_token(
        self,
        service: str,
        client_id: str,
        user_id: str,
        scopes: Iterable[str],
        *,
        ttl_seconds: int | None = 3600,
        with_refresh_token: bool = True,
        refresh_lifetime: timedelta | None = None,
    ) -> tuple[AccessToken, RefreshToken | None]:
        """Skip the consent dance: create user + grant + tokens (tests, demo, benchmarks)."""
        if (service, client_id) not in self.apps:
            raise KeyError(f"no {service} app {client_id!r}")
        self.create_user(service, user_id)
        grant = self.add_grant(service, client_id, user_id, scopes)
        access = self.issue_access_token(
            service=service,
            client_id=client_id,
            grant=grant,
            scopes=grant.scopes,
            ttl_seconds=ttl_seconds,
        )
        refresh = self.issue_refresh_token(grant, refresh_lifetime) if with_refresh_token else None
        return access, refresh

    # -- Apple ----------------------------------------------------------------------------

    def register_apple_key(self, kid: str, team_id: str, public_key_pem: str) -> DeveloperKey:
        key = DeveloperKey(kid=kid, team_id=team_id, public_key_pem=public_key_pem)
        self.apple_keys[kid] = key
        self.apple_verified_tokens.clear()
        return key

    def issue_music_user_token(self, user_id: str, *, country: str = "US") -> str:
        self.create_user("apple", user_id, country=country)
        mut = MusicUserToken(token=self.new_token("mut_"), user_id=user_id)
        self.music_user_tokens[mut.token] = mut
        return mut.token

    def revoke_music_user_token(self, token: str) -> None:
        self.music_user_tokens[token].revoked = True


def _check_service(service: str, allowed: tuple[str, ...]) -> None:
    if service not in allowed:
        raise ValueError(f"unknown service {service!r}; expected one of {allowed}")


def _rate_limit(value: Any) -> RateLimit | None:
    if value is None or isinstance(value, RateLimit):
        return value
    return RateLimit(int(value["limit"]), float(value["window_seconds"]))
