"""SoundCloud: OAuth 2.1 + PKCE with single-use refresh tokens, ``Authorization: OAuth``,
``/resolve``, search, follow (201 new / 200 already) and likes. A release's tracks stay
private (404) until the album is out; albums appear as playlists (sets)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from launchlink.simulator.catalog import (
    Album,
    Artist,
    Track,
    service_album_url,
    service_track_url,
)
from launchlink.simulator.consent import AuthorizeDialect, authorize_endpoint
from launchlink.simulator.gateway import (
    Access,
    Dialect,
    ServiceApi,
    require_user,
    token_access,
    token_route,
)
from launchlink.simulator.http import bearer, json_response, service_root
from launchlink.simulator.models import AccessToken, SimUser
from launchlink.simulator.state import SimulatorState
from launchlink.simulator.urls import SOUNDCLOUD_API

SERVICE = "soundcloud"
DIALECT = AuthorizeDialect(service=SERVICE, title="SoundCloud", requires_pkce=True)
RATE_LINK = "https://developers.soundcloud.com/docs/api/rate-limits#errors"


def sc_error(status: int, message: str) -> Response:
    body: dict[str, Any] = {
        "code": status,
        "message": message,
        "link": RATE_LINK
        if status == 429
        else "https://developers.soundcloud.com/docs/api/explorer/open-api",
    }
    if status == 429:
        body["spam_warning_urn"] = "soundcloud:spam-warnings:1"
    return json_response(body, status)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    return sc_error(status, message)


@dataclass(slots=True)
class Caller:
    state: SimulatorState
    request: Request
    token: AccessToken
    user: SimUser | None

    @classmethod
    def admitted(cls, request: Request, state: SimulatorState, access: Access) -> Caller:
        assert access.token is not None  # token_access found it
        return cls(state, request, access.token, access.user)


Endpoint = Callable[[Caller], Awaitable[Response]]
GATE = ServiceApi(
    Dialect(SERVICE, fault_response, rate_limit_message="Rate limit exceeded"),
    authenticate=token_access(
        SERVICE,
        refuse=lambda _why: sc_error(401, "401 - Unauthorized"),
        # SoundCloud's own scheme is ``Authorization: OAuth <token>``; Bearer works too.
        credential=lambda request: bearer(request, "oauth") or bearer(request),
    ),
    caller=Caller.admitted,
)
_user = require_user(lambda: sc_error(401, "401 - Unauthorized"))


def api(
    endpoint: Endpoint, *, user_required: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    return GATE(endpoint, _user) if user_required else GATE(endpoint)


def _id(raw: str) -> str:
    return raw.rsplit(":", 1)[-1]


def user_json(artist: Artist) -> dict[str, Any]:
    user_id = artist.ids[SERVICE]
    return {
        "kind": "user",
        "id": int(user_id),
        "urn": f"soundcloud:users:{user_id}",
        "username": artist.name,
        "permalink": artist.soundcloud_permalink,
        "permalink_url": f"https://soundcloud.com/{artist.soundcloud_permalink}",
    }


def track_json(state: SimulatorState, track: Track, album: Album) -> dict[str, Any]:
    track_id = track.ids[SERVICE]
    return {
        "kind": "track",
        "id": int(track_id),
        "urn": f"soundcloud:tracks:{track_id}",
        "title": track.title,
        "duration": track.duration_ms,
        "isrc": track.isrc,
        "sharing": "public",
        "permalink_url": service_track_url(state.catalog, track, album, SERVICE),
        "user": user_json(state.catalog.artists[track.artist_keys[0]]),
    }


def playlist_json(state: SimulatorState, album: Album) -> dict[str, Any]:
    playlist_id = album.ids[SERVICE]
    return {
        "kind": "playlist",
        "id": int(playlist_id),
        "urn": f"soundcloud:playlists:{playlist_id}",
        "title": album.title,
        "playlist_type": "album" if album.album_type == "album" else album.album_type,
        "upc": album.upc,
        "track_count": len(album.tracks),
        "sharing": "public",
        "permalink_url": service_album_url(state.catalog, album, SERVICE),
        "user": user_json(state.catalog.artists[album.artist_keys[0]]),
        "tracks": [track_json(state, t, album) for t in album.tracks],
    }


def _public(caller: Caller, album: Album) -> bool:
    country = caller.user.country if caller.user else None
    return album.is_available(country, caller.state.now())


async def me(caller: Caller) -> Response:
    user = caller.user
    assert user is not None
    return json_response(
        {
            "kind": "user",
            "id": user.numeric_id,
            "urn": f"soundcloud:users:{user.numeric_id}",
            "username": user.display_name,
            "permalink": user.user_id,
            "country": user.country,
        }
    )


async def search_tracks(caller: Caller) -> Response:
    q = caller.request.query_params.get("q", "")
    pairs = [p for p in caller.state.catalog.search_tracks(SERVICE, q) if _public(caller, p[1])]
    return json_response([track_json(caller.state, t, a) for t, a in pairs[:50]])


async def search_playlists(caller: Caller) -> Response:
    q = caller.request.query_params.get("q", "")
    albums = [a for a in caller.state.catalog.search_albums(SERVICE, q) if _public(caller, a)]
    return json_response([playlist_json(caller.state, a) for a in albums[:50]])


async def get_track(caller: Caller) -> Response:
    found = caller.state.catalog.track_by_id(SERVICE, _id(caller.request.path_params["urn"]))
    if found is None or not _public(caller, found[1]):
        return sc_error(404, "404 - Not Found")
    return json_response(track_json(caller.state, *found))


async def get_playlist(caller: Caller) -> Response:
    album = caller.state.catalog.album_by_id(SERVICE, _id(caller.request.path_params["urn"]))
    if album is None or not _public(caller, album):
        return sc_error(404, "404 - Not Found")
    return json_response(playlist_json(caller.state, album))


async def get_user(caller: Caller) -> Response:
    artist = caller.state.catalog.artist_by_id(SERVICE, _id(caller.request.path_params["urn"]))
    if artist is None:
        return sc_error(404, "404 - Not Found")
    return json_response(user_json(artist))


async def resolve(caller: Caller) -> Response:
    url = caller.request.query_params.get("url", "").split("?")[0].rstrip("/")
    state, root = caller.state, service_root(caller.request, SOUNDCLOUD_API)
    catalog = state.catalog
    for artist in catalog.artists.values():
        if url == f"https://soundcloud.com/{artist.soundcloud_permalink}":
            return RedirectResponse(f"{root}/users/soundcloud:users:{artist.ids[SERVICE]}", 302)
    for album in catalog.albums.values():
        if SERVICE not in album.services or not _public(caller, album):
            continue
        if url == service_album_url(catalog, album, SERVICE):
            return RedirectResponse(
                f"{root}/playlists/soundcloud:playlists:{album.ids[SERVICE]}", 302
            )
        for track in album.tracks:
            if url == service_track_url(catalog, track, album, SERVICE):
                return RedirectResponse(
                    f"{root}/tracks/soundcloud:tracks:{track.ids[SERVICE]}", 302
                )
    return sc_error(404, "404 - Not Found")


async def follow(caller: Caller) -> Response:
    state, user = caller.state, caller.user
    assert user is not None
    artist = state.catalog.artist_by_id(SERVICE, _id(caller.request.path_params["urn"]))
    if artist is None:
        return sc_error(404, "404 - Not Found")
    item = f"soundcloud:users:{artist.ids[SERVICE]}"
    common = {
        "service": SERVICE,
        "app_id": caller.token.client_id,
        "user_id": user.user_id,
        "item": item,
    }
    if caller.request.method == "DELETE":
        state.library_remove(action="follow_artist", **common)
        return json_response({"status": "200 - OK"})
    outcome = state.library_add(action="follow_artist", **common)
    return json_response(user_json(artist), 201 if outcome == "added" else 200)


def _like(kind: str) -> Endpoint:
    async def endpoint(caller: Caller) -> Response:
        state, user = caller.state, caller.user
        assert user is not None
        raw_id = _id(caller.request.path_params["urn"])
        if kind == "tracks":
            found = state.catalog.track_by_id(SERVICE, raw_id)
            exists = found is not None and _public(caller, found[1])
        else:
            album = state.catalog.album_by_id(SERVICE, raw_id)
            exists = album is not None and _public(caller, album)
        if not exists:
            return sc_error(404, "404 - Not Found")
        common = {
            "service": SERVICE,
            "app_id": caller.token.client_id,
            "user_id": user.user_id,
            "action": "like_track" if kind == "tracks" else "like_playlist",
            "item": f"soundcloud:{kind}:{raw_id}",
        }
        if caller.request.method == "DELETE":
            state.library_remove(**common)
        else:
            state.library_add(**common)
        return json_response({"status": "200 - OK"})

    return endpoint


token = token_route(SERVICE)


def secure_routes() -> list[Route]:
    return [
        Route("/authorize", authorize_endpoint(DIALECT), methods=["GET", "POST"]),
        Route("/oauth/token", token, methods=["POST"]),
    ]


def api_routes() -> list[Route]:
    return [
        Route("/me", api(me, user_required=True), methods=["GET"]),
        Route("/resolve", api(resolve), methods=["GET"]),
        Route("/tracks", api(search_tracks), methods=["GET"]),
        Route("/playlists", api(search_playlists), methods=["GET"]),
        Route("/tracks/{urn}", api(get_track), methods=["GET"]),
        Route("/playlists/{urn}", api(get_playlist), methods=["GET"]),
        Route("/users/{urn}", api(get_user), methods=["GET"]),
        Route("/me/followings/{urn}", api(follow, user_required=True), methods=["PUT", "DELETE"]),
        Route(
            "/likes/tracks/{urn}",
            api(_like("tracks"), user_required=True),
            methods=["POST", "DELETE"],
        ),
        Route(
            "/likes/playlists/{urn}",
            api(_like("playlists"), user_required=True),
            methods=["POST", "DELETE"],
        ),
    ]
