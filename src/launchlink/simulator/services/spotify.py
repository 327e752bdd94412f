"""Spotify: accounts (authorize, token) and the Web API subset pre-save needs.

Faithful to platform-apis §1 and the OpenAPI document: Development vs Extended mode,
the 5-user allow-list (403 "User not registered in the Developer Dashboard", text/plain
unless the app asks for JSON), legacy endpoints removed in Development Mode, the
40-URI ``/me/library`` with its bare 400 ErrorObject, per-URI-type scopes, a rolling
30 s rate limit per client_id with ``Retry-After`` modes, and search that hides albums
not yet available in the caller's market.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.simulator.catalog import Album, Track, make_id
from launchlink.simulator.consent import AuthorizeDialect, authorize_endpoint
from launchlink.simulator.gateway import (
    Access,
    Dialect,
    ServiceApi,
    require_user,
    token_access,
    token_route,
)
from launchlink.simulator.http import (
    empty,
    json_body,
    json_response,
    service_root,
)
from launchlink.simulator.models import AccessToken, Playlist, SimApp, SimUser
from launchlink.simulator.services import spotify_objects as obj
from launchlink.simulator.state import SimulatorState
from launchlink.simulator.urls import SPOTIFY_API

SERVICE = "spotify"
NOT_REGISTERED = "User not registered in the Developer Dashboard"
MAX_LIBRARY_URIS = 40
_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_URI = re.compile(r"^spotify:(track|album|episode|show|audiobook|artist|user|playlist):(.+)$")
_FILTER = re.compile(r'(\w+):(?:"([^"]*)"|(\S+))')

# Which scope a URI type needs on ``PUT|DELETE /me/library`` (write) and ``contains`` (read).
WRITE_SCOPES: dict[str, tuple[str, ...]] = {
    "track": ("user-library-modify",),
    "album": ("user-library-modify",),
    "episode": ("user-library-modify",),
    "show": ("user-library-modify",),
    "audiobook": ("user-library-modify",),
    "artist": ("user-follow-modify",),
    "user": ("user-follow-modify",),
    "playlist": ("playlist-modify-public", "playlist-modify-private"),
}
READ_SCOPES: dict[str, tuple[str, ...]] = {
    "track": ("user-library-read",),
    "album": ("user-library-read",),
    "episode": ("user-library-read",),
    "show": ("user-library-read",),
    "audiobook": ("user-library-read",),
    "artist": ("user-follow-read",),
    "user": ("user-follow-read",),
    "playlist": ("playlist-read-private",),
}
ACTIONS: dict[str, str] = {
    "track": "save_track",
    "album": "save_album",
    "episode": "save_episode",
    "show": "save_show",
    "audiobook": "save_audiobook",
    "artist": "follow_artist",
    "user": "follow_user",
    "playlist": "follow_playlist",
}

DIALECT = AuthorizeDialect(service=SERVICE, title="Spotify")


# -- error shapes -------------------------------------------------------------------------


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"status": status, "message": message}}, status, headers=headers)


def bare_error(status: int, message: str) -> Response:
    """The unusual bare ErrorObject the spec gives ``/me/library``'s 400."""
    return json_response({"status": status, "message": message}, status)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    headers = (
        {"Retry-After": str(retry_after)} if status == 429 and retry_after is not None else None
    )
    return error(status, message, headers)


# -- request context ----------------------------------------------------------------------


@dataclass(slots=True)
class Caller:
    state: SimulatorState
    token: AccessToken
    app: SimApp
    user: SimUser | None
    request: Request

    @property
    def dev(self) -> bool:
        return self.app.mode == "development"

    @property
    def now(self) -> datetime:
        return self.state.now()

    @property
    def base(self) -> str:
        return service_root(self.request, SPOTIFY_API)

    def market(self) -> str | None:
        """The user's country wins over ``market`` (per the spec's search text)."""
        if self.user is not None:
            return self.user.country
        market = self.request.query_params.get("market")
        return market.upper() if market and market != "from_token" else None

    def has_any(self, scopes: tuple[str, ...]) -> bool:
        return any(scope in self.token.scopes for scope in scopes)

    @classmethod
    def admitted(cls, request: Request, state: SimulatorState, access: Access) -> Caller:
        assert access.token is not None  # token_access found the token and its app
        assert access.app is not None
        return cls(state, access.token, access.app, access.user, request)


Endpoint = Callable[[Caller], Awaitable[Response]]
GATE = ServiceApi(
    Dialect(SERVICE, fault_response),
    authenticate=token_access(SERVICE, refuse=lambda why: error(401, why)),
    caller=Caller.admitted,
)


def _registered(caller: Caller) -> Response | None:
    """Development mode: only the app's allow-listed users get past (platform-apis §1.3)."""
    user, app = caller.user, caller.app
    if user is None or not caller.dev or user.user_id in app.allow_list:
        return None
    if app.forbidden_as_json:
        return error(403, NOT_REGISTERED)
    return Response(NOT_REGISTERED, status_code=403, media_type="text/plain")


def _not_in_dev(caller: Caller) -> Response | None:
    return error(403, "Forbidden") if caller.dev else None


_user = require_user(lambda: error(401, "Valid user authentication required"))


def api(
    endpoint: Endpoint, *, user_required: bool = False, removed_in_dev: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    checks: list[Callable[[Caller], Response | None]] = [_registered]
    if removed_in_dev:
        checks.append(_not_in_dev)
    if user_required:
        checks.append(_user)
    return GATE(endpoint, *checks)


def _int_param(caller: Caller, name: str, default: int, low: int, high: int) -> int | None:
    raw = caller.request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _visible_album(caller: Caller, album: Album | None) -> Album | None:
    if album is None:
        return None
    market = caller.market()
    if market is None:
        return album if album.is_available(None, caller.now) else None
    return album if album.is_available(market, caller.now) else None


# -- catalogue ----------------------------------------------------------------------------


async def get_me(caller: Caller) -> Response:
    user = caller.user
    assert user is not None
    body: dict[str, Any] = {
        "account_id": f"acc{user.numeric_id}",
        "display_name": user.display_name,
        "external_urls": {"spotify": f"https://open.spotify.com/user/{user.user_id}"},
        "href": f"{caller.base}/users/{user.user_id}",
        "id": user.user_id,
        "images": [],
        "type": "user",
        "uri": f"spotify:user:{user.user_id}",
    }
    if not caller.dev:
        if "user-read-private" in caller.token.scopes:
            body["country"] = user.country
            body["product"] = user.product
            body["explicit_content"] = {"filter_enabled": False, "filter_locked": False}
        if "user-read-email" in caller.token.scopes:
            body["email"] = user.email
        body["followers"] = {"href": None, "total": 0}
    return json_response(body)


async def get_album(caller: Caller) -> Response:
    album_id = caller.request.path_params["id"]
    if not _ID.match(album_id):
        return error(400, "invalid id")
    album = _visible_album(caller, caller.state.catalog.album_by_id(SERVICE, album_id))
    if album is None:
        return error(404, "Resource not found")
    return json_response(
        obj.album_full(caller.state.catalog, album, caller.base, dev=caller.dev, now=caller.now)
    )


async def get_album_tracks(caller: Caller) -> Response:
    album_id = caller.request.path_params["id"]
    album = _visible_album(caller, caller.state.catalog.album_by_id(SERVICE, album_id))
    if album is None:
        return error(404, "Resource not found")
    limit = _int_param(caller, "limit", 20, 1, 50)
    offset = _int_param(caller, "offset", 0, 0, 10_000)
    if limit is None or offset is None:
        return error(400, "Invalid limit or offset")
    catalog = caller.state.catalog
    items = [
        obj.track_simple(catalog, t, album, caller.base, dev=caller.dev, now=caller.now)
        for t in album.tracks[offset : offset + limit]
    ]
    href = f"{caller.base}/albums/{album_id}/tracks"
    return json_response(
        obj.paging(items, href=href, limit=limit, offset=offset, total=len(album.tracks))
    )


async def get_several_albums(caller: Caller) -> Response:
    raw = caller.request.query_params.get("ids", "")
    ids = [i for i in raw.split(",") if i]
    if not ids:
        return error(400, "Missing required parameter: ids")
    if len(ids) > 20:
        return error(400, "Too many ids requested")
    catalog = caller.state.catalog
    albums = [_visible_album(caller, catalog.album_by_id(SERVICE, i)) for i in ids]
    return json_response(
        {
            "albums": [
                obj.album_full(catalog, a, caller.base, dev=caller.dev, now=caller.now)
                if a
                else None
                for a in albums
            ]
        }
    )


async def get_artist(caller: Caller) -> Response:
    artist = caller.state.catalog.artist_by_id(SERVICE, caller.request.path_params["id"])
    if artist is None:
        return error(404, "Resource not found")
    return json_response(obj.artist_full(artist, caller.base, dev=caller.dev))


async def get_track(caller: Caller) -> Response:
    found = caller.state.catalog.track_by_id(SERVICE, caller.request.path_params["id"])
    if found is None or _visible_album(caller, found[1]) is None:
        return error(404, "Resource not found")
    track, album = found
    return json_response(
        obj.track_full(
            caller.state.catalog, track, album, caller.base, dev=caller.dev, now=caller.now
        )
    )


def _parse_query(q: str) -> tuple[dict[str, str], str]:
    filters: dict[str, str] = {}
    for match in _FILTER.finditer(q):
        filters[match.group(1).lower()] = (
            match.group(2) if match.group(2) is not None else match.group(3)
        )
    return filters, _FILTER.sub(" ", q).strip()


def _search_albums(caller: Caller, filters: dict[str, str], text: str) -> list[Album]:
    catalog = caller.state.catalog
    if "upc" in filters:
        found = catalog.albums_by_upc(
            SERVICE,
            filters["upc"],
            normalize_leading_zeros=caller.state.options.normalize_upc_leading_zeros,
        )
    else:
        words = " ".join(v for k, v in filters.items() if k in {"album", "artist"})
        found = catalog.search_albums(SERVICE, f"{text} {words}")
    return [a for a in found if _visible_album(caller, a) is not None]


def _search_tracks(caller: Caller, filters: dict[str, str], text: str) -> list[tuple[Track, Album]]:
    catalog = caller.state.catalog
    if "isrc" in filters:
        found = catalog.tracks_by_isrc(SERVICE, filters["isrc"])
    else:
        words = " ".join(v for k, v in filters.items() if k in {"track", "album", "artist"})
        found = catalog.search_tracks(SERVICE, f"{text} {words}")
    return [pair for pair in found if _visible_album(caller, pair[1]) is not None]


async def search(caller: Caller) -> Response:
    params = caller.request.query_params
    q = params.get("q")
    types = [t for t in params.get("type", "").split(",") if t]
    if not q:
        return error(400, "No search query")
    allowed = {"album", "artist", "playlist", "track", "show", "episode", "audiobook"}
    if not types or any(t not in allowed for t in types):
        return error(400, "Missing or invalid parameter type")
    limit = _int_param(caller, "limit", 5, 1, 10)
    if limit is None:
        return error(400, "Invalid limit")
    offset = _int_param(caller, "offset", 0, 0, 1000)
    if offset is None:
        return error(400, "Invalid offset")
    filters, text = _parse_query(q)
    catalog = caller.state.catalog
    base = caller.base
    href = f"{base}/search?query={q}&type={','.join(types)}"
    body: dict[str, Any] = {}
    for kind in types:
        items: list[Any]
        if kind == "album" and not ({"isrc", "track"} & filters.keys()):
            albums = _search_albums(caller, filters, text)
            items = [
                obj.album_simple(catalog, a, base, dev=caller.dev, now=caller.now) for a in albums
            ]
        elif kind == "track" and not ({"upc"} & filters.keys()):
            pairs = _search_tracks(caller, filters, text)
            items = [
                obj.track_full(catalog, t, a, base, dev=caller.dev, now=caller.now)
                for t, a in pairs
            ]
        elif kind == "artist" and not ({"upc", "isrc"} & filters.keys()):
            artists = catalog.search_artists(filters.get("artist", text))
            items = [obj.artist_full(a, base, dev=caller.dev) for a in artists]
        else:
            items = []
        body[f"{kind}s"] = obj.paging(
            items[offset : offset + limit], href=href, limit=limit, offset=offset, total=len(items)
        )
    return json_response(body)


# -- library (new, Feb 2026) ------------------------------------------------------------------


def _library_uris(caller: Caller, body: Any) -> list[str] | Response:
    raw = caller.request.query_params.get("uris")
    if raw is not None:
        uris = [u.strip() for u in raw.split(",") if u.strip()]
    elif isinstance(body, dict) and isinstance(body.get("uris"), list):
        uris = [str(u) for u in body["uris"]]  # [UNCERTAIN] body form; the query is canonical
    else:
        return bare_error(400, "Missing required parameter: uris")
    if not uris:
        return bare_error(400, "Missing required parameter: uris")
    if len(uris) > MAX_LIBRARY_URIS:
        return bare_error(400, f"Too many URIs: at most {MAX_LIBRARY_URIS} are allowed")
    return uris


def _check_uri(caller: Caller, uri: str, *, writing: bool) -> tuple[str, str] | Response:
    match = _URI.match(uri)
    if match is None:
        return bare_error(400, f"Invalid URI: {uri}")
    kind, item_id = match.group(1), match.group(2)
    if kind != "user" and not _ID.match(item_id):
        return bare_error(400, f"Invalid base62 id: {uri}")
    scopes = WRITE_SCOPES[kind] if writing else READ_SCOPES[kind]
    if not caller.has_any(scopes):
        return error(403, "Insufficient client scope")
    catalog = caller.state.catalog
    if writing:
        exists = True
        if kind == "album":
            exists = _visible_album(caller, catalog.album_by_id(SERVICE, item_id)) is not None
        elif kind == "track":
            found = catalog.track_by_id(SERVICE, item_id)
            exists = found is not None and _visible_album(caller, found[1]) is not None
        elif kind == "artist":
            exists = catalog.artist_by_id(SERVICE, item_id) is not None
        if not exists:
            return bare_error(400, f"Non existing id: {uri}")
    return kind, item_id


async def library_write(caller: Caller) -> Response:
    body = (
        await json_body(caller.request) if caller.request.query_params.get("uris") is None else None
    )
    uris = _library_uris(caller, body)
    if isinstance(uris, Response):
        return uris
    checked: list[tuple[str, str]] = []
    for uri in uris:
        result = _check_uri(caller, uri, writing=True)
        if isinstance(result, Response):
            return result
        checked.append((uri, result[0]))
    state = caller.state
    assert caller.user is not None
    write = state.library_add if caller.request.method == "PUT" else state.library_remove
    for uri, kind in checked:
        write(
            service=SERVICE,
            app_id=caller.app.client_id,
            user_id=caller.user.user_id,
            action=ACTIONS[kind],
            item=uri,
        )
    return empty(200)


async def library_contains(caller: Caller) -> Response:
    uris = _library_uris(caller, None)
    if isinstance(uris, Response):
        return uris
    answers = []
    assert caller.user is not None
    for uri in uris:
        result = _check_uri(caller, uri, writing=False)
        if isinstance(result, Response):
            return result
        answers.append(
            caller.state.library_contains(SERVICE, caller.user.user_id, ACTIONS[result[0]], uri)
        )
    return json_response(answers)


# -- legacy type-specific endpoints (Extended Quota only) ----------------------------------------


async def _legacy_ids(caller: Caller, query_max: int, body_max: int) -> list[str] | Response:
    raw = caller.request.query_params.get("ids")
    if raw is not None:
        ids = [i for i in raw.split(",") if i]
        limit = query_max
    else:
        body = await json_body(caller.request)
        ids = []
        if isinstance(body, dict):
            if isinstance(body.get("timestamped_ids"), list):
                ids = [str(e.get("id")) for e in body["timestamped_ids"] if isinstance(e, dict)]
            elif isinstance(body.get("ids"), list):
                ids = [str(i) for i in body["ids"]]
        limit = body_max
    if not ids:
        return error(400, "Missing required parameter: ids")
    if len(ids) > limit:
        return error(400, "Too many ids requested")
    if any(not _ID.match(i) for i in ids):
        return error(400, "invalid id")
    return ids


def _legacy(kind: str, scope: str, query_max: int, body_max: int, ok_status: int) -> Endpoint:
    async def endpoint(caller: Caller) -> Response:
        if scope not in caller.token.scopes:
            return error(403, "Insufficient client scope")
        ids = await _legacy_ids(caller, query_max, body_max)
        if isinstance(ids, Response):
            return ids
        assert caller.user is not None
        catalog = caller.state.catalog
        for item_id in ids:
            if kind == "album":
                known = _visible_album(caller, catalog.album_by_id(SERVICE, item_id)) is not None
            elif kind == "track":
                found = catalog.track_by_id(SERVICE, item_id)
                known = found is not None and _visible_album(caller, found[1]) is not None
            elif kind == "artist":
                known = catalog.artist_by_id(SERVICE, item_id) is not None
            else:
                known = True
            if not known:
                return error(400, f"Non existing id: '{item_id}'")
        state = caller.state
        write = state.library_add if caller.request.method == "PUT" else state.library_remove
        for item_id in ids:
            write(
                service=SERVICE,
                app_id=caller.app.client_id,
                user_id=caller.user.user_id,
                action=ACTIONS[kind],
                item=f"spotify:{kind}:{item_id}",
            )
        return empty(ok_status)

    return endpoint


async def legacy_following(caller: Caller) -> Response:
    kind = caller.request.query_params.get("type")
    if kind not in ("artist", "user"):
        return error(400, "type must be artist or user")
    return await _legacy(kind, "user-follow-modify", 50, 50, 204)(caller)


def _legacy_contains(kind: str | None, scope: str, limit: int) -> Endpoint:
    async def endpoint(caller: Caller) -> Response:
        if scope not in caller.token.scopes:
            return error(403, "Insufficient client scope")
        item_kind = kind or caller.request.query_params.get("type", "")
        if item_kind not in ACTIONS:
            return error(400, "Invalid type")
        ids = [i for i in caller.request.query_params.get("ids", "").split(",") if i]
        if not ids:
            return error(400, "Missing required parameter: ids")
        if len(ids) > limit:
            return error(400, "Too many ids requested")
        assert caller.user is not None
        uid = caller.user.user_id
        return json_response(
            [
                caller.state.library_contains(
                    SERVICE, uid, ACTIONS[item_kind], f"spotify:{item_kind}:{i}"
                )
                for i in ids
            ]
        )

    return endpoint


async def legacy_playlist_followers(caller: Caller) -> Response:
    if not caller.has_any(WRITE_SCOPES["playlist"]):
        return error(403, "Insufficient client scope")
    playlist_id = caller.request.path_params["playlist_id"]
    if not _ID.match(playlist_id):
        return error(400, "invalid id")
    assert caller.user is not None
    write = (
        caller.state.library_add if caller.request.method == "PUT" else caller.state.library_remove
    )
    write(
        service=SERVICE,
        app_id=caller.app.client_id,
        user_id=caller.user.user_id,
        action="follow_playlist",
        item=f"spotify:playlist:{playlist_id}",
    )
    return empty(200)


# -- playlists ------------------------------------------------------------------------------


def _playlist_json(caller: Caller, playlist: Playlist) -> dict[str, Any]:
    body = _playlist_simple(caller, playlist)
    del body["tracks"]  # a full PlaylistObject's deprecated ``tracks`` would be a whole page
    body["description"] = playlist.description or None  # nullable here, not when simplified
    body["items"] = _items_page(caller, playlist, limit=100, offset=0)
    return body


def _playlist_simple(caller: Caller, playlist: Playlist) -> dict[str, Any]:
    """A ``SimplifiedPlaylistObject``: ``items`` is only a ``PlaylistTracksRefObject``."""
    base = caller.base
    owner = caller.state.users.get((SERVICE, playlist.owner_id))
    items_ref = {
        "href": f"{base}/playlists/{playlist.playlist_id}/items",
        "total": len(playlist.items),
    }
    return {
        "collaborative": playlist.collaborative,
        "description": playlist.description,
        "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.playlist_id}"},
        "href": f"{base}/playlists/{playlist.playlist_id}",
        "id": playlist.playlist_id,
        "images": [],
        "name": playlist.name,
        "owner": {
            "external_urls": {"spotify": f"https://open.spotify.com/user/{playlist.owner_id}"},
            "href": f"{base}/users/{playlist.owner_id}",
            "id": playlist.owner_id,
            "type": "user",
            "uri": f"spotify:user:{playlist.owner_id}",
            "display_name": owner.display_name if owner else None,
        },
        "public": playlist.public,
        "snapshot_id": f"snap{playlist.snapshot}",
        "items": items_ref,
        "tracks": items_ref,
        "type": "playlist",
        "uri": f"spotify:playlist:{playlist.playlist_id}",
    }


async def my_playlists(caller: Caller) -> Response:
    """``GET /me/playlists``: the playlists the user owns or follows (``playlist-read-private``
    per the OpenAPI document), owned first in creation order, then followed ones."""
    if "playlist-read-private" not in caller.token.scopes:
        return error(403, "Insufficient client scope")
    limit = _int_param(caller, "limit", 20, 1, 50)
    offset = _int_param(caller, "offset", 0, 0, 100_000)
    if limit is None or offset is None:
        return error(400, "Invalid limit or offset")
    assert caller.user is not None
    user_id = caller.user.user_id
    state = caller.state
    followed = state.library(SERVICE, user_id).get("follow_playlist", {})
    mine = [
        playlist
        for (service, _), playlist in state.playlists.items()
        if service == SERVICE
        and (playlist.owner_id == user_id or f"spotify:playlist:{playlist.playlist_id}" in followed)
    ]
    mine.sort(key=lambda playlist: playlist.owner_id != user_id)
    items = [_playlist_simple(caller, playlist) for playlist in mine[offset : offset + limit]]
    href = f"{caller.base}/me/playlists"
    return json_response(obj.paging(items, href=href, limit=limit, offset=offset, total=len(mine)))


async def create_playlist(caller: Caller) -> Response:
    body = await json_body(caller.request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return error(400, "Missing required field: name")
    public = bool(body.get("public", True))
    needed = ("playlist-modify-public",) if public else ("playlist-modify-private",)
    if not caller.has_any(needed):
        return error(403, "Insufficient client scope")
    assert caller.user is not None
    state = caller.state
    playlist_id = make_id(
        SERVICE, "album", f"playlist:{len(state.playlists)}:{state.new_token('')}"
    )
    playlist = state.add_playlist(
        SERVICE,
        playlist_id,
        owner_id=caller.user.user_id,
        name=body["name"],
        public=public,
        collaborative=bool(body.get("collaborative", False)),
        description=str(body.get("description", "")),
    )
    return json_response(_playlist_json(caller, playlist), 201)


def _own_playlist(caller: Caller) -> Playlist | Response:
    playlist = caller.state.playlists.get((SERVICE, caller.request.path_params["playlist_id"]))
    if playlist is None:
        return error(404, "Resource not found")
    assert caller.user is not None
    if playlist.owner_id != caller.user.user_id and not playlist.collaborative:
        return error(403, "You cannot modify or read items of a playlist you do not own")
    return playlist


async def add_playlist_items(caller: Caller) -> Response:
    if not caller.has_any(WRITE_SCOPES["playlist"]):
        return error(403, "Insufficient client scope")
    playlist = _own_playlist(caller)
    if isinstance(playlist, Response):
        return playlist
    raw = caller.request.query_params.get("uris")
    body = await json_body(caller.request) if raw is None else None
    position: int | None = None
    if raw is not None:
        uris = [u for u in raw.split(",") if u]
        if caller.request.query_params.get("position") is not None:
            position = int(caller.request.query_params["position"])
    elif isinstance(body, dict) and isinstance(body.get("uris"), list):
        uris = [str(u) for u in body["uris"]]
        position = body.get("position") if isinstance(body.get("position"), int) else None
    else:
        return error(400, "Missing required parameter: uris")
    if not uris or len(uris) > 100:
        return error(400, "You can add at most 100 items per request")
    catalog = caller.state.catalog
    for uri in uris:
        match = _URI.match(uri)
        if match is None or match.group(1) not in ("track", "episode"):
            return error(400, f"Invalid track uri: {uri}")
        if match.group(1) == "track":
            found = catalog.track_by_id(SERVICE, match.group(2))
            if found is None or _visible_album(caller, found[1]) is None:
                return error(400, f"Invalid track uri: {uri}")
    state = caller.state
    assert caller.user is not None
    state.playlist_add(
        playlist,
        uris,
        app_id=caller.app.client_id,
        user_id=caller.user.user_id,
        detail=f"spotify:playlist:{playlist.playlist_id}",
        position=position,
    )
    playlist.snapshot += 1
    return json_response({"snapshot_id": f"snap{playlist.snapshot}"}, 201)


def _items_page(caller: Caller, playlist: Playlist, *, limit: int, offset: int) -> dict[str, Any]:
    catalog = caller.state.catalog
    items = []
    for uri, at, by in playlist.items[offset : offset + limit]:
        found = catalog.track_by_id(SERVICE, uri.rsplit(":", 1)[-1])
        if found is None:
            continue
        track = obj.track_full(
            catalog, found[0], found[1], caller.base, dev=caller.dev, now=caller.now
        )
        items.append(
            {
                "added_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "added_by": {
                    "external_urls": {"spotify": f"https://open.spotify.com/user/{by}"},
                    "href": f"{caller.base}/users/{by}",
                    "id": by,
                    "type": "user",
                    "uri": f"spotify:user:{by}",
                },
                "is_local": False,
                "item": track,
                "track": track,
            }
        )
    href = f"{caller.base}/playlists/{playlist.playlist_id}/items"
    return obj.paging(items, href=href, limit=limit, offset=offset, total=len(playlist.items))


async def get_playlist_items(caller: Caller) -> Response:
    playlist = _own_playlist(caller)
    if isinstance(playlist, Response):
        return playlist
    limit = _int_param(caller, "limit", 20, 1, 50)
    offset = _int_param(caller, "offset", 0, 0, 100_000)
    if limit is None or offset is None:
        return error(400, "Invalid limit or offset")
    return json_response(_items_page(caller, playlist, limit=limit, offset=offset))


async def get_playlist(caller: Caller) -> Response:
    playlist = caller.state.playlists.get((SERVICE, caller.request.path_params["playlist_id"]))
    if playlist is None:
        return error(404, "Resource not found")
    return json_response(_playlist_json(caller, playlist))


# -- accounts ------------------------------------------------------------------------------


token = token_route(SERVICE)


def accounts_routes() -> list[Route]:
    return [
        Route("/authorize", authorize_endpoint(DIALECT), methods=["GET", "POST"]),
        Route("/api/token", token, methods=["POST"]),
    ]


def api_routes() -> list[Route]:
    return [
        Route("/me", api(get_me, user_required=True), methods=["GET"]),
        Route("/search", api(search), methods=["GET"]),
        Route("/albums", api(get_several_albums, removed_in_dev=True), methods=["GET"]),
        Route("/albums/{id}", api(get_album), methods=["GET"]),
        Route("/albums/{id}/tracks", api(get_album_tracks), methods=["GET"]),
        Route("/artists/{id}", api(get_artist), methods=["GET"]),
        Route("/tracks/{id}", api(get_track), methods=["GET"]),
        Route("/me/library", api(library_write, user_required=True), methods=["PUT", "DELETE"]),
        Route("/me/library/contains", api(library_contains, user_required=True), methods=["GET"]),
        Route(
            "/me/albums",
            api(
                _legacy("album", "user-library-modify", 20, 50, 200),
                user_required=True,
                removed_in_dev=True,
            ),
            methods=["PUT", "DELETE"],
        ),
        Route(
            "/me/albums/contains",
            api(
                _legacy_contains("album", "user-library-read", 20),
                user_required=True,
                removed_in_dev=True,
            ),
            methods=["GET"],
        ),
        Route(
            "/me/tracks",
            api(
                _legacy("track", "user-library-modify", 50, 50, 200),
                user_required=True,
                removed_in_dev=True,
            ),
            methods=["PUT", "DELETE"],
        ),
        Route(
            "/me/tracks/contains",
            api(
                _legacy_contains("track", "user-library-read", 50),
                user_required=True,
                removed_in_dev=True,
            ),
            methods=["GET"],
        ),
        Route(
            "/me/following",
            api(legacy_following, user_required=True, removed_in_dev=True),
            methods=["PUT", "DELETE"],
        ),
        Route(
            "/me/following/contains",
            api(
                _legacy_contains(None, "user-follow-read", 50),
                user_required=True,
                removed_in_dev=True,
            ),
            methods=["GET"],
        ),
        Route(
            "/playlists/{playlist_id}/followers",
            api(legacy_playlist_followers, user_required=True, removed_in_dev=True),
            methods=["PUT", "DELETE"],
        ),
        Route("/me/playlists", api(create_playlist, user_required=True), methods=["POST"]),
        Route("/me/playlists", api(my_playlists, user_required=True), methods=["GET"]),
        Route("/playlists/{playlist_id}", api(get_playlist), methods=["GET"]),
        Route(
            "/playlists/{playlist_id}/items",
            api(add_playlist_items, user_required=True),
            methods=["POST"],
        ),
        Route(
            "/playlists/{playlist_id}/items",
            api(get_playlist_items, user_required=True),
            methods=["GET"],
        ),
    ]
