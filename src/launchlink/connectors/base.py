"""The one interface every streaming-service connector implements, and its value types.

A connector speaks one service's real API (see the project's platform API notes,
``shared/platform-apis.md``). It is stateless towards the fan: grants travel in and out as
:class:`TokenSet` values, and the caller stores them (encrypted) — a connector never
persists anything.

Shape of a connector (see :class:`Connector`):

* identity and health: ``service``, ``capabilities``, ``available``/``unavailable_reason``;
* OAuth: ``authorization_url`` → fan consents → ``exchange_code`` → ``current_user``;
  ``refresh`` when the access token expires; ``scopes_for`` picks the fewest scopes;
* lookups with the operator's app credentials: ``find_release_by_upc``,
  ``find_track_by_isrc``, ``lookup_url`` (parses, never fetches, the URL), ``search``;
* actions with the fan's grant: ``save_release``, ``follow_artists``, ``add_to_playlist``,
  ``create_playlist``, ``follow_playlist``, ``preadd``; ``list_playlists`` reads the
  playlists the fan can add to.

Anything a service cannot do raises :class:`~launchlink.connectors.errors.NotSupported` and is
absent from ``capabilities``; failures raise the typed errors of
:mod:`launchlink.connectors.errors`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol, TypeVar, runtime_checkable

from launchlink.connectors.errors import AccessTokenExpired, AuthRevoked
from launchlink.kit.clock import Clock


class Capability(StrEnum):
    """What a connector can do; the dashboard and the pre-save flow read these."""

    OAUTH = "oauth"
    LOOKUP_UPC = "lookup_upc"
    LOOKUP_ISRC = "lookup_isrc"
    LOOKUP_URL = "lookup_url"
    SEARCH = "search"
    SAVE_RELEASE = "save_release"
    SAVE_TRACKS = "save_tracks"
    FOLLOW_ARTIST = "follow_artist"
    PLAYLIST_ADD = "playlist_add"
    PLAYLIST_FOLLOW = "playlist_follow"
    PLAYLIST_READ = "playlist_read"
    """List the fan's own playlists (so they can pick one to add the release to)."""
    PREADD = "preadd"


SERVICES: tuple[str, ...] = ("spotify", "apple_music", "deezer", "tidal", "soundcloud", "youtube")
"""Registry keys of the user-facing connectors, in display order."""


@dataclass(frozen=True)
class TokenSet:
    """A fan's grant on one service.

    ``access_token`` is the bearer value (for Apple Music: the Music-User-Token).
    ``refresh_token`` is ``None`` where the service has none (Apple, Deezer).
    ``expires_at`` is ``None`` when the token does not expire (Deezer ``offline_access``).
    Token values are excluded from ``repr`` so they never reach logs by accident.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret

    def expires_within(self, clock: Clock, margin: timedelta = timedelta(minutes=5)) -> bool:
        """True when the access token is expired or will be within ``margin``."""
        return self.expires_at is not None and self.expires_at - margin <= clock.now()


@dataclass(frozen=True)
class PlatformAccount:
    """The fan's account on a service.

    ``id`` is the stable account id to link on (Spotify: ``account_id`` when present, else
    ``id``); ``None`` where the service exposes none (Apple Music). ``country`` is an
    upper-case ISO 3166-1 alpha-2 code when the service says it (Spotify development mode
    does not; Apple gives the storefront).
    """

    service: str
    id: str | None
    display_name: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class TrackInfo:
    """One track of a release as the service lists it; ``isrc`` is often absent in lists."""

    id: str
    title: str
    isrc: str | None = None
    duration_ms: int | None = None
    uri: str | None = None


@dataclass(frozen=True)
class ReleaseMatch:
    """A release (or a single track, ``kind="track"``) found on a service.

    ``id`` is the id the service's actions take (Spotify album id, Apple catalog id, ...),
    ``uri`` the service URI where one exists (``spotify:album:…``, ``soundcloud:tracks:…``),
    ``url`` the public web URL for smart links. ``release_date`` is the service's text
    (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``). ``country`` is the market/storefront it was
    found in, when the lookup was per country.
    """

    service: str
    kind: Literal["album", "track", "playlist"]
    id: str
    title: str
    url: str | None = None
    uri: str | None = None
    artists: tuple[str, ...] = ()
    artist_ids: tuple[str, ...] = ()
    upc: str | None = None
    isrc: str | None = None
    release_date: str | None = None
    track_count: int | None = None
    tracks: tuple[TrackInfo, ...] = ()
    artwork_url: str | None = None
    is_preorder: bool = False
    is_single: bool = False
    country: str | None = None


@dataclass(frozen=True)
class TrackMatch:
    """A track found by ISRC; ``album_id`` is its release on that service when known."""

    service: str
    id: str
    title: str
    url: str | None = None
    uri: str | None = None
    artists: tuple[str, ...] = ()
    artist_ids: tuple[str, ...] = ()
    isrc: str | None = None
    duration_ms: int | None = None
    album_id: str | None = None
    album_title: str | None = None
    release_date: str | None = None
    artwork_url: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class PlaylistInfo:
    """A playlist the fan can add items to: one they own (``owned``) or collaborate on.

    ``track_count`` is ``None`` when the service's list does not say.
    """

    id: str
    name: str
    owned: bool = True
    track_count: int | None = None


@dataclass(frozen=True)
class ActionResult:
    """What one action did.

    ``targets`` are the ids the service accepted; ``already_done`` the subset it reported as
    already saved/followed (still success). ``skipped`` are ids the service cannot act on
    (e.g. an album on YouTube, where only the tracks can be liked). ``confirmed`` is False
    when the service accepts without saying whether it applied (Apple's 202 ignores unknown
    ids). ``created_id`` is set by ``create_playlist``. ``requests`` counts HTTP calls made.
    """

    service: str
    action: Capability
    targets: tuple[str, ...]
    already_done: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    confirmed: bool = True
    created_id: str | None = None
    requests: int = 0


@runtime_checkable
class Connector(Protocol):
    """One streaming service, spoken through its real API.

    Identity and health
        ``service`` is the registry key. ``capabilities`` lists what works; every method whose
        capability is absent raises ``NotSupported``. ``available`` is False when credentials
        are missing; then every network method raises ``Unavailable`` and
        ``unavailable_reason`` says why in words fit for the dashboard. ``mode`` is the
        service's operating mode where one exists (Spotify: ``development``/``extended``),
        else ``None``.

    OAuth (capability ``oauth``)
        ``authorization_url`` builds the consent URL (PKCE S256 where the service supports it;
        the caller keeps ``state`` and the verifier). ``exchange_code`` trades the callback
        code for a :class:`TokenSet`. ``refresh`` returns a NEW token set: it carries the
        rotated refresh token when the service issued one (Spotify PKCE, SoundCloud, TIDAL)
        and the old one otherwise. Rotated refresh tokens are single-use, so the CALLER must
        persist the returned set (atomically) before using it — a crash between refresh and
        persist loses the grant. ``current_user`` returns the linked account.
        ``scopes_for(actions)`` gives the fewest scopes covering those actions, and
        ``describe_scope`` explains one in plain words for the fan.

    Lookups (app credentials only; no fan grant)
        ``country`` is an ISO alpha-2 code (market / storefront / countryCode); ``None`` uses
        the connector's default. Each returns ``None`` (or ``[]``) when nothing matches —
        a not-yet-delivered release is a normal ``None``, not an error. Services without a
        UPC/ISRC lookup (SoundCloud, YouTube) find a release from its link: a destination
        URL ``recognises_release_url`` accepts, passed to ``lookup_url``.
        ``capability_gap`` says which setting would add a missing capability.

    Actions (the fan's grant)
        Batched where the API allows; "already saved/followed" is success. A service that can
        only save tracks (YouTube: ``save_tracks`` without ``save_release``) takes
        ``save_release`` with ``track_ids`` and reports the album id in ``skipped``. Ids are
        each service's own (SoundCloud: URNs). Every action takes
        an optional ``idempotency_key`` (sent as ``Idempotency-Key`` to services that honour
        it, TIDAL); retries of writes happen only where the write is idempotent.
        ``AccessTokenExpired`` means: refresh once and retry (:func:`run_with_refresh`).
    """

    service: str
    capabilities: frozenset[Capability]

    @property
    def available(self) -> bool: ...

    @property
    def unavailable_reason(self) -> str | None: ...

    @property
    def mode(self) -> str | None: ...

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str: ...

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenSet: ...

    async def refresh(self, tokens: TokenSet) -> TokenSet: ...

    async def current_user(self, tokens: TokenSet) -> PlatformAccount: ...

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]: ...

    def describe_scope(self, scope: str) -> str: ...

    def capability_gap(self, capability: Capability) -> str | None:
        """Why ``capability`` is absent when the cause is configuration (what to set)."""
        ...

    def recognises_release_url(self, url: str) -> bool:
        """Whether ``lookup_url`` can resolve ``url`` to a release (album or track)."""
        ...

    async def find_release_by_upc(
        self, upc: str, *, country: str | None = None
    ) -> ReleaseMatch | None: ...

    async def find_track_by_isrc(
        self, isrc: str, *, country: str | None = None
    ) -> TrackMatch | None: ...

    async def lookup_url(self, url: str) -> ReleaseMatch | None: ...

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]: ...

    async def save_release(
        self,
        tokens: TokenSet,
        *,
        album_id: str,
        track_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ActionResult: ...

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult: ...

    async def add_to_playlist(
        self,
        tokens: TokenSet,
        *,
        playlist_id: str,
        track_ids: Sequence[str],
        idempotency_key: str | None = None,
    ) -> ActionResult: ...

    async def create_playlist(
        self,
        tokens: TokenSet,
        *,
        name: str,
        description: str = "",
        public: bool = False,
        idempotency_key: str | None = None,
    ) -> ActionResult: ...

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult: ...

    async def preadd(
        self, tokens: TokenSet, *, album_id: str, idempotency_key: str | None = None
    ) -> ActionResult: ...

    async def list_playlists(self, tokens: TokenSet, *, limit: int = 50) -> list[PlaylistInfo]:
        """Up to ``limit`` playlists the fan can add items to (capability ``playlist_read``):
        owned or collaborative ones; followed playlists of others are left out."""
        ...

    async def aclose(self) -> None: ...


T = TypeVar("T")


async def run_with_refresh(
    connector: Connector,
    tokens: TokenSet,
    action: Callable[[TokenSet], Awaitable[T]],
    *,
    persist: Callable[[TokenSet], Awaitable[None]],
) -> T:
    """Run ``action`` with the fan's tokens, refreshing once on ``AccessTokenExpired``.

    The refreshed set is handed to ``persist`` BEFORE it is used, because rotated refresh
    tokens are single-use. A second ``AccessTokenExpired`` right after a successful refresh
    means the grant is dead and becomes ``AuthRevoked``.
    """
    try:
        return await action(tokens)
    except AccessTokenExpired:
        if tokens.refresh_token is None:
            raise AuthRevoked(
                "access token expired and the service issues no refresh token",
                service=connector.service,
            ) from None
    fresh = await connector.refresh(tokens)
    await persist(fresh)
    try:
        return await action(fresh)
    except AccessTokenExpired as error:
        raise AuthRevoked(
            "access token refused right after a refresh", service=connector.service
        ) from error
