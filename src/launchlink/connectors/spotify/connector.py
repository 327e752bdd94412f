"""Spotify connector: maps the Web API to launchlink's connector interface.

Saves and playlist follows go through ``PUT /me/library`` (≤ 40 URIs a call; the only form
left for development-mode apps since February 2026). Extended-quota operators may choose the
legacy endpoints (``library_endpoints="legacy"``): ``PUT /me/albums`` (≤ 20 ids in the
query), ``PUT /me/tracks`` (≤ 50 ids in the body) and ``PUT /playlists/{id}/followers``.
Artist follows use ``PUT /me/following?type=artist`` (≤ 50) on extended-quota apps and
``PUT /me/library`` with artist URIs in development mode (see ``_follow_by_following``).

Scopes are the fewest per action (``scopes_for``); ``user-library-read`` comes with every
save because fulfilment checks ``GET /me/library/contains`` before repeating an interrupted
one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from launchlink.connectors._common import (
    CATALOGUE_LOOKUPS,
    LIBRARY_ACTIONS,
    OAuthConnector,
    chunks,
    created_playlist,
    playlist_added,
    same_upc,
    unique,
    upc_variants,
    writable_playlists,
)
from launchlink.connectors._json import as_dict, as_int, as_list, as_str, dig, str_tuple
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
from launchlink.connectors.errors import NotAllowed, PlatformError
from launchlink.connectors.settings import SpotifySettings
from launchlink.connectors.spotify.client import SERVICE, SpotifyClient
from launchlink.kit.clock import Clock

LIBRARY_BATCH = 40
LEGACY_ALBUM_BATCH = 20
LEGACY_BODY_BATCH = 50
PLAYLIST_ITEMS_BATCH = 100

_ID = r"[A-Za-z0-9]{22}"
_WEB_URL = re.compile(
    rf"^https?://(?:open|play)\.spotify\.com/(?:intl-[a-zA-Z-]+/)?(?:embed/)?(album|track)/({_ID})(?:[/?#].*)?$"
)
_URI = re.compile(rf"^spotify:(album|track):({_ID})$")

SCOPES: dict[str, str] = {
    "user-library-modify": "Save the release (album and tracks) to your Spotify library.",
    "user-library-read": "Check whether the release is already in your library, so it is "
    "never saved twice.",
    "user-follow-modify": "Follow the artist on Spotify.",
    "playlist-modify-public": "Follow a playlist, or add tracks to your public playlists.",
    "playlist-modify-private": "Create a private playlist and add the release to it.",
    "playlist-read-private": "See your playlists, so you can pick the one to add the release to.",
}
"""Every scope launchlink may ask for. ``user-read-private`` is not among them: the only
thing it adds to ``GET /me`` is the account's country (and plan), which development-mode
apps never receive since February 2026; the fan's country comes from the pre-save page."""

# The save is checked with GET /me/library/contains before it is repeated after an
# interrupted call (fulfilment), which needs user-library-read.
_ACTION_SCOPES: dict[Capability, tuple[str, ...]] = {
    Capability.SAVE_RELEASE: ("user-library-modify", "user-library-read"),
    Capability.SAVE_TRACKS: ("user-library-modify", "user-library-read"),
    Capability.FOLLOW_ARTIST: ("user-follow-modify",),
    Capability.PLAYLIST_ADD: ("playlist-modify-private",),
    Capability.PLAYLIST_FOLLOW: ("playlist-modify-public",),
    Capability.PLAYLIST_READ: ("playlist-read-private",),
}
PLAYLIST_PAGE = 50
"""``GET /me/playlists`` takes ``limit`` 1-50 (OpenAPI ``QueryLimit``)."""
PLAYLIST_MAX_PAGES = 6
"""Bounds the listing for fans who follow hundreds of others' playlists (a page each)."""


def parse_spotify_url(url: str) -> tuple[str, str] | None:
    """``("album"|"track", id)`` from an open.spotify.com URL or a ``spotify:`` URI."""
    text = url.strip()
    found = _WEB_URL.match(text) or _URI.match(text)
    return (found.group(1), found.group(2)) if found else None


def _artwork(images: object) -> str | None:
    candidates = [as_dict(image) for image in as_list(images)]
    candidates = [image for image in candidates if as_str(image.get("url"))]
    if not candidates:
        return None
    best = max(candidates, key=lambda image: as_int(image.get("width")) or 0)
    return as_str(best.get("url"))


def album_match(album: dict[str, Any], *, country: str | None) -> ReleaseMatch:
    album_id = as_str(album.get("id")) or ""
    tracks = tuple(
        TrackInfo(
            id=as_str(item.get("id")) or "",
            title=as_str(item.get("name")) or "",
            isrc=as_str(dig(item, "external_ids", "isrc")),
            duration_ms=as_int(item.get("duration_ms")),
            uri=as_str(item.get("uri")),
        )
        for item in (as_dict(track) for track in as_list(dig(album, "tracks", "items")))
        if as_str(item.get("id"))
    )
    return ReleaseMatch(
        service=SERVICE,
        kind="album",
        id=album_id,
        title=as_str(album.get("name")) or "",
        url=as_str(dig(album, "external_urls", "spotify"))
        or f"https://open.spotify.com/album/{album_id}",
        uri=as_str(album.get("uri")) or f"spotify:album:{album_id}",
        artists=str_tuple(album.get("artists")),
        artist_ids=str_tuple(album.get("artists"), "id"),
        upc=as_str(dig(album, "external_ids", "upc")) or as_str(dig(album, "external_ids", "ean")),
        release_date=as_str(album.get("release_date")),
        track_count=as_int(album.get("total_tracks")) or (len(tracks) or None),
        tracks=tracks,
        artwork_url=_artwork(album.get("images")),
        is_single=as_str(album.get("album_type")) == "single",
        country=country,
    )


def _track_fields(track: dict[str, Any]) -> dict[str, Any]:
    track_id = as_str(track.get("id")) or ""
    album = as_dict(track.get("album"))
    return {
        "id": track_id,
        "title": as_str(track.get("name")) or "",
        "url": as_str(dig(track, "external_urls", "spotify"))
        or f"https://open.spotify.com/track/{track_id}",
        "uri": as_str(track.get("uri")) or f"spotify:track:{track_id}",
        "artists": str_tuple(track.get("artists")),
        "artist_ids": str_tuple(track.get("artists"), "id"),
        "isrc": as_str(dig(track, "external_ids", "isrc")),
        "release_date": as_str(album.get("release_date")),
        "artwork_url": _artwork(album.get("images")),
    }


class SpotifyConnector(OAuthConnector):
    """Spotify Web API (accounts + v1), development or extended quota mode."""

    service = SERVICE
    display_name = "Spotify"
    capabilities = frozenset(
        {Capability.OAUTH, *CATALOGUE_LOOKUPS, *LIBRARY_ACTIONS, Capability.PLAYLIST_READ}
    )
    scope_descriptions = SCOPES

    def __init__(
        self,
        settings: SpotifySettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, clock=clock)
        self.settings = settings
        self.client = SpotifyClient(settings, clock=self._clock, transport=transport)
        self.oauth = self.client.oauth

    @property
    def mode(self) -> str:
        return self.settings.quota_mode

    @property
    def _legacy(self) -> bool:
        return self.settings.library_endpoints == "legacy"

    @property
    def _follow_by_following(self) -> bool:
        """Artists are followed with ``PUT /me/following?type=artist`` where it still exists.

        The OpenAPI reference documents artist follows only there (``PUT /me/library``
        lists tracks, albums, episodes, shows, audiobooks, users and playlists, not
        artists); it is removed for development-mode apps, for which the February 2026
        migration guide documents ``PUT /me/library?uris=spotify:artist:…`` instead.
        See docs/platform-notes.md.
        """
        return self.settings.quota_mode == "extended"

    def recognises_release_url(self, url: str) -> bool:
        return parse_spotify_url(url) is not None

    def _market(self, country: str | None) -> str:
        return (country or self.settings.default_market).upper()

    # -- OAuth ------------------------------------------------------------------------------

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]:
        chosen = set(actions)
        wanted = {scope for action in chosen for scope in _ACTION_SCOPES.get(action, ())}
        if {Capability.PLAYLIST_READ, Capability.PLAYLIST_ADD} <= chosen:
            # The fan may pick one of their public playlists: adding to it needs -public.
            wanted.add("playlist-modify-public")
        return [scope for scope in SCOPES if scope in wanted]

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        self._require_available()
        me = as_dict(
            await self.client.call("GET", "/me", token=tokens.access_token, retry_safe=True)
        )
        # Spotify (May 2026): link accounts on account_id, not id, when it is present.
        account_id = as_str(me.get("account_id")) or as_str(me.get("id"))
        # No country: it needs user-read-private, which launchlink does not ask for (SCOPES).
        return PlatformAccount(
            service=SERVICE, id=account_id, display_name=as_str(me.get("display_name"))
        )

    # -- lookups ----------------------------------------------------------------------------

    async def find_release_by_upc(
        self, upc: str, *, country: str | None = None
    ) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_UPC)
        market = self._market(country)
        checked: set[str] = set()
        for form in upc_variants(upc):
            hits = await self.client.search(
                query=f"upc:{form}", kind="album", market=market, limit=5
            )
            for hit in hits:
                album_id = as_str(hit.get("id"))
                if not album_id or album_id in checked:
                    continue
                checked.add(album_id)
                # Search results carry no external_ids: confirm the UPC on the full album.
                album = await self.client.album(album_id, market=market)
                if album is None:
                    continue
                stored = as_str(dig(album, "external_ids", "upc")) or as_str(
                    dig(album, "external_ids", "ean")
                )
                # external_ids vanished for a month in 2026; a upc: hit is then the best proof.
                if stored is None or same_upc(stored, upc):
                    return album_match(album, country=market)
        return None

    async def find_track_by_isrc(
        self, isrc: str, *, country: str | None = None
    ) -> TrackMatch | None:
        self._require(Capability.LOOKUP_ISRC)
        market = self._market(country)
        wanted = isrc.strip().upper()
        hits = await self.client.search(
            query=f"isrc:{wanted}", kind="track", market=market, limit=5
        )
        exact = [
            hit
            for hit in hits
            if (as_str(dig(hit, "external_ids", "isrc")) or "").upper() in {wanted, ""}
        ]
        if not exact:
            return None
        track = exact[0]
        album = as_dict(track.get("album"))
        return TrackMatch(
            service=SERVICE,
            duration_ms=as_int(track.get("duration_ms")),
            album_id=as_str(album.get("id")),
            album_title=as_str(album.get("name")),
            country=market,
            **_track_fields(track),
        )

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        parsed = parse_spotify_url(url)
        if parsed is None:
            return None
        kind, item_id = parsed
        market = self.settings.default_market
        if kind == "album":
            album = await self.client.album(item_id, market=market)
            return album_match(album, country=None) if album else None
        track = await self.client.track(item_id, market=market)
        if not track:
            return None
        fields = _track_fields(track)
        album = as_dict(track.get("album"))
        return ReleaseMatch(
            service=SERVICE,
            kind="track",
            track_count=1,
            tracks=(
                TrackInfo(
                    id=fields["id"],
                    title=fields["title"],
                    isrc=fields["isrc"],
                    duration_ms=as_int(track.get("duration_ms")),
                    uri=fields["uri"],
                ),
            ),
            is_single=as_str(album.get("album_type")) == "single",
            **fields,
        )

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        terms = [f'album:"{title}"', *(f'artist:"{name}"' for name in artists[:2])]
        hits = await self.client.search(
            query=" ".join(terms), kind="album", market=self._market(country), limit=10
        )
        if not hits:
            # Field filters are strict; plain words find releases whose title differs slightly.
            hits = await self.client.search(
                query=" ".join([title, *artists[:2]]),
                kind="album",
                market=self._market(country),
                limit=10,
            )
        return [album_match(hit, country=self._market(country)) for hit in hits]

    # -- actions ----------------------------------------------------------------------------

    async def _save_uris(self, tokens: TokenSet, uris: Sequence[str]) -> int:
        requests = 0
        for batch in chunks(uris, LIBRARY_BATCH):
            # PUT /me/library is idempotent (saving twice is 200): safe to retry.
            await self.client.call(
                "PUT",
                "/me/library",
                token=tokens.access_token,
                params={"uris": ",".join(batch)},
                retry_safe=True,
            )
            requests += 1
        return requests

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
        if self._legacy:
            requests = await self._legacy_save(tokens, album_id, tracks)
        else:
            uris = [f"spotify:album:{album_id}", *(f"spotify:track:{t}" for t in tracks)]
            requests = await self._save_uris(tokens, uris)
        return ActionResult(
            service=SERVICE,
            action=Capability.SAVE_RELEASE,
            targets=(album_id, *tracks),
            requests=requests,
        )

    async def _legacy_call(
        self,
        tokens: TokenSet,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> None:
        try:
            await self.client.call(
                method, path, token=tokens.access_token, params=params, json=json, retry_safe=True
            )
        except NotAllowed as error:
            if error.reason != "forbidden":
                raise
            # Development-mode apps get a bare 403 from the type-specific endpoints.
            raise NotAllowed(
                f"{path} refused (removed for development-mode apps?): {error.message}",
                reason="endpoint_removed",
                service=SERVICE,
                status=error.status,
            ) from error

    async def _legacy_save(self, tokens: TokenSet, album_id: str, tracks: list[str]) -> int:
        await self._legacy_call(tokens, "PUT", "/me/albums", params={"ids": album_id})
        requests = 1
        for batch in chunks(tracks, LEGACY_BODY_BATCH):
            await self._legacy_call(tokens, "PUT", "/me/tracks", json={"ids": list(batch)})
            requests += 1
        return requests

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.FOLLOW_ARTIST)
        artists = unique(artist_ids)
        requests = 0
        if self._follow_by_following:
            for batch in chunks(artists, LEGACY_BODY_BATCH):
                await self._legacy_call(
                    tokens,
                    "PUT",
                    "/me/following",
                    params={"type": "artist", "ids": ",".join(batch)},
                )
                requests += 1
        else:
            requests = await self._save_uris(tokens, [f"spotify:artist:{a}" for a in artists])
        return ActionResult(
            service=SERVICE,
            action=Capability.FOLLOW_ARTIST,
            targets=tuple(artists),
            requests=requests,
        )

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_FOLLOW)
        if self._legacy:
            await self._legacy_call(
                tokens, "PUT", f"/playlists/{playlist_id}/followers", json={"public": True}
            )
            requests = 1
        else:
            requests = await self._save_uris(tokens, [f"spotify:playlist:{playlist_id}"])
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_FOLLOW,
            targets=(playlist_id,),
            requests=requests,
        )

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
            # Appending is not idempotent (a replay adds the tracks twice): never retried.
            return await self.client.call(
                "POST",
                f"/playlists/{playlist_id}/items",
                token=tokens.access_token,
                json={"uris": [f"spotify:track:{t}" for t in batch]},
                retry_safe=False,
            )

        return await playlist_added(SERVICE, track_ids, PLAYLIST_ITEMS_BATCH, add)

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
        created = as_dict(
            await self.client.call(
                "POST",
                "/me/playlists",
                token=tokens.access_token,
                json={"name": name, "description": description, "public": public},
                retry_safe=False,
            )
        )
        return created_playlist(SERVICE, as_str(created.get("id")), status=201)

    async def list_playlists(self, tokens: TokenSet, *, limit: int = 50) -> list[PlaylistInfo]:
        """``GET /me/playlists`` (``playlist-read-private``), paged; keeps the playlists the
        fan owns or collaborates on, since only those accept new items."""
        self._require(Capability.PLAYLIST_READ)
        me = as_dict(
            await self.client.call("GET", "/me", token=tokens.access_token, retry_safe=True)
        )

        async def page_at(offset: int) -> tuple[list[dict[str, Any]], bool]:
            page = as_dict(
                await self.client.call(
                    "GET",
                    "/me/playlists",
                    token=tokens.access_token,
                    params={"limit": str(PLAYLIST_PAGE), "offset": str(offset)},
                    retry_safe=True,
                )
            )
            items = [as_dict(item) for item in as_list(page.get("items"))]
            return items, page.get("next") is not None

        def describe(item: dict[str, Any], playlist_id: str, owned: bool) -> PlaylistInfo:
            count = as_int(dig(item, "items", "total"))
            if count is None:
                count = as_int(dig(item, "tracks", "total"))
            name = as_str(item.get("name")) or ""
            return PlaylistInfo(id=playlist_id, name=name, owned=owned, track_count=count)

        return await writable_playlists(
            page_at,
            me=as_str(me.get("id")),
            owner=lambda item: as_str(dig(item, "owner", "id")),
            describe=describe,
            limit=limit,
            max_pages=PLAYLIST_MAX_PAGES,
        )

    async def library_contains(self, tokens: TokenSet, uris: Sequence[str]) -> list[bool]:
        """``GET /me/library/contains`` (needs ``user-library-read``): verification aid."""
        self._require_available()
        answers: list[bool] = []
        for batch in chunks(list(uris), LIBRARY_BATCH):
            payload = await self.client.call(
                "GET",
                "/me/library/contains",
                token=tokens.access_token,
                params={"uris": ",".join(batch)},
                retry_safe=True,
            )
            answers.extend(bool(value) for value in as_list(payload))
        if len(answers) != len(uris):
            raise PlatformError("contains answered a different number of items", service=SERVICE)
        return answers

    async def aclose(self) -> None:
        await self.client.aclose()
