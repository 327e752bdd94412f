"""Deezer: connect (auth.php / access_token.php) and the API with its quirks.

Errors come back as HTTP 200 with ``{"error": {"type", "message", "code"}}``: 4 quota
(~50 requests / 5 s per app), 200 permission, 300 invalid token, 800 no data (also for
UPC/ISRC lookups before release in the user's country). The token goes in the
``access_token`` query parameter; ``request_method=POST|DELETE`` on a GET emulates the
verb. ``access_token.php`` answers ``access_token=...&expires=N`` as plain text unless
``output=json``; ``expires`` is 0 (never) with ``offline_access``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from launchlink.simulator.catalog import Album, Artist, Track
from launchlink.simulator.consent import AuthorizeDialect, authorize_endpoint
from launchlink.simulator.gateway import Access, Dialect, ServiceApi, access_token_of, require_user
from launchlink.simulator.http import form_of, json_response, state_of
from launchlink.simulator.models import AccessToken, SimApp, SimUser
from launchlink.simulator.state import DEFAULT_RATE_LIMITS, SimulatorState

SERVICE = "deezer"
DIALECT = AuthorizeDialect(
    service=SERVICE,
    title="Deezer",
    client_param="app_id",
    scope_param="perms",
    scope_separator=",",
    deny_params=(("error_reason", "user_denied"),),
)
SHORT_TOKEN_SECONDS = 3600


def deezer_error(kind: str, message: str, code: int, status: int = 200) -> Response:
    return json_response({"error": {"type": kind, "message": message, "code": code}}, status)


def no_data() -> Response:
    return deezer_error("DataException", "no data", 800)


def quota_exceeded() -> Response:
    return deezer_error("Exception", "Quota limit exceeded", 4)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    if status == 429:
        return quota_exceeded()
    return deezer_error("Exception", message, 700, status)


@dataclass(slots=True)
class Caller:
    state: SimulatorState
    request: Request
    token: AccessToken | None = None
    app: SimApp | None = None
    user: SimUser | None = None

    @property
    def method(self) -> str:
        """``request_method=POST|DELETE`` on a GET emulates the verb (platform-apis §3.2)."""
        return self.request.query_params.get("request_method", self.request.method).upper()

    def param(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    @classmethod
    def admitted(cls, request: Request, state: SimulatorState, access: Access) -> Caller:
        return cls(state, request, access.token, access.app, access.user)


Endpoint = Callable[[Caller], Awaitable[Response]]


def _authenticate(request: Request, state: SimulatorState) -> Access | Response:
    """The token is optional (public reads); callers without an app are counted per IP."""
    raw = request.query_params.get("access_token")
    token = access_token_of(state, SERVICE, raw) if raw is not None else None
    if isinstance(token, str):
        return deezer_error("OAuthException", "Invalid OAuth access token.", 300)
    app = state.apps.get((SERVICE, token.client_id)) if token else None
    user = state.users.get((SERVICE, token.user_id)) if token and token.user_id else None
    if app is None:
        host = request.client.host if request.client else "-"
        return Access(f"ip:{host}", DEFAULT_RATE_LIMITS[SERVICE], token=token, user=user)
    return Access(app.client_id, app.rate_limit, app=app, token=token, user=user)


GATE = ServiceApi(
    Dialect(SERVICE, fault_response), authenticate=_authenticate, caller=Caller.admitted
)
_user = require_user(
    lambda: deezer_error(
        "OAuthException",
        "An active access token must be used to query information about the current user",
        200,
    )
)


def api(
    endpoint: Endpoint, *, user_required: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    return GATE(endpoint, _user) if user_required else GATE(endpoint)


# -- shapes -------------------------------------------------------------------------------


def artist_json(artist: Artist) -> dict[str, Any]:
    artist_id = int(artist.ids[SERVICE])
    return {
        "id": artist_id,
        "name": artist.name,
        "link": f"https://www.deezer.com/artist/{artist_id}",
        "picture": f"https://api.deezer.com/artist/{artist_id}/image",
        "tracklist": f"https://api.deezer.com/artist/{artist_id}/top?limit=50",
        "type": "artist",
    }


def track_json(state: SimulatorState, track: Track, album: Album, *, full: bool) -> dict[str, Any]:
    track_id = int(track.ids[SERVICE])
    body: dict[str, Any] = {
        "id": track_id,
        "readable": True,
        "title": track.title,
        "link": f"https://www.deezer.com/track/{track_id}",
        "duration": track.duration_ms // 1000,
        "explicit_lyrics": track.explicit,
        "artist": artist_json(state.catalog.artists[track.artist_keys[0]]),
        "type": "track",
    }
    if full:
        body["isrc"] = track.isrc
        body["track_position"] = track.track_number
        body["disk_number"] = track.disc_number
        body["release_date"] = album.release_date.isoformat()
        body["album"] = {
            "id": int(album.ids[SERVICE]),
            "title": album.title,
            "link": f"https://www.deezer.com/album/{album.ids[SERVICE]}",
            "type": "album",
        }
    return body


def album_json(state: SimulatorState, album: Album, *, full: bool) -> dict[str, Any]:
    album_id = int(album.ids[SERVICE])
    artists = [state.catalog.artists[k] for k in album.artist_keys]
    body: dict[str, Any] = {
        "id": album_id,
        "title": album.title,
        "link": f"https://www.deezer.com/album/{album_id}",
        "cover": f"https://api.deezer.com/album/{album_id}/image",
        "nb_tracks": len(album.tracks),
        "record_type": "single" if album.album_type == "single" else album.album_type,
        "tracklist": f"https://api.deezer.com/album/{album_id}/tracks",
        "explicit_lyrics": any(t.explicit for t in album.tracks),
        "artist": artist_json(artists[0]),
        "type": "album",
    }
    if full:
        body.update(
            {
                "upc": album.upc,
                "label": album.label,
                "duration": album.duration_ms // 1000,
                "release_date": album.release_date.isoformat(),
                "available": True,
                "contributors": [artist_json(a) | {"role": "Main"} for a in artists],
                # The embedded tracklist omits isrc [UNCERTAIN]: read /track/{id} for it.
                "tracks": {"data": [track_json(state, t, album, full=False) for t in album.tracks]},
            }
        )
    return body


def _country(caller: Caller) -> str | None:
    return caller.user.country if caller.user else None


def _released(caller: Caller, album: Album) -> bool:
    return album.is_available(_country(caller), caller.state.now())


# -- catalogue ----------------------------------------------------------------------------


async def get_album(caller: Caller) -> Response:
    ref: str = caller.request.path_params["ref"]
    state = caller.state
    if ref.startswith("upc:"):
        normalize = state.options.normalize_upc_leading_zeros
        albums = state.catalog.albums_by_upc(SERVICE, ref[4:], normalize_leading_zeros=normalize)
        album = albums[0] if albums else None
    else:
        album = state.catalog.album_by_id(SERVICE, ref)
    if album is None or not _released(caller, album):
        return no_data()
    return json_response(album_json(state, album, full=True))


async def get_track(caller: Caller) -> Response:
    ref: str = caller.request.path_params["ref"]
    catalog = caller.state.catalog
    if ref.startswith("isrc:"):
        pairs = catalog.tracks_by_isrc(SERVICE, ref[5:])
        found = next((p for p in pairs if _released(caller, p[1])), None)
    else:
        found = catalog.track_by_id(SERVICE, ref)
    if found is None or not _released(caller, found[1]):
        return no_data()
    return json_response(track_json(caller.state, found[0], found[1], full=True))


async def search_albums(caller: Caller) -> Response:
    q = caller.param("q") or ""
    albums = [a for a in caller.state.catalog.search_albums(SERVICE, q) if _released(caller, a)]
    data = [album_json(caller.state, a, full=False) for a in albums[:25]]
    return json_response({"data": data, "total": len(albums)})


async def search_tracks(caller: Caller) -> Response:
    q = caller.param("q") or ""
    pairs = [p for p in caller.state.catalog.search_tracks(SERVICE, q) if _released(caller, p[1])]
    data = [track_json(caller.state, t, a, full=True) for t, a in pairs[:25]]
    return json_response({"data": data, "total": len(pairs)})


async def user_me(caller: Caller) -> Response:
    user = caller.user
    assert user is not None
    assert caller.token is not None
    body: dict[str, Any] = {
        "id": user.numeric_id,
        "name": user.display_name,
        "lastname": "",
        "firstname": "",
        "country": user.country,
        "lang": "EN",
        "link": f"https://www.deezer.com/profile/{user.numeric_id}",
        "picture": f"https://api.deezer.com/user/{user.numeric_id}/image",
        "tracklist": f"https://api.deezer.com/user/{user.numeric_id}/flow",
        "type": "user",
    }
    if "email" in caller.token.scopes:
        body["email"] = user.email
    return json_response(body)


# -- library ------------------------------------------------------------------------------


def _exists(caller: Caller, kind: str, item_id: str) -> bool:
    catalog = caller.state.catalog
    if kind == "album":
        album = catalog.album_by_id(SERVICE, item_id)
        return album is not None and _released(caller, album)
    if kind == "track":
        found = catalog.track_by_id(SERVICE, item_id)
        return found is not None and _released(caller, found[1])
    if kind == "artist":
        return catalog.artist_by_id(SERVICE, item_id) is not None
    if kind == "playlist":
        return (SERVICE, item_id) in caller.state.playlists
    return True


def _favorite(kind: str, param: str, action: str) -> Endpoint:
    async def endpoint(caller: Caller) -> Response:
        state, user, token = caller.state, caller.user, caller.token
        assert user is not None
        assert token is not None
        if caller.method == "GET":
            shelf = state.library(SERVICE, user.user_id).get(action, {})
            return json_response(
                {"data": [{"id": int(i.split(":")[1])} for i in shelf], "total": len(shelf)}
            )
        if "manage_library" not in token.scopes:
            return deezer_error("OAuthException", "Permission denied", 200)
        item_id = caller.param(param)
        if not item_id:
            return deezer_error("MissingParameterException", f"Missing parameters: {param}", 501)
        known = _exists(caller, kind, item_id)
        if not known:
            return no_data()
        write = state.library_add if caller.method == "POST" else state.library_remove
        write(
            service=SERVICE,
            app_id=token.client_id,
            user_id=user.user_id,
            action=action,
            item=f"{kind}:{item_id}",
        )
        return json_response(True)

    return endpoint


async def user_playlists(caller: Caller) -> Response:
    if caller.method == "POST" and caller.param("title") is not None:
        return await create_playlist(caller)
    if caller.method == "GET":
        return await list_playlists(caller)
    return await _favorite("playlist", "playlist_id", "follow_playlist")(caller)


def _creator(state: SimulatorState, user_id: str) -> dict[str, Any]:
    owner = state.users.get((SERVICE, user_id))
    return {
        "id": owner.numeric_id if owner else 0,
        "name": (owner.display_name if owner else None) or user_id,
        "type": "user",
    }


async def list_playlists(caller: Caller) -> Response:
    """``GET /user/me/playlists``: the user's own playlists and their favourite ones, with
    Deezer's paging (``index``/``limit``, ``total``, ``next``)."""
    state, user = caller.state, caller.user
    assert user is not None
    favourites = state.library(SERVICE, user.user_id).get("follow_playlist", {})
    shown = [
        playlist
        for (service, _), playlist in state.playlists.items()
        if service == SERVICE
        and (playlist.owner_id == user.user_id or f"playlist:{playlist.playlist_id}" in favourites)
    ]
    try:
        index = max(0, int(caller.param("index") or 0))
        limit = max(1, min(int(caller.param("limit") or 25), 100))
    except ValueError:
        return deezer_error("ParameterException", "Wrong parameter", 500)
    data = [
        {
            "id": int(playlist.playlist_id),
            "title": playlist.name,
            "public": playlist.public,
            "collaborative": playlist.collaborative,
            "nb_tracks": len(playlist.items),
            "creator": _creator(state, playlist.owner_id),
            "type": "playlist",
        }
        for playlist in shown[index : index + limit]
    ]
    body: dict[str, Any] = {"data": data, "total": len(shown)}
    if index + limit < len(shown):
        body["next"] = f"/user/me/playlists?index={index + limit}&limit={limit}"
    return json_response(body)


async def create_playlist(caller: Caller) -> Response:
    state, user, token = caller.state, caller.user, caller.token
    assert user is not None
    assert token is not None
    if "manage_library" not in token.scopes:
        return deezer_error("OAuthException", "Permission denied", 200)
    playlist_id = str(10_000_000_000 + len(state.playlists) + 1)
    state.add_playlist(
        SERVICE, playlist_id, owner_id=user.user_id, name=caller.param("title") or ""
    )
    return json_response({"id": int(playlist_id)})


async def playlist_tracks(caller: Caller) -> Response:
    state, user, token = caller.state, caller.user, caller.token
    assert user is not None
    assert token is not None
    playlist = state.playlists.get((SERVICE, caller.request.path_params["id"]))
    if playlist is None:
        return no_data()
    if caller.method != "POST":
        return json_response({"data": [{"id": int(i.split(":")[1])} for i, _, _ in playlist.items]})
    if playlist.owner_id != user.user_id or "manage_library" not in token.scopes:
        return deezer_error("OAuthException", "Permission denied", 200)
    songs = [s for s in (caller.param("songs") or "").split(",") if s]
    if not songs:
        return deezer_error("MissingParameterException", "Missing parameters: songs", 501)
    if any(state.catalog.track_by_id(SERVICE, s) is None for s in songs):
        return no_data()
    state.playlist_add(
        playlist,
        [f"track:{song}" for song in songs],
        app_id=token.client_id,
        user_id=user.user_id,
        detail=f"playlist:{playlist.playlist_id}",
    )
    return json_response(True)


# -- connect --------------------------------------------------------------------------------


async def access_token(request: Request) -> Response:
    state = state_of(request)
    params = dict(request.query_params)
    if request.method == "POST":
        params |= await form_of(request)
    as_json = params.get("output") == "json"
    app = state.app(SERVICE, params.get("app_id", ""))
    code = state.codes.get(params.get("code", ""))
    valid = (
        app is not None
        and app.client_secret is not None
        and params.get("secret") == app.client_secret
        and code is not None
        and not code.used
        and code.service == SERVICE
        and code.client_id == app.client_id
        and code.expires_at > state.now()
    )
    if not valid or code is None or app is None:
        if as_json:
            return json_response({"error": {"type": "OAuthException", "message": "wrong code"}})
        return PlainTextResponse("wrong code")
    code.used = True
    grant = state.add_grant(SERVICE, app.client_id, code.user_id, code.scopes)
    ttl = None if "offline_access" in code.scopes else SHORT_TOKEN_SECONDS
    token = state.issue_access_token(
        service=SERVICE, client_id=app.client_id, grant=grant, scopes=grant.scopes, ttl_seconds=ttl
    )
    if as_json:
        return json_response({"access_token": token.token, "expires": ttl or 0})
    return PlainTextResponse(urlencode({"access_token": token.token, "expires": ttl or 0}))


def connect_routes() -> list[Route]:
    return [
        Route("/oauth/auth.php", authorize_endpoint(DIALECT), methods=["GET", "POST"]),
        Route("/oauth/access_token.php", access_token, methods=["GET", "POST"]),
    ]


def api_routes() -> list[Route]:
    every = ["GET", "POST", "DELETE"]
    return [
        Route("/user/me", api(user_me, user_required=True), methods=["GET"]),
        Route("/album/{ref}", api(get_album), methods=["GET"]),
        Route("/track/{ref}", api(get_track), methods=["GET"]),
        Route("/search/album", api(search_albums), methods=["GET"]),
        Route("/search/track", api(search_tracks), methods=["GET"]),
        Route("/search", api(search_tracks), methods=["GET"]),
        Route(
            "/user/me/albums",
            api(_favorite("album", "album_id", "save_album"), user_required=True),
            methods=every,
        ),
        Route(
            "/user/me/artists",
            api(_favorite("artist", "artist_id", "follow_artist"), user_required=True),
            methods=every,
        ),
        Route(
            "/user/me/tracks",
            api(_favorite("track", "track_id", "save_track"), user_required=True),
            methods=every,
        ),
        Route(
            "/user/me/followings",
            api(_favorite("user", "user_id", "follow_user"), user_required=True),
            methods=every,
        ),
        Route("/user/me/playlists", api(user_playlists, user_required=True), methods=every),
        Route("/playlist/{id}/tracks", api(playlist_tracks, user_required=True), methods=every),
    ]
