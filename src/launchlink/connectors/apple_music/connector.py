"""Apple Music connector: catalogue lookups per storefront, library writes with the MUT.

There is no OAuth: the fan authorizes in the browser with MusicKit JS (configured with
:meth:`AppleMusicConnector.developer_token`), and the resulting Music-User-Token is the
``access_token`` of the :class:`TokenSet` the actions take. It cannot be refreshed; a
revoked one raises ``AuthRevoked``.

Library writes answer 202 and silently ignore ids Apple cannot add, so every action result
is ``confirmed=False``. Pre-add is the same library write on a pre-order album: Apple
completes it at release.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from launchlink.connectors._common import (
    ConnectorBase,
    created_playlist,
    missing_credentials,
    playlist_added,
    same_upc,
    setting_name,
    unique,
    upc_variants,
)
from launchlink.connectors._json import as_dict, as_int, as_list, as_str, dig
from launchlink.connectors.apple_music.client import (
    SERVICE,
    AppleMusicClient,
    DeveloperTokenMinter,
    is_musickit_key,
    read_private_key,
)
from launchlink.connectors.base import (
    ActionResult,
    Capability,
    PlatformAccount,
    ReleaseMatch,
    TokenSet,
    TrackInfo,
    TrackMatch,
)
from launchlink.connectors.errors import NotFound
from launchlink.connectors.settings import AppleMusicSettings
from launchlink.kit.clock import Clock, SystemClock

ARTWORK_SIZE = 1000
PLAYLIST_TRACK_BATCH = 100
_HOSTS = {"music.apple.com", "itunes.apple.com", "geo.music.apple.com", "embed.music.apple.com"}
_ID = re.compile(r"^(?:id)?(\d+)$")
_STOREFRONT = re.compile(r"^[a-z]{2}$")


def parse_apple_url(url: str) -> tuple[str, str, str] | None:
    """``(kind, id, storefront)`` from a music.apple.com / itunes.apple.com URL.

    Album URLs with ``?i=<song id>`` point at a track of that album.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or parts.hostname not in _HOSTS:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    storefront = "us"
    if segments and _STOREFRONT.match(segments[0]):
        storefront = segments.pop(0)
    if len(segments) < 2 or segments[0] not in {"album", "song"}:
        return None
    found = _ID.match(segments[-1])
    if found is None:
        return None
    track_id = parse_qs(parts.query).get("i", [""])[0]
    if segments[0] == "song":
        return "track", found.group(1), storefront
    if track_id.isdigit():
        return "track", track_id, storefront
    return "album", found.group(1), storefront


def _artwork(attributes: dict[str, Any]) -> str | None:
    template = as_str(dig(attributes, "artwork", "url"))
    if not template:
        return None
    return template.replace("{w}", str(ARTWORK_SIZE)).replace("{h}", str(ARTWORK_SIZE))


def _artists(attributes: dict[str, Any]) -> tuple[str, ...]:
    name = as_str(attributes.get("artistName"))
    return (name,) if name else ()


class AppleMusicConnector(ConnectorBase):
    """Apple Music API v1 with a developer token (ES256) and Music-User-Tokens."""

    service = SERVICE
    capabilities = frozenset(
        {
            Capability.LOOKUP_UPC,
            Capability.LOOKUP_ISRC,
            Capability.LOOKUP_URL,
            Capability.SEARCH,
            Capability.SAVE_RELEASE,
            Capability.SAVE_TRACKS,
            Capability.FOLLOW_ARTIST,
            Capability.PLAYLIST_ADD,
            Capability.PLAYLIST_FOLLOW,
            Capability.PREADD,
        }
    )
    scope_descriptions = MappingProxyType(
        {"library": "Add the release to your Apple Music library (through Apple's own sign-in)."}
    )

    def __init__(
        self,
        settings: AppleMusicSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        clock = clock or SystemClock()
        key_setting = (
            f"{setting_name(SERVICE, 'private_key_pem')} or "
            f"{setting_name(SERVICE, 'private_key_path')}"
        )
        reason = missing_credentials(
            "Apple Music",
            {
                "team ID": settings.team_id,
                "key ID": settings.key_id,
                "private key": settings.private_key_pem or settings.private_key_path,
            },
            settings={
                "team ID": setting_name(SERVICE, "team_id"),
                "key ID": setting_name(SERVICE, "key_id"),
                "private key": key_setting,
            },
        )
        minter = None
        if reason is None:
            try:
                pem = read_private_key(settings)
            except OSError:
                pem = None
                reason = (
                    f"Apple Music private key file {settings.private_key_path} could not be "
                    f"read (check {setting_name(SERVICE, 'private_key_path')})"
                )
            if pem is not None and not is_musickit_key(pem):
                # Found now rather than as a failure to sign on release day.
                reason = (
                    "Apple Music private key is not a MusicKit key (an EC P-256 .p8 PEM file "
                    f"from developer.apple.com; check {key_setting})"
                )
            elif pem is not None:
                minter = DeveloperTokenMinter(settings, pem, clock)
        super().__init__(clock=clock, unavailable_reason=reason)
        self.settings = settings
        self.client = AppleMusicClient(settings, clock=clock, minter=minter, transport=transport)

    def developer_token(self) -> str:
        """The ES256 developer token for MusicKit JS and API calls (cached until near expiry)."""
        self._require_available()
        return self.client.developer_token()

    def recognises_release_url(self, url: str) -> bool:
        return parse_apple_url(url) is not None

    def _storefront(self, country: str | None) -> str:
        return (country or self.settings.default_storefront).lower()

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        """Apple exposes no account id; the storefront is the fan's country."""
        self._require_available()
        payload = await self.client.call(
            "GET", "/me/storefront", music_user_token=tokens.access_token, retry_safe=True
        )
        storefront = as_str(dig(payload, "data", 0, "id"))
        return PlatformAccount(
            service=SERVICE,
            id=None,
            display_name=None,
            country=storefront.upper() if storefront else None,
        )

    # -- catalogue --------------------------------------------------------------------------

    def _album_match(self, album: dict[str, Any], storefront: str) -> ReleaseMatch:
        attributes = as_dict(album.get("attributes"))
        album_id = as_str(album.get("id")) or ""
        tracks = tuple(
            TrackInfo(
                id=as_str(song.get("id")) or "",
                title=as_str(dig(song, "attributes", "name")) or "",
                isrc=as_str(dig(song, "attributes", "isrc")),
                duration_ms=as_int(dig(song, "attributes", "durationInMillis")),
            )
            for song in (
                as_dict(item) for item in as_list(dig(album, "relationships", "tracks", "data"))
            )
            if as_str(song.get("id"))
        )
        release_date = as_str(attributes.get("releaseDate"))
        return ReleaseMatch(
            service=SERVICE,
            kind="album",
            id=album_id,
            title=as_str(attributes.get("name")) or "",
            url=as_str(attributes.get("url")),
            artists=_artists(attributes),
            artist_ids=tuple(
                artist_id
                for item in as_list(dig(album, "relationships", "artists", "data"))
                if (artist_id := as_str(as_dict(item).get("id")))
            ),
            upc=as_str(attributes.get("upc")),
            release_date=release_date,
            track_count=as_int(attributes.get("trackCount")) or (len(tracks) or None),
            tracks=tracks,
            artwork_url=_artwork(attributes),
            is_preorder=self._is_preorder(attributes),
            is_single=attributes.get("isSingle") is True,
            country=storefront.upper(),
        )

    def _is_preorder(self, attributes: dict[str, Any]) -> bool:
        # The attribute's name is [UNCERTAIN]; a release date in the future says the same.
        if attributes.get("isPreorder") is True or attributes.get("isPrerelease") is True:
            return True
        release_date = as_str(attributes.get("releaseDate"))
        try:
            return release_date is not None and date.fromisoformat(release_date) > (
                self._clock.now().date()
            )
        except ValueError:
            return False

    async def _album(self, album_id: str, storefront: str) -> dict[str, Any] | None:
        try:
            payload = await self.client.call(
                "GET", f"/catalog/{storefront}/albums/{album_id}", retry_safe=True
            )
        except NotFound:
            return None
        album = as_dict(dig(payload, "data", 0))
        return album or None

    async def find_release_by_upc(
        self, upc: str, *, country: str | None = None
    ) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_UPC)
        storefront = self._storefront(country)
        for form in upc_variants(upc):
            try:
                payload = await self.client.call(
                    "GET",
                    f"/catalog/{storefront}/albums",
                    params={"filter[upc]": form},
                    retry_safe=True,
                )
            except NotFound:
                continue
            for item in as_list(as_dict(payload).get("data")):
                album = as_dict(item)
                stored = as_str(dig(album, "attributes", "upc"))
                album_id = as_str(album.get("id"))
                if not album_id or (stored is not None and not same_upc(stored, upc)):
                    continue
                if not as_list(dig(album, "relationships", "tracks", "data")):
                    album = await self._album(album_id, storefront) or album
                return self._album_match(album, storefront)
        return None

    def _track_match(self, song: dict[str, Any], storefront: str) -> TrackMatch:
        attributes = as_dict(song.get("attributes"))
        url = as_str(attributes.get("url"))
        album_id = as_str(dig(song, "relationships", "albums", "data", 0, "id"))
        if album_id is None and url:
            parsed = parse_apple_url(url.split("?")[0])
            album_id = parsed[1] if parsed and parsed[0] == "album" else None
        return TrackMatch(
            service=SERVICE,
            id=as_str(song.get("id")) or "",
            title=as_str(attributes.get("name")) or "",
            url=url,
            artists=_artists(attributes),
            isrc=as_str(attributes.get("isrc")),
            duration_ms=as_int(attributes.get("durationInMillis")),
            album_id=album_id,
            album_title=as_str(attributes.get("albumName")),
            release_date=as_str(attributes.get("releaseDate")),
            artwork_url=_artwork(attributes),
            country=storefront.upper(),
        )

    async def find_track_by_isrc(
        self, isrc: str, *, country: str | None = None
    ) -> TrackMatch | None:
        self._require(Capability.LOOKUP_ISRC)
        storefront = self._storefront(country)
        # No include=albums: with filter[isrc] Apple answered 504 for months (§2.4).
        try:
            payload = await self.client.call(
                "GET",
                f"/catalog/{storefront}/songs",
                params={"filter[isrc]": isrc.strip().upper()},
                retry_safe=True,
            )
        except NotFound:
            return None
        songs = [as_dict(item) for item in as_list(as_dict(payload).get("data"))]
        songs = [song for song in songs if as_str(song.get("id"))]
        return self._track_match(songs[0], storefront) if songs else None

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        parsed = parse_apple_url(url)
        if parsed is None:
            return None
        kind, item_id, storefront = parsed
        if kind == "album":
            album = await self._album(item_id, storefront)
            return self._album_match(album, storefront) if album else None
        try:
            payload = await self.client.call(
                "GET", f"/catalog/{storefront}/songs/{item_id}", retry_safe=True
            )
        except NotFound:
            return None
        song = as_dict(dig(payload, "data", 0))
        if not song:
            return None
        track = self._track_match(song, storefront)
        return ReleaseMatch(
            service=SERVICE,
            kind="track",
            id=track.id,
            title=track.title,
            url=track.url,
            artists=track.artists,
            isrc=track.isrc,
            release_date=track.release_date,
            track_count=1,
            tracks=(TrackInfo(track.id, track.title, track.isrc, track.duration_ms),),
            artwork_url=track.artwork_url,
            country=track.country,
        )

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        storefront = self._storefront(country)
        term = " ".join([title, *artists[:2]])
        payload = await self.client.call(
            "GET",
            f"/catalog/{storefront}/search",
            params={"term": term, "types": "albums", "limit": "10"},
            retry_safe=True,
        )
        albums = as_list(dig(payload, "results", "albums", "data"))
        return [self._album_match(as_dict(album), storefront) for album in albums if as_dict(album)]

    # -- library ----------------------------------------------------------------------------

    async def _add_to_library(self, tokens: TokenSet, ids: dict[str, str]) -> None:
        # Adding what is already in the library is a no-op, so a replay is harmless.
        await self.client.call(
            "POST",
            "/me/library",
            music_user_token=tokens.access_token,
            params={f"ids[{kind}]": value for kind, value in ids.items() if value},
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
        await self._add_to_library(tokens, {"albums": album_id, "songs": ",".join(tracks)})
        return ActionResult(
            service=SERVICE,
            action=Capability.SAVE_RELEASE,
            targets=(album_id, *tracks),
            confirmed=False,
            requests=1,
        )

    async def preadd(
        self, tokens: TokenSet, *, album_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        """Add a pre-order album to the library; Apple completes the add at release."""
        self._require(Capability.PREADD)
        await self._add_to_library(tokens, {"albums": album_id})
        return ActionResult(
            service=SERVICE,
            action=Capability.PREADD,
            targets=(album_id,),
            confirmed=False,
            requests=1,
        )

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        """Favourite the artists: Apple's closest thing to "follow" [UNCERTAIN upstream]."""
        self._require(Capability.FOLLOW_ARTIST)
        artists = unique(artist_ids)
        # Favouriting is set-like: a replay is harmless.
        await self.client.call(
            "POST",
            "/me/favorites",
            music_user_token=tokens.access_token,
            params={"ids[artists]": ",".join(artists)},
            retry_safe=True,
        )
        return ActionResult(
            service=SERVICE,
            action=Capability.FOLLOW_ARTIST,
            targets=tuple(artists),
            confirmed=False,
            requests=1,
        )

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_FOLLOW)
        await self._add_to_library(tokens, {"playlists": playlist_id})
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_FOLLOW,
            targets=(playlist_id,),
            confirmed=False,
            requests=1,
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
            "/me/library/playlists",
            music_user_token=tokens.access_token,
            json={"attributes": {"name": name, "description": description}},
            retry_safe=False,
        )
        return created_playlist(SERVICE, as_str(dig(payload, "data", 0, "id")))

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
                f"/me/library/playlists/{playlist_id}/tracks",
                music_user_token=tokens.access_token,
                json={"data": [{"id": track, "type": "songs"} for track in batch]},
                retry_safe=False,
            )

        return await playlist_added(SERVICE, track_ids, PLAYLIST_TRACK_BATCH, add)

    async def aclose(self) -> None:
        await self.client.aclose()
