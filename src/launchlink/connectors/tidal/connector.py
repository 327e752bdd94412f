"""TIDAL connector over the official JSON:API (openapi.tidal.com/v2).

Saves go to the fan's collection (``userCollectionAlbums``/``Tracks``/``Artists``/
``Playlists``, ≤ 50 items a call). Collection writes are retried on transient failures only
when the caller passes an ``idempotency_key``: TIDAL then replays the first answer instead of
applying the write twice. A 409 from a collection write means "already there": success.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from launchlink.connectors._common import (
    CATALOGUE_LOOKUPS,
    LIBRARY_ACTIONS,
    OAuthConnector,
    chunks,
    created_playlist,
    same_upc,
    unique,
    upc_variants,
)
from launchlink.connectors._json import as_dict, as_int, as_list, as_str, dig
from launchlink.connectors.base import (
    ActionResult,
    Capability,
    PlatformAccount,
    ReleaseMatch,
    TokenSet,
    TrackInfo,
    TrackMatch,
)
from launchlink.connectors.errors import NotFound, PlatformError
from launchlink.connectors.settings import TidalSettings
from launchlink.connectors.tidal.client import SERVICE, TidalClient
from launchlink.kit.clock import Clock

COLLECTION_BATCH = 50
_HOSTS = {"tidal.com", "www.tidal.com", "listen.tidal.com"}
_PATH = re.compile(r"^(?:/browse)?/(album|track)/(\d+)(?:/track/(\d+))?/?$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")

SCOPES = MappingProxyType(
    {
        "user.read": "See your TIDAL account id and country.",
        "collection.write": "Add the release and the artist to your TIDAL collection.",
        "playlists.write": "Create a playlist and add the release to it.",
    }
)
_ACTION_SCOPES: dict[Capability, tuple[str, ...]] = {
    Capability.SAVE_RELEASE: ("collection.write",),
    Capability.SAVE_TRACKS: ("collection.write",),
    Capability.FOLLOW_ARTIST: ("collection.write",),
    Capability.PLAYLIST_FOLLOW: ("collection.write",),
    Capability.PLAYLIST_ADD: ("playlists.write",),
}


def parse_tidal_url(url: str) -> tuple[str, str] | None:
    """``("album"|"track", id)`` from tidal.com / listen.tidal.com URLs."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or parts.hostname not in _HOSTS:
        return None
    found = _PATH.match(parts.path)
    if found is None:
        return None
    if found.group(3):
        return "track", found.group(3)
    return found.group(1), found.group(2)


def duration_ms(value: object) -> int | None:
    """Milliseconds from an ISO-8601 duration such as ``PT3M21S``."""
    text = as_str(value)
    found = _DURATION.match(text) if text else None
    if found is None:
        return None
    hours, minutes, seconds = (float(part) if part else 0.0 for part in found.groups())
    return int((hours * 3600 + minutes * 60 + seconds) * 1000)


class _Included:
    """JSON:API ``included`` resources by (type, id)."""

    def __init__(self, payload: object) -> None:
        self._items: dict[tuple[str, str], dict[str, Any]] = {}
        for item in as_list(as_dict(payload).get("included")):
            resource = as_dict(item)
            kind, resource_id = as_str(resource.get("type")), as_str(resource.get("id"))
            if kind and resource_id:
                self._items[(kind, resource_id)] = resource

    def get(self, kind: str, resource_id: str) -> dict[str, Any]:
        return self._items.get((kind, resource_id), {})

    def related(self, resource: dict[str, Any], relationship: str) -> list[dict[str, Any]]:
        found = []
        for ref in as_list(dig(resource, "relationships", relationship, "data")):
            ref_dict = as_dict(ref)
            kind, ref_id = as_str(ref_dict.get("type")), as_str(ref_dict.get("id"))
            if kind and ref_id:
                found.append({"id": ref_id, "type": kind, **self.get(kind, ref_id)})
        return found


def _link(attributes: dict[str, Any], kind: str, item_id: str) -> str:
    for link in as_list(attributes.get("externalLinks")):
        href = as_str(as_dict(link).get("href"))
        if href:
            return href
    return f"https://tidal.com/{kind}/{item_id}"


def _artwork(included: _Included, resource: dict[str, Any]) -> str | None:
    for art in included.related(resource, "coverArt"):
        files = [as_dict(f) for f in as_list(dig(art, "attributes", "files"))]
        files = [f for f in files if as_str(f.get("href"))]
        if files:
            best = max(files, key=lambda f: as_int(dig(f, "meta", "width")) or 0)
            return as_str(best.get("href"))
    return None


def album_match(album: dict[str, Any], included: _Included, country: str) -> ReleaseMatch:
    attributes = as_dict(album.get("attributes"))
    album_id = as_str(album.get("id")) or ""
    artists = included.related(album, "artists")
    tracks = tuple(
        TrackInfo(
            id=track["id"],
            title=as_str(dig(track, "attributes", "title")) or "",
            isrc=as_str(dig(track, "attributes", "isrc")),
            duration_ms=duration_ms(dig(track, "attributes", "duration")),
        )
        for track in included.related(album, "items")
        if track.get("type") == "tracks"
    )
    return ReleaseMatch(
        service=SERVICE,
        kind="album",
        id=album_id,
        title=as_str(attributes.get("title")) or "",
        url=_link(attributes, "album", album_id),
        artists=tuple(n for a in artists if (n := as_str(dig(a, "attributes", "name")))),
        artist_ids=tuple(a["id"] for a in artists),
        upc=as_str(attributes.get("barcodeId")),
        release_date=as_str(attributes.get("releaseDate")),
        track_count=as_int(attributes.get("numberOfItems")) or (len(tracks) or None),
        tracks=tracks,
        artwork_url=_artwork(included, album),
        is_single=as_str(attributes.get("albumType")) == "SINGLE",
        country=country,
    )


class TidalConnector(OAuthConnector):
    """TIDAL open API v2 with OAuth 2.1 + PKCE."""

    service = SERVICE
    display_name = "TIDAL"
    capabilities = frozenset({Capability.OAUTH, *CATALOGUE_LOOKUPS, *LIBRARY_ACTIONS})
    scope_descriptions = SCOPES

    def __init__(
        self,
        settings: TidalSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, clock=clock)
        self.settings = settings
        self.client = TidalClient(settings, clock=self._clock, transport=transport)
        self.oauth = self.client.oauth

    def recognises_release_url(self, url: str) -> bool:
        return parse_tidal_url(url) is not None

    def _country(self, country: str | None) -> str:
        return (country or self.settings.default_country).upper()

    # -- OAuth ------------------------------------------------------------------------------

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]:
        wanted = {"user.read"}
        wanted.update(scope for action in actions for scope in _ACTION_SCOPES.get(action, ()))
        return [scope for scope in SCOPES if scope in wanted]

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        self._require_available()
        payload = await self.client.call(
            "GET", "/users/me", token=tokens.access_token, retry_safe=True
        )
        user = as_dict(as_dict(payload).get("data"))
        country = as_str(dig(user, "attributes", "country"))
        return PlatformAccount(
            service=SERVICE,
            id=as_str(user.get("id")),
            display_name=as_str(dig(user, "attributes", "username")),
            country=country.upper() if country else None,
        )

    # -- catalogue --------------------------------------------------------------------------

    async def _albums(
        self, params: dict[str, str], path: str = "/albums"
    ) -> tuple[list[dict[str, Any]], _Included]:
        try:
            payload = await self.client.app_get(path, params=params)
        except NotFound:
            return [], _Included(None)
        data = as_dict(payload).get("data")
        items = [as_dict(item) for item in (data if isinstance(data, list) else [data])]
        return [item for item in items if as_str(item.get("id"))], _Included(payload)

    async def find_release_by_upc(
        self, upc: str, *, country: str | None = None
    ) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_UPC)
        cc = self._country(country)
        for form in upc_variants(upc):
            albums, included = await self._albums(
                {"filter[barcodeId]": form, "countryCode": cc, "include": "artists,items,coverArt"}
            )
            for album in albums:
                stored = as_str(dig(album, "attributes", "barcodeId"))
                if stored is None or same_upc(stored, upc):
                    return album_match(album, included, cc)
        return None

    async def find_track_by_isrc(
        self, isrc: str, *, country: str | None = None
    ) -> TrackMatch | None:
        self._require(Capability.LOOKUP_ISRC)
        cc = self._country(country)
        try:
            payload = await self.client.app_get(
                "/tracks",
                params={
                    "filter[isrc]": isrc.strip().upper(),
                    "countryCode": cc,
                    "include": "albums,artists",
                },
            )
        except NotFound:
            return None
        tracks = [as_dict(t) for t in as_list(as_dict(payload).get("data"))]
        tracks = [t for t in tracks if as_str(t.get("id"))]
        if not tracks:
            return None
        return self._track_match(tracks[0], _Included(payload), cc)

    def _track_match(self, track: dict[str, Any], included: _Included, cc: str) -> TrackMatch:
        attributes = as_dict(track.get("attributes"))
        track_id = as_str(track.get("id")) or ""
        artists = included.related(track, "artists")
        albums = included.related(track, "albums")
        album = albums[0] if albums else {}
        return TrackMatch(
            service=SERVICE,
            id=track_id,
            title=as_str(attributes.get("title")) or "",
            url=_link(attributes, "track", track_id),
            artists=tuple(n for a in artists if (n := as_str(dig(a, "attributes", "name")))),
            artist_ids=tuple(a["id"] for a in artists),
            isrc=as_str(attributes.get("isrc")),
            duration_ms=duration_ms(attributes.get("duration")),
            album_id=as_str(album.get("id")),
            album_title=as_str(dig(album, "attributes", "title")),
            release_date=as_str(dig(album, "attributes", "releaseDate")),
            country=cc,
        )

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        parsed = parse_tidal_url(url)
        if parsed is None:
            return None
        kind, item_id = parsed
        cc = self.settings.default_country
        if kind == "album":
            albums, included = await self._albums(
                {"countryCode": cc, "include": "artists,items,coverArt"}, f"/albums/{item_id}"
            )
            return album_match(albums[0], included, cc) if albums else None
        try:
            payload = await self.client.app_get(
                f"/tracks/{item_id}", params={"countryCode": cc, "include": "albums,artists"}
            )
        except NotFound:
            return None
        track_data = as_dict(as_dict(payload).get("data"))
        if not as_str(track_data.get("id")):
            return None
        track = self._track_match(track_data, _Included(payload), cc)
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
        )

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        cc = self._country(country)
        query = quote(" ".join([title, *artists[:2]]), safe="")
        try:
            payload = await self.client.app_get(
                f"/searchResults/{query}", params={"countryCode": cc, "include": "albums"}
            )
        except NotFound:
            return []
        included = _Included(payload)
        result = as_dict(as_dict(payload).get("data"))
        return [
            album_match(album, included, cc)
            for album in included.related(result, "albums")
            if album.get("attributes")
        ]

    # -- collection -------------------------------------------------------------------------

    async def _collect(
        self,
        tokens: TokenSet,
        collection: str,
        kind: str,
        ids: Sequence[str],
        idempotency_key: str | None,
    ) -> tuple[int, list[str]]:
        """Add ``ids`` to ``userCollection<collection>``; returns (requests, already there)."""
        requests = 0
        already: list[str] = []
        for number, batch in enumerate(chunks(list(ids), COLLECTION_BATCH)):
            key = f"{idempotency_key}:{collection}:{number}" if idempotency_key else None
            try:
                await self.client.call(
                    "POST",
                    f"/userCollection{collection}/me/relationships/items",
                    token=tokens.access_token,
                    json={"data": [{"type": kind, "id": item} for item in batch]},
                    idempotency_key=key,
                    retry_safe=key is not None,
                )
            except PlatformError as error:
                if error.status != 409:
                    raise
                already.extend(batch)
            requests += 1
        return requests, already

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
        requests, already = await self._collect(
            tokens, "Albums", "albums", [album_id], idempotency_key
        )
        if tracks:
            more, already_tracks = await self._collect(
                tokens, "Tracks", "tracks", tracks, idempotency_key
            )
            requests += more
            already += already_tracks
        return ActionResult(
            service=SERVICE,
            action=Capability.SAVE_RELEASE,
            targets=(album_id, *tracks),
            already_done=tuple(already),
            requests=requests,
        )

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.FOLLOW_ARTIST)
        artists = unique(artist_ids)
        requests, already = await self._collect(
            tokens, "Artists", "artists", artists, idempotency_key
        )
        return ActionResult(
            service=SERVICE,
            action=Capability.FOLLOW_ARTIST,
            targets=tuple(artists),
            already_done=tuple(already),
            requests=requests,
        )

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_FOLLOW)
        requests, already = await self._collect(
            tokens, "Playlists", "playlists", [playlist_id], idempotency_key
        )
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_FOLLOW,
            targets=(playlist_id,),
            already_done=tuple(already),
            requests=requests,
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
        payload = await self.client.call(
            "POST",
            "/playlists",
            token=tokens.access_token,
            json={
                "data": {
                    "type": "playlists",
                    "attributes": {
                        "name": name,
                        "description": description,
                        "accessType": "PUBLIC" if public else "UNLISTED",
                    },
                }
            },
            idempotency_key=idempotency_key,
            retry_safe=idempotency_key is not None,
        )
        return created_playlist(SERVICE, as_str(dig(payload, "data", "id")))

    async def add_to_playlist(
        self,
        tokens: TokenSet,
        *,
        playlist_id: str,
        track_ids: Sequence[str],
        idempotency_key: str | None = None,
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_ADD)
        tracks = unique(track_ids)
        requests = 0
        for number, batch in enumerate(chunks(tracks, COLLECTION_BATCH)):
            key = f"{idempotency_key}:items:{number}" if idempotency_key else None
            await self.client.call(
                "POST",
                f"/playlists/{playlist_id}/relationships/items",
                token=tokens.access_token,
                json={"data": [{"type": "tracks", "id": t} for t in batch]},
                idempotency_key=key,
                retry_safe=key is not None,
            )
            requests += 1
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_ADD,
            targets=tuple(tracks),
            requests=requests,
        )

    async def aclose(self) -> None:
        await self.client.aclose()
