"""SoundCloud connector: OAuth 2.1 + PKCE, ``Authorization: OAuth <token>``, follow + like.

SoundCloud refresh tokens are single-use: ``refresh`` returns the rotated token, which the
caller must persist before anything else. There is no UPC/ISRC lookup; releases are found
from their URL (``/resolve``, which takes the URL as a parameter — nothing user-supplied is
ever fetched) or by search. Ids in and out are URNs (``soundcloud:tracks:123``); bare
numeric ids are accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import httpx

from launchlink.connectors._common import (
    OAuthConnector,
    unique,
)
from launchlink.connectors._json import as_dict, as_int, as_list, as_str
from launchlink.connectors.base import (
    ActionResult,
    Capability,
    PlatformAccount,
    ReleaseMatch,
    TokenSet,
    TrackInfo,
)
from launchlink.connectors.errors import NotAllowed, NotFound
from launchlink.connectors.http import ServiceHttp, json_body, raise_for_status
from launchlink.connectors.oauth import ClientAuth, oauth_app
from launchlink.connectors.settings import SoundCloudSettings
from launchlink.kit.clock import Clock

SERVICE = "soundcloud"
_HOSTS = {"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"}
_PATH = re.compile(r"^/[A-Za-z0-9_-]+/(?:sets/)?[A-Za-z0-9_-]+/?$")
_RESERVED = {"discover", "search", "you", "stream", "upload", "charts", "pages", "settings"}


def canonical_soundcloud_url(url: str) -> str | None:
    """``https://soundcloud.com/<user>/<track>`` or ``…/sets/<set>``; else ``None``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or parts.hostname not in _HOSTS:
        return None
    if not _PATH.match(parts.path) or parts.path.split("/")[1] in _RESERVED:
        return None
    return f"https://soundcloud.com{parts.path.rstrip('/')}"


def urn(kind: str, value: str) -> str:
    """``soundcloud:<kind>:<id>`` from an URN or a bare id."""
    return value if value.startswith("soundcloud:") else f"soundcloud:{kind}:{value}"


def _message(body: object) -> str:
    data = as_dict(body)
    message = as_str(data.get("message")) or as_str(data.get("error"))
    if message:
        return message
    errors = as_list(data.get("errors"))
    return as_str(as_dict(errors[0]).get("error_message")) or "" if errors else ""


def raise_for_api_error(response: httpx.Response, http: ServiceHttp, token: str | None) -> None:
    if response.is_success or response.is_redirect:  # /resolve answers 302
        return
    message = http.scrub(_message(json_body(response)) or response.reason_phrase, [token])
    if response.status_code == 422:
        raise NotAllowed(
            message, reason="cannot_follow", service=SERVICE, status=response.status_code
        )
    raise_for_status(response, service=SERVICE, message=message)


def _artwork(item: dict[str, Any]) -> str | None:
    url = as_str(item.get("artwork_url"))
    # SoundCloud serves 100x100 "-large"; "-t500x500" is the same image, bigger.
    return url.replace("-large.", "-t500x500.") if url else None


def _user(item: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    user = as_dict(item.get("user"))
    name = as_str(user.get("username"))
    user_urn = as_str(user.get("urn")) or (
        urn("users", str(user_id)) if (user_id := as_str(user.get("id"))) else None
    )
    return ((name,) if name else ()), ((user_urn,) if user_urn else ())


def _track_info(track: dict[str, Any]) -> TrackInfo:
    track_urn = as_str(track.get("urn")) or urn("tracks", as_str(track.get("id")) or "")
    return TrackInfo(
        id=track_urn,
        title=as_str(track.get("title")) or "",
        isrc=as_str(track.get("isrc")),
        duration_ms=as_int(track.get("duration")),
        uri=track_urn,
    )


def resource_match(item: dict[str, Any]) -> ReleaseMatch | None:
    kind = as_str(item.get("kind"))
    names, ids = _user(item)
    if kind == "track":
        track = _track_info(item)
        return ReleaseMatch(
            service=SERVICE,
            kind="track",
            id=track.id,
            uri=track.id,
            title=track.title,
            url=as_str(item.get("permalink_url")),
            artists=names,
            artist_ids=ids,
            isrc=track.isrc,
            release_date=as_str(item.get("release_date")),
            track_count=1,
            tracks=(track,),
            artwork_url=_artwork(item),
            is_single=True,
        )
    if kind == "playlist":
        playlist_urn = as_str(item.get("urn")) or urn("playlists", as_str(item.get("id")) or "")
        tracks = tuple(_track_info(as_dict(t)) for t in as_list(item.get("tracks")))
        return ReleaseMatch(
            service=SERVICE,
            kind="album",
            id=playlist_urn,
            uri=playlist_urn,
            title=as_str(item.get("title")) or "",
            url=as_str(item.get("permalink_url")),
            artists=names,
            artist_ids=ids,
            upc=as_str(item.get("upc")) or as_str(item.get("ean")),
            release_date=as_str(item.get("release_date")),
            track_count=as_int(item.get("track_count")) or (len(tracks) or None),
            tracks=tracks,
            artwork_url=_artwork(item),
        )
    return None


def _collection(payload: object) -> list[dict[str, Any]]:
    items = payload if isinstance(payload, list) else as_dict(payload).get("collection")
    return [as_dict(item) for item in as_list(items) if as_dict(item)]


class SoundCloudConnector(OAuthConnector):
    """SoundCloud API with OAuth 2.1 + PKCE and single-use refresh tokens."""

    service = SERVICE
    display_name = "SoundCloud"
    capabilities = frozenset(
        {
            Capability.OAUTH,
            Capability.LOOKUP_URL,
            Capability.SEARCH,
            Capability.SAVE_RELEASE,
            Capability.SAVE_TRACKS,
            Capability.FOLLOW_ARTIST,
            Capability.PLAYLIST_FOLLOW,
        }
    )
    scope_descriptions = MappingProxyType(
        {"": "Follow the artist and like the release on SoundCloud (SoundCloud has no scopes)."}
    )

    def __init__(
        self,
        settings: SoundCloudSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, clock=clock)
        self.settings = settings
        self._secure = settings.secure_url.rstrip("/")
        self._api = settings.api_url.rstrip("/")
        app = oauth_app(
            SERVICE,
            settings,
            clock=self._clock,
            transport=transport,
            base_urls=[self._secure, self._api],
            authorize_url=f"{self._secure}/authorize",
            token_url=f"{self._secure}/oauth/token",
            auth=ClientAuth.FORM,
            # Client-credentials tokens are scarce (50 per 12 h per app): the client caches
            # one until it expires; SoundCloud wants Basic for them.
            app_auth=ClientAuth.BASIC,
            # SoundCloud wants the redirect_uri again on refresh (platform-apis §4.4).
            refresh_form=(
                {"redirect_uri": settings.redirect_uri} if settings.redirect_uri else None
            ),
        )
        self.http, self.oauth = app.http, app.oauth

    def recognises_release_url(self, url: str) -> bool:
        """A track or a set (album); ``/resolve`` answers for either."""
        return canonical_soundcloud_url(url) is not None

    # -- OAuth ------------------------------------------------------------------------------

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]:
        return []

    async def _call(
        self,
        method: str,
        url: str,
        *,
        token: str,
        params: Mapping[str, str] | None = None,
        retry_safe: bool,
    ) -> httpx.Response:
        response = await self.http.request(
            method,
            url,
            params=params,
            headers={"Authorization": f"OAuth {token}", "Accept": "application/json"},
            retry_safe=retry_safe,
            secrets=[token],
        )
        raise_for_api_error(response, self.http, token)
        return response

    async def _app_get(
        self, url: str, *, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """A catalogue GET with the app token; a 401 renews the app token once."""

        async def get(token: str) -> httpx.Response:
            return await self._call("GET", url, token=token, params=params, retry_safe=True)

        return await self.oauth.with_app_token(get)

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        self._require_available()
        me = as_dict(
            json_body(
                await self._call(
                    "GET", f"{self._api}/me", token=tokens.access_token, retry_safe=True
                )
            )
        )
        user_id = as_str(me.get("urn")) or (
            urn("users", raw) if (raw := as_str(me.get("id"))) else None
        )
        country = as_str(me.get("country_code")) or as_str(me.get("country"))
        return PlatformAccount(
            service=SERVICE,
            id=user_id,
            display_name=as_str(me.get("username")),
            country=country.upper() if country and len(country) == 2 else None,
        )

    # -- lookups ----------------------------------------------------------------------------

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        canonical = canonical_soundcloud_url(url)
        if canonical is None:
            return None
        try:
            response = await self._app_get(f"{self._api}/resolve", params={"url": canonical})
            if response.status_code in {301, 302, 303, 307, 308}:
                location = response.headers.get("location", "")
                # The redirect must stay on the API host; check_host refuses anything else.
                target = self.http.check_host(httpx.URL(self._api + "/").join(location))
                response = await self._app_get(str(target))
        except NotFound:
            return None
        return resource_match(as_dict(json_body(response)))

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        query = " ".join([title, *artists[:1]])
        found: list[ReleaseMatch] = []
        for path in ("/playlists", "/tracks"):
            response = await self._app_get(f"{self._api}{path}", params={"q": query, "limit": "10"})
            for item in _collection(json_body(response)):
                match = resource_match(item)
                if match is not None:
                    found.append(match)
        return found

    # -- actions ----------------------------------------------------------------------------

    async def _like(self, tokens: TokenSet, kind: str, item_urn: str) -> None:
        # Liking twice leaves one like: safe to retry.
        await self._call(
            "POST",
            f"{self._api}/likes/{kind}/{item_urn}",
            token=tokens.access_token,
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
        """Like the set (album) and each track; a single's ``album_id`` may be its track."""
        self._require(Capability.SAVE_RELEASE)
        album_urn = album_id if album_id.startswith("soundcloud:") else urn("playlists", album_id)
        kind = "tracks" if album_urn.startswith("soundcloud:tracks:") else "playlists"
        tracks = [t for t in unique(urn("tracks", t) for t in track_ids) if t != album_urn]
        await self._like(tokens, kind, album_urn)
        for track in tracks:
            await self._like(tokens, "tracks", track)
        return ActionResult(
            service=SERVICE,
            action=Capability.SAVE_RELEASE,
            targets=(album_urn, *tracks),
            requests=1 + len(tracks),
        )

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.FOLLOW_ARTIST)
        artists = unique(urn("users", a) for a in artist_ids)
        already = []
        for artist in artists:
            # PUT is idempotent: 200 "already following", 201 "now following".
            response = await self._call(
                "PUT",
                f"{self._api}/me/followings/{artist}",
                token=tokens.access_token,
                retry_safe=True,
            )
            if response.status_code == 200:
                already.append(artist)
        return ActionResult(
            service=SERVICE,
            action=Capability.FOLLOW_ARTIST,
            targets=tuple(artists),
            already_done=tuple(already),
            requests=len(artists),
        )

    async def follow_playlist(
        self, tokens: TokenSet, *, playlist_id: str, idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.PLAYLIST_FOLLOW)
        playlist_urn = urn("playlists", playlist_id)
        await self._like(tokens, "playlists", playlist_urn)
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_FOLLOW,
            targets=(playlist_urn,),
            requests=1,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
