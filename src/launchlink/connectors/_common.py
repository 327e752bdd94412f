"""Shared defaults for connector classes: availability, capability checks, UPC forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from launchlink.connectors._json import as_str
from launchlink.connectors.base import (
    ActionResult,
    Capability,
    PlatformAccount,
    PlaylistInfo,
    ReleaseMatch,
    TokenSet,
    TrackMatch,
)
from launchlink.connectors.errors import NotSupported, PlatformError, Unavailable
from launchlink.connectors.oauth import OAuthAppSettings, TokenClient
from launchlink.kit.clock import Clock, SystemClock

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unique(items: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication (a repeated id must not cost a second call)."""
    return list(dict.fromkeys(item for item in items if item))


def upc_variants(upc: str) -> list[str]:
    """The forms a service may store a barcode under, the given one first.

    A 12-digit UPC-A is also an EAN-13 and a 14-digit GTIN with leading zeros (Apple's own
    example is ``00602445868162``); services match exactly, so each form is tried.
    """
    digits = "".join(char for char in upc if char.isdigit())
    if not digits:
        return []
    core = digits.lstrip("0") or "0"
    forms = [digits]
    for width in (12, 13, 14):
        if len(core) <= width:
            forms.append(core.zfill(width))
    return unique(forms)


def same_upc(left: str | None, right: str | None) -> bool:
    if not left or not right:
        return False
    return left.lstrip("0") == right.lstrip("0")


SETTINGS_PREFIX = "LAUNCHLINK_CONNECTORS__"


def setting_name(service: str, field: str) -> str:
    """The environment variable of one connector setting (``LAUNCHLINK_CONNECTORS__…``)."""
    return f"{SETTINGS_PREFIX}{service.upper()}__{field.upper()}"


def missing_credentials(
    service_name: str,
    credentials: Mapping[str, object],
    *,
    settings: Mapping[str, str] | None = None,
) -> str | None:
    """Why a connector is unavailable, or None.

    ``settings`` maps a credential's name to the environment variable(s) that set it, so
    the reason names what to configure: "Spotify client secret not configured (set
    LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_SECRET)".
    """
    missing = [name for name, value in credentials.items() if not value]
    if not missing:
        return None
    names = " and ".join(missing) if len(missing) < 3 else ", ".join(missing)
    reason = f"{service_name} {names} not configured"
    variables = [settings[name] for name in missing if settings and name in settings]
    if variables:
        reason += f" (set {', '.join(variables)})"
    return reason


def missing_client_credentials(
    service_name: str, service: str, *, client_id: object, client_secret: object
) -> str | None:
    """Why an OAuth app without its client id or secret is unavailable (see
    :func:`missing_credentials`), naming the two settings to set."""
    return missing_credentials(
        service_name,
        {"client ID": client_id, "client secret": client_secret},
        settings={
            "client ID": setting_name(service, "client_id"),
            "client secret": setting_name(service, "client_secret"),
        },
    )


CATALOGUE_LOOKUPS = frozenset(
    {Capability.LOOKUP_UPC, Capability.LOOKUP_ISRC, Capability.LOOKUP_URL, Capability.SEARCH}
)
"""What a service with a real catalogue API answers with the app's credentials alone."""
LIBRARY_ACTIONS = frozenset(
    {
        Capability.SAVE_RELEASE,
        Capability.SAVE_TRACKS,
        Capability.FOLLOW_ARTIST,
        Capability.PLAYLIST_ADD,
        Capability.PLAYLIST_FOLLOW,
    }
)
"""What a service with a full library API does with the fan's grant."""


async def send_in_batches(
    items: Sequence[str], size: int, send: Callable[[Sequence[str]], Awaitable[object]]
) -> int:
    """``send`` each batch of at most ``size`` items, in order; the number of requests."""
    requests = 0
    for batch in chunks(items, size):
        await send(batch)
        requests += 1
    return requests


async def playlist_added(
    service: str,
    track_ids: Sequence[str],
    size: int,
    send: Callable[[Sequence[str]], Awaitable[object]],
) -> ActionResult:
    """``add_to_playlist``: each track once, in batches of ``size``. Appending is not
    idempotent (a replay adds the tracks twice), so ``send`` must not retry."""
    tracks = unique(track_ids)
    requests = await send_in_batches(tracks, size, send)
    return ActionResult(
        service=service, action=Capability.PLAYLIST_ADD, targets=tuple(tracks), requests=requests
    )


Item = dict[str, Any]


async def writable_playlists(
    page_at: Callable[[int], Awaitable[tuple[list[Item], bool]]],
    *,
    me: str | None,
    owner: Callable[[Item], str | None],
    describe: Callable[[Item, str, bool], PlaylistInfo],
    limit: int,
    max_pages: int,
) -> list[PlaylistInfo]:
    """The fan's own and collaborative playlists (only those accept new items), read page
    by page: ``page_at(offset)`` answers (items, whether more follow), until ``limit``
    playlists or ``max_pages`` pages; ``describe(item, id, owned)`` maps one."""
    found: list[PlaylistInfo] = []
    offset = 0
    for _page in range(max_pages):
        if len(found) >= limit:
            break
        items, more = await page_at(offset)
        for item in items:
            playlist_id = as_str(item.get("id"))
            owned = me is not None and owner(item) == me
            if not playlist_id or not (owned or item.get("collaborative") is True):
                continue
            found.append(describe(item, playlist_id, owned))
        offset += len(items)
        if not items or not more:
            break
    return found[:limit]


def created_playlist(
    service: str, playlist_id: str | None, *, status: int | None = None
) -> ActionResult:
    """The result of ``create_playlist`` from the id the service answered with."""
    if not playlist_id:
        raise PlatformError("playlist created without an id", service=service, status=status)
    return ActionResult(
        service=service,
        action=Capability.PLAYLIST_ADD,
        targets=(playlist_id,),
        created_id=playlist_id,
        requests=1,
    )


class ConnectorBase:
    """Defaults every connector shares: unsupported methods raise ``NotSupported``.

    Subclasses set ``service`` and ``capabilities`` and override what they support.
    """

    service: str = ""
    capabilities: frozenset[Capability] = frozenset()
    scope_descriptions: Mapping[str, str] = {}

    def __init__(self, *, clock: Clock, unavailable_reason: str | None) -> None:
        self._clock = clock
        self._unavailable_reason = unavailable_reason

    @property
    def available(self) -> bool:
        return self._unavailable_reason is None

    @property
    def unavailable_reason(self) -> str | None:
        return self._unavailable_reason

    @property
    def mode(self) -> str | None:
        return None

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise NotSupported(f"{self.service} cannot {capability.value}", service=self.service)
        if self._unavailable_reason is not None:
            raise Unavailable(self._unavailable_reason, service=self.service)

    def _require_available(self) -> None:
        if self._unavailable_reason is not None:
            raise Unavailable(self._unavailable_reason, service=self.service)

    def describe_scope(self, scope: str) -> str:
        return self.scope_descriptions.get(scope, scope)

    def capability_gap(self, capability: Capability) -> str | None:
        """Why ``capability`` is missing when configuration, not the service, is the cause
        (YouTube's catalogue reads need an API key); ``None`` otherwise."""
        del capability
        return None

    def recognises_release_url(self, url: str) -> bool:
        """Whether ``url`` is a release (album or track) link ``lookup_url`` can resolve."""
        del url
        return False

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]:
        del actions
        return []

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        self._require(Capability.OAUTH)
        raise NotSupported("no OAuth", service=self.service)

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        self._require(Capability.OAUTH)
        raise NotSupported("no OAuth", service=self.service)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise NotSupported(f"{self.service} issues no refresh tokens", service=self.service)

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        raise NotSupported("no user profile", service=self.service)

    async def find_release_by_upc(
        self, upc: str, *, country: str | None = None
    ) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_UPC)
        return None

    async def find_track_by_isrc(
        self, isrc: str, *, country: str | None = None
    ) -> TrackMatch | None:
        self._require(Capability.LOOKUP_ISRC)
        return None

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        return None

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        return []

    async def save_release(
        self,
        tokens: TokenSet,
        *,
        album_id: str,
        track_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ActionResult:
        self._require(Capability.SAVE_RELEASE)
        raise NotSupported("cannot save releases", service=self.service)

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.FOLLOW_ARTIST)
        raise NotSupported("cannot follow artists", service=self.service)

    async def add_to_playlist(
        self,
        tokens: TokenSet,
        *,
        playlist_id: str,
        track_ids: Sequence[str],
        idempotency_key: str | None = None,
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_ADD)
        raise NotSupported("cannot add to playlists", service=self.service)

    async def create_playlist(
        self,
        tokens: TokenSet,
        *,
        name: str,
        description: str = "",
        public: bool = False,
        idempotency_key: str | None = None,
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_ADD)
        raise NotSupported("cannot create playlists", service=self.service)

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_FOLLOW)
        raise NotSupported("cannot follow playlists", service=self.service)

    async def preadd(
        self, tokens: TokenSet, *, album_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PREADD)
        raise NotSupported("no native pre-add", service=self.service)

    async def list_playlists(self, tokens: TokenSet, *, limit: int = 50) -> list[PlaylistInfo]:
        self._require(Capability.PLAYLIST_READ)
        raise NotSupported("cannot list playlists", service=self.service)

    async def aclose(self) -> None:
        return None


class OAuthConnector(ConnectorBase):
    """A connector whose fans grant access through a standard OAuth 2 token endpoint.

    The consent URL, the code exchange and the refresh all go through the one
    :class:`~launchlink.connectors.oauth.TokenClient` the subclass sets as ``oauth``; what
    differs between services is how that client is configured, not these methods.
    """

    oauth: TokenClient
    display_name: ClassVar[str]
    """The service's name in messages ("Spotify client secret not configured")."""

    def __init__(self, settings: OAuthAppSettings, *, clock: Clock | None) -> None:
        # Without its client id and secret the app is present but unavailable, saying why.
        reason = missing_client_credentials(
            self.display_name,
            self.service,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        )
        super().__init__(clock=clock or SystemClock(), unavailable_reason=reason)

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        self._require(Capability.OAUTH)
        return self.oauth.authorization_url(
            state=state, code_challenge=code_challenge, redirect_uri=redirect_uri, scopes=scopes
        )

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        self._require(Capability.OAUTH)
        return await self.oauth.exchange_code(
            code=code, code_verifier=code_verifier, redirect_uri=redirect_uri
        )

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """A new token set; rotated refresh tokens are single-use: persist it first."""
        self._require(Capability.OAUTH)
        return await self.oauth.refresh(tokens)
