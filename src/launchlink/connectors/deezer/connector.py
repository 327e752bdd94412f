"""Deezer connector. Favourites are Deezer's library: albums, tracks, artists, playlists.

Deezer grants never expire with ``offline_access`` and there are no refresh tokens, so
``refresh`` is not supported; a revoked token answers code 300 → ``AuthRevoked``.
New app registration has been closed since 2025: only operators with an existing app id
can enable this connector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from launchlink.connectors._common import (
    CATALOGUE_LOOKUPS,
    LIBRARY_ACTIONS,
    ConnectorBase,
    created_playlist,
    missing_credentials,
    playlist_added,
    same_upc,
    setting_name,
    unique,
    upc_variants,
    writable_playlists,
)
from launchlink.connectors._json import as_dict, as_int, as_list, as_str, dig
from launchlink.connectors.base import (
    ActionResult,
    Capability,
    PlatformAccount,
    PlaylistInfo,
    ReleaseMatch,
    TokenSet,
    TrackInfo,
    TrackMatch,
)
from launchlink.connectors.deezer.client import SERVICE, DeezerClient
from launchlink.connectors.errors import NotFound
from launchlink.connectors.settings import DeezerSettings
from launchlink.kit.clock import Clock, SystemClock

PLAYLIST_TRACK_BATCH = 50
_HOSTS = {"deezer.com", "www.deezer.com"}
_PATH = re.compile(r"^/(?:[a-z]{2}(?:-[a-z]{2})?/)?(album|track)/(\d+)/?$")

PERMS = MappingProxyType(
    {
        "basic_access": "See your Deezer name and country.",
        "offline_access": "Keep access until release day, so the save happens without you.",
        "manage_library": "Add the release and the artist to your Deezer favourites.",
    }
)
PLAYLIST_PAGE = 50
PLAYLIST_MAX_PAGES = 6
_ACTION_PERMS: dict[Capability, tuple[str, ...]] = {
    Capability.SAVE_RELEASE: ("manage_library",),
    Capability.SAVE_TRACKS: ("manage_library",),
    Capability.FOLLOW_ARTIST: ("manage_library",),
    Capability.PLAYLIST_ADD: ("manage_library",),
    Capability.PLAYLIST_FOLLOW: ("manage_library",),
}


def parse_deezer_url(url: str) -> tuple[str, str] | None:
    """``("album"|"track", id)`` from a deezer.com URL (short link.deezer.com links need a
    fetch and are not resolved here)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or parts.hostname not in _HOSTS:
        return None
    found = _PATH.match(parts.path)
    return (found.group(1), found.group(2)) if found else None


def _track_info(track: dict[str, Any]) -> TrackInfo:
    seconds = as_int(track.get("duration"))
    return TrackInfo(
        id=as_str(track.get("id")) or "",
        title=as_str(track.get("title")) or "",
        isrc=as_str(track.get("isrc")),
        duration_ms=seconds * 1000 if seconds is not None else None,
    )


def _artists(item: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    contributors = [
        as_dict(c) for c in as_list(item.get("contributors")) if as_dict(c).get("role") == "Main"
    ]
    people = contributors or [as_dict(item.get("artist"))]
    names = tuple(name for person in people if (name := as_str(person.get("name"))))
    ids = tuple(artist_id for person in people if (artist_id := as_str(person.get("id"))))
    return names, ids


def album_match(album: dict[str, Any]) -> ReleaseMatch:
    album_id = as_str(album.get("id")) or ""
    tracks = tuple(
        _track_info(as_dict(track))
        for track in as_list(dig(album, "tracks", "data"))
        if as_str(as_dict(track).get("id"))
    )
    names, ids = _artists(album)
    return ReleaseMatch(
        service=SERVICE,
        kind="album",
        id=album_id,
        title=as_str(album.get("title")) or "",
        url=as_str(album.get("link")) or f"https://www.deezer.com/album/{album_id}",
        artists=names,
        artist_ids=ids,
        upc=as_str(album.get("upc")),
        release_date=as_str(album.get("release_date")),
        track_count=as_int(album.get("nb_tracks")) or (len(tracks) or None),
        tracks=tracks,
        artwork_url=as_str(album.get("cover_xl")) or as_str(album.get("cover")),
        is_single=as_str(album.get("record_type")) == "single",
    )


class DeezerConnector(ConnectorBase):
    """Deezer REST API with Deezer's OAuth variant (app id + secret, token in the query)."""

    service = SERVICE
    capabilities = frozenset(
        {Capability.OAUTH, *CATALOGUE_LOOKUPS, *LIBRARY_ACTIONS, Capability.PLAYLIST_READ}
    )
    scope_descriptions = PERMS

    def __init__(
        self,
        settings: DeezerSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        reason = missing_credentials(
            "Deezer",
            {"app ID": settings.app_id, "secret": settings.secret},
            settings={
                "app ID": setting_name(SERVICE, "app_id"),
                "secret": setting_name(SERVICE, "secret"),
            },
        )
        if reason is not None:
            reason += "; Deezer no longer registers new apps"
        super().__init__(clock=clock or SystemClock(), unavailable_reason=reason)
        self.settings = settings
        self.client = DeezerClient(settings, transport=transport)

    def recognises_release_url(self, url: str) -> bool:
        return parse_deezer_url(url) is not None

    # -- OAuth ------------------------------------------------------------------------------

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]:
        wanted = {"basic_access", "offline_access"}
        wanted.update(perm for action in actions for perm in _ACTION_PERMS.get(action, ()))
        return [perm for perm in PERMS if perm in wanted]

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        """Deezer has no PKCE: ``code_challenge`` is ignored (``state`` still protects)."""
        self._require(Capability.OAUTH)
        query = {
            "app_id": self.settings.app_id or "",
            "redirect_uri": redirect_uri,
            "perms": ",".join(scopes),
            "state": state,
        }
        return f"{self.client.connect_url}/oauth/auth.php?{urlencode(query)}"

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        self._require(Capability.OAUTH)
        token, expires = await self.client.access_token(code)
        expires_at = self._clock.now() + timedelta(seconds=expires) if expires > 0 else None
        return TokenSet(access_token=token, expires_at=expires_at)

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        self._require_available()
        me = as_dict(
            await self.client.call("GET", "/user/me", token=tokens.access_token, retry_safe=True)
        )
        country = as_str(me.get("country"))
        return PlatformAccount(
            service=SERVICE,
            id=as_str(me.get("id")),
            display_name=as_str(me.get("name")),
            country=country.upper() if country else None,
        )

    # -- lookups (no token needed) ----------------------------------------------------------

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        try:
            return as_dict(await self.client.call("GET", path, params=params, retry_safe=True))
        except NotFound:
            return None

    async def find_release_by_upc(
        self, upc: str, *, country: str | None = None
    ) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_UPC)
        for form in upc_variants(upc):
            album = await self._get(f"/album/upc:{form}")
            if album and as_str(album.get("id")):
                stored = as_str(album.get("upc"))
                if stored is None or same_upc(stored, upc):
                    return album_match(album)
        return None

    async def find_track_by_isrc(
        self, isrc: str, *, country: str | None = None
    ) -> TrackMatch | None:
        self._require(Capability.LOOKUP_ISRC)
        track = await self._get(f"/track/isrc:{isrc.strip().upper()}")
        if not track or not as_str(track.get("id")):
            return None
        return self._track_match(track)

    def _track_match(self, track: dict[str, Any]) -> TrackMatch:
        track_id = as_str(track.get("id")) or ""
        names, ids = _artists(track)
        seconds = as_int(track.get("duration"))
        album = as_dict(track.get("album"))
        return TrackMatch(
            service=SERVICE,
            id=track_id,
            title=as_str(track.get("title")) or "",
            url=as_str(track.get("link")) or f"https://www.deezer.com/track/{track_id}",
            artists=names,
            artist_ids=ids,
            isrc=as_str(track.get("isrc")),
            duration_ms=seconds * 1000 if seconds is not None else None,
            album_id=as_str(album.get("id")),
            album_title=as_str(album.get("title")),
            release_date=as_str(track.get("release_date")),
            artwork_url=as_str(album.get("cover_xl")),
        )

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        parsed = parse_deezer_url(url)
        if parsed is None:
            return None
        kind, item_id = parsed
        found = await self._get(f"/{kind}/{item_id}")
        if not found or not as_str(found.get("id")):
            return None
        if kind == "album":
            return album_match(found)
        track = self._track_match(found)
        return ReleaseMatch(
            service=SERVICE,
            kind="track",
            id=track.id,
            title=track.title,
            url=track.url,
            artists=track.artists,
            artist_ids=track.artist_ids,
            isrc=track.isrc,
            release_date=track.release_date,
            track_count=1,
            tracks=(TrackInfo(track.id, track.title, track.isrc, track.duration_ms),),
            artwork_url=track.artwork_url,
        )

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        # Plain words: Deezer's field syntax (album:"…") is not in our platform notes.
        query = " ".join([title, *artists[:1]])
        found = await self._get("/search/album", {"q": query, "limit": "10"})
        return [
            album_match(as_dict(item))
            for item in as_list((found or {}).get("data"))
            if as_str(as_dict(item).get("id"))
        ]

    # -- favourites -------------------------------------------------------------------------

    async def _favourite(self, tokens: TokenSet, kind: str, param: str, item_id: str) -> None:
        # Favouriting is set-like (a second add changes nothing): safe to retry.
        await self.client.call(
            "POST",
            f"/user/me/{kind}",
            token=tokens.access_token,
            params={param: item_id},
            retry_safe=True,
        )

    async def save_release(
        self,
        tokens: TokenSet,
        *,
        album_id: str,
        track_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ActionResult:
        self._require(Capability.SAVE_RELEASE)
        tracks = unique(track_ids)
        await self._favourite(tokens, "albums", "album_id", album_id)
        for track in tracks:
            await self._favourite(tokens, "tracks", "track_id", track)
        return ActionResult(
            service=SERVICE,
            action=Capability.SAVE_RELEASE,
            targets=(album_id, *tracks),
            requests=1 + len(tracks),
        )

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.FOLLOW_ARTIST)
        artists = unique(artist_ids)
        for artist in artists:
            await self._favourite(tokens, "artists", "artist_id", artist)
        return ActionResult(
            service=SERVICE,
            action=Capability.FOLLOW_ARTIST,
            targets=tuple(artists),
            requests=len(artists),
        )

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_FOLLOW)
        await self._favourite(tokens, "playlists", "playlist_id", playlist_id)
        return ActionResult(
            service=SERVICE, action=Capability.PLAYLIST_FOLLOW, targets=(playlist_id,), requests=1
        )

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
        created = await self.client.call(
            "POST",
            "/user/me/playlists",
            token=tokens.access_token,
            params={"title": name},
            retry_safe=False,
        )
        return created_playlist(SERVICE, as_str(as_dict(created).get("id")))

    async def add_to_playlist(
        self,
        tokens: TokenSet,
        *,
        playlist_id: str,
        track_ids: Sequence[str],
        idempotency_key: str | None = None,
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_ADD)

        async def add(batch: Sequence[str]) -> object:
            return await self.client.call(
                "POST",
                f"/playlist/{playlist_id}/tracks",
                token=tokens.access_token,
                params={"songs": ",".join(batch)},
                retry_safe=False,
            )

        return await playlist_added(SERVICE, track_ids, PLAYLIST_TRACK_BATCH, add)

    async def list_playlists(self, tokens: TokenSet, *, limit: int = 50) -> list[PlaylistInfo]:
        """``GET /user/me/playlists`` (``basic_access``): own and collaborative playlists;
        favourite playlists of others are left out (Deezer refuses tracks added to them)."""
        self._require(Capability.PLAYLIST_READ)
        me = await self.current_user(tokens)

        async def page_at(index: int) -> tuple[list[dict[str, Any]], bool]:
            page = as_dict(
                await self.client.call(
                    "GET",
                    "/user/me/playlists",
                    token=tokens.access_token,
                    params={"index": str(index), "limit": str(PLAYLIST_PAGE)},
                    retry_safe=True,
                )
            )
            return [as_dict(item) for item in as_list(page.get("data"))], bool(page.get("next"))

        def describe(item: dict[str, Any], playlist_id: str, owned: bool) -> PlaylistInfo:
            name = as_str(item.get("title")) or ""
            count = as_int(item.get("nb_tracks"))
            return PlaylistInfo(id=playlist_id, name=name, owned=owned, track_count=count)

        return await writable_playlists(
            page_at,
            me=me.id,
            owner=lambda item: as_str(dig(item, "creator", "id")),
            describe=describe,
            limit=limit,
            max_pages=PLAYLIST_MAX_PAGES,
        )

    async def aclose(self) -> None:
        await self.client.aclose()
