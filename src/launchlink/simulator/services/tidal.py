"""TIDAL: OAuth 2.1 + PKCE (login/auth hosts) and the JSON:API v2 subset pre-save needs.

Lookups take ``countryCode`` (required) and hide albums not yet out in that country
(``{"data": []}``). Collection writes accept an ``Idempotency-Key`` (≤128 chars): the
same key with the same payload replays the first answer without writing again; with a
different payload it is ``422``. Errors are JSON:API ``{"errors": [...]}``; 429 carries
no rate-limit headers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.simulator.catalog import Album, Artist, Track
from launchlink.simulator.consent import AuthorizeDialect, authorize_endpoint
from launchlink.simulator.gateway import (
    Access,
    Dialect,
    ServiceApi,
    require_user,
    token_access,
    token_route,
)
from launchlink.simulator.http import json_response
from launchlink.simulator.models import AccessToken, SimApp, SimUser
from launchlink.simulator.oauth import TokenResult
from launchlink.simulator.state import IdempotentReply, SimulatorState

SERVICE = "tidal"
JSON_API = "application/vnd.api+json"
DIALECT = AuthorizeDialect(service=SERVICE, title="TIDAL", requires_pkce=True)
MAX_IDEMPOTENCY_KEY = 128
COLLECTIONS: dict[str, tuple[str, str]] = {
    # collection resource -> (item type, ledger action)
    "userCollectionAlbums": ("albums", "save_album"),
    "userCollectionArtists": ("artists", "follow_artist"),
    "userCollectionTracks": ("tracks", "save_track"),
    "userCollectionPlaylists": ("playlists", "follow_playlist"),
}


def api_json(data: Any, status: int = 200) -> Response:
    return json_response(data, status, media_type=JSON_API)


def errors(status: int, detail: str, *, code: str | None = None, **source: str) -> Response:
    error: dict[str, Any] = {
        "id": hashlib.sha256(detail.encode()).hexdigest()[:16],
        "status": str(status),
    }
    if code:
        error["code"] = code
    error["detail"] = detail
    if source:
        error["source"] = source
    return api_json({"errors": [error]}, status)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    if status == 429:
        return api_json({"errors": [{"status": "429", "detail": "Rate limit exceeded"}]}, 429)
    return errors(status, message)


@dataclass(slots=True)
class Caller:
    state: SimulatorState
    request: Request
    token: AccessToken
    app: SimApp
    user: SimUser | None

    def country(self) -> str | None:
        code = self.request.query_params.get("countryCode")
        return code.upper() if code else None

    @classmethod
    def admitted(cls, request: Request, state: SimulatorState, access: Access) -> Caller:
        assert access.token is not None  # token_access found the token and its app
        assert access.app is not None
        return cls(state, request, access.token, access.app, access.user)


Endpoint = Callable[[Caller], Awaitable[Response]]
GATE = ServiceApi(
    Dialect(SERVICE, fault_response, rate_limit_message="Rate limit exceeded"),
    authenticate=token_access(
        SERVICE,
        refuse=lambda _why: errors(401, "Invalid or expired access token", code="UNAUTHORIZED"),
    ),
    caller=Caller.admitted,
)
_user = require_user(lambda: errors(401, "A user access token is required", code="UNAUTHORIZED"))


def _scope(scope: str) -> Callable[[Caller], Response | None]:
    def check(caller: Caller) -> Response | None:
        if scope in caller.token.scopes:
            return None
        return errors(403, f"Missing scope {scope}", code="FORBIDDEN")

    return check


def api(
    endpoint: Endpoint, *, scope: str | None = None, user_required: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    checks: list[Callable[[Caller], Response | None]] = []
    if user_required:
        checks.append(_user)
    if scope is not None:
        checks.append(_scope(scope))
    return GATE(endpoint, *checks)


# -- shapes -------------------------------------------------------------------------------


def iso_duration(milliseconds: int) -> str:
    minutes, seconds = divmod(milliseconds // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return (
        "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{seconds}S"
    )


def artist_resource(artist: Artist) -> dict[str, Any]:
    artist_id = artist.ids[SERVICE]
    return {
        "id": artist_id,
        "type": "artists",
        "attributes": {
            "name": artist.name,
            "popularity": 0.5,
            "externalLinks": [
                {
                    "href": f"https://tidal.com/browse/artist/{artist_id}",
                    "meta": {"type": "TIDAL_SHARING"},
                }
            ],
        },
    }


def track_resource(state: SimulatorState, track: Track, album: Album) -> dict[str, Any]:
    track_id = track.ids[SERVICE]
    return {
        "id": track_id,
        "type": "tracks",
        "attributes": {
            "title": track.title,
            "isrc": track.isrc,
            "duration": iso_duration(track.duration_ms),
            "explicit": track.explicit,
            "popularity": 0.5,
            "mediaTags": ["LOSSLESS"],
            "externalLinks": [
                {
                    "href": f"https://tidal.com/browse/track/{track_id}",
                    "meta": {"type": "TIDAL_SHARING"},
                }
            ],
        },
        "relationships": {
            "albums": {"data": [{"id": album.ids[SERVICE], "type": "albums"}]},
            "artists": {
                "data": [
                    {"id": state.catalog.artists[k].ids[SERVICE], "type": "artists"}
                    for k in track.artist_keys
                ]
            },
        },
    }


def album_resource(state: SimulatorState, album: Album) -> dict[str, Any]:
    album_id = album.ids[SERVICE]
    album_type = {"single": "SINGLE", "ep": "EP"}.get(album.album_type, "ALBUM")
    return {
        "id": album_id,
        "type": "albums",
        "attributes": {
            "title": album.title,
            "barcodeId": album.upc,
            "numberOfVolumes": 1,
            "numberOfItems": len(album.tracks),
            "duration": iso_duration(album.duration_ms),
            "explicit": any(t.explicit for t in album.tracks),
            "releaseDate": album.release_date.isoformat(),
            "popularity": 0.5,
            "mediaTags": ["LOSSLESS"],
            "albumType": album_type,
            "accessType": "PUBLIC",
            "externalLinks": [
                {
                    "href": f"https://tidal.com/browse/album/{album_id}",
                    "meta": {"type": "TIDAL_SHARING"},
                }
            ],
        },
        "relationships": {
            "artists": {
                "data": [
                    {"id": state.catalog.artists[k].ids[SERVICE], "type": "artists"}
                    for k in album.artist_keys
                ],
                "links": {"self": f"/albums/{album_id}/relationships/artists"},
            },
            "coverArt": {
                "data": [{"id": f"art-{album_id}", "type": "artworks"}],
                "links": {"self": f"/albums/{album_id}/relationships/coverArt"},
            },
            "items": {
                "data": [
                    {
                        "id": t.ids[SERVICE],
                        "type": "tracks",
                        "meta": {"trackNumber": t.track_number, "volumeNumber": 1},
                    }
                    for t in album.tracks
                ],
                "links": {"self": f"/albums/{album_id}/relationships/items"},
            },
        },
    }


def _included(caller: Caller, albums: list[Album]) -> list[dict[str, Any]]:
    wanted = set(caller.request.query_params.get("include", "").split(","))
    included: list[dict[str, Any]] = []
    if "artists" in wanted:
        keys = dict.fromkeys(k for a in albums for k in a.artist_keys)
        included += [artist_resource(caller.state.catalog.artists[k]) for k in keys]
    if "items" in wanted:
        included += [track_resource(caller.state, t, a) for a in albums for t in a.tracks]
    if "coverArt" in wanted:
        included += [artwork_resource(a) for a in albums]
    return included


def artwork_resource(album: Album) -> dict[str, Any]:
    album_id = album.ids[SERVICE]
    digest = hashlib.sha256(album.key.encode()).hexdigest()
    path = "/".join([digest[0:4], digest[4:8], digest[8:12], digest[12:16]])
    return {
        "id": f"art-{album_id}",
        "type": "artworks",
        "attributes": {
            "mediaType": "IMAGE",
            "files": [
                {
                    "href": f"https://resources.tidal.com/images/{path}/{size}x{size}.jpg",
                    "meta": {"width": size, "height": size},
                }
                for size in (1280, 640, 320)
            ],
        },
    }


def _need_country(caller: Caller) -> str | Response:
    country = caller.country()
    if country is None:
        return errors(
            400, "countryCode is required", code="INVALID_REQUEST", parameter="countryCode"
        )
    return country


# -- catalogue ----------------------------------------------------------------------------


async def albums(caller: Caller) -> Response:
    country = _need_country(caller)
    if isinstance(country, Response):
        return country
    state, params = caller.state, caller.request.query_params
    if "filter[barcodeId]" in params:
        normalize = state.options.normalize_upc_leading_zeros
        found = [
            a
            for code in params["filter[barcodeId]"].split(",")
            for a in state.catalog.albums_by_upc(SERVICE, code, normalize_leading_zeros=normalize)[
                :1
            ]
        ]
    elif "filter[id]" in params:
        found = [
            a
            for i in params["filter[id]"].split(",")
            if (a := state.catalog.album_by_id(SERVICE, i))
        ]
    else:
        return errors(
            400, "a filter is required", code="INVALID_REQUEST", parameter="filter[barcodeId]"
        )
    visible = [a for a in found if a.is_available(country, state.now())]
    body = {"data": [album_resource(state, a) for a in visible], "links": {"self": "/albums"}}
    if included := _included(caller, visible):
        body["included"] = included
    return api_json(body)


async def album(caller: Caller) -> Response:
    country = _need_country(caller)
    if isinstance(country, Response):
        return country
    found = caller.state.catalog.album_by_id(SERVICE, caller.request.path_params["id"])
    if found is None or not found.is_available(country, caller.state.now()):
        return errors(404, "Album not found", code="NOT_FOUND")
    body: dict[str, Any] = {
        "data": album_resource(caller.state, found),
        "links": {"self": f"/albums/{found.ids[SERVICE]}"},
    }
    if included := _included(caller, [found]):
        body["included"] = included
    return api_json(body)


async def tracks(caller: Caller) -> Response:
    country = _need_country(caller)
    if isinstance(country, Response):
        return country
    isrcs = caller.request.query_params.get("filter[isrc]")
    if not isrcs:
        return errors(
            400, "filter[isrc] is required", code="INVALID_REQUEST", parameter="filter[isrc]"
        )
    state = caller.state
    pairs = [
        (t, a)
        for isrc in isrcs.split(",")
        for t, a in state.catalog.tracks_by_isrc(SERVICE, isrc)
        if a.is_available(country, state.now())
    ]
    return api_json(
        {"data": [track_resource(state, t, a) for t, a in pairs], "links": {"self": "/tracks"}}
    )


async def track(caller: Caller) -> Response:
    country = _need_country(caller)
    if isinstance(country, Response):
        return country
    state = caller.state
    found = state.catalog.track_by_id(SERVICE, caller.request.path_params["id"])
    if found is None or not found[1].is_available(country, state.now()):
        return errors(404, "Track not found", code="NOT_FOUND")
    track_, album_ = found
    body: dict[str, Any] = {
        "data": track_resource(state, track_, album_),
        "links": {"self": f"/tracks/{track_.ids[SERVICE]}"},
    }
    wanted = set(caller.request.query_params.get("include", "").split(","))
    included: list[dict[str, Any]] = []
    if "albums" in wanted:
        included.append(album_resource(state, album_))
    if "artists" in wanted:
        included += [artist_resource(state.catalog.artists[k]) for k in track_.artist_keys]
    if included:
        body["included"] = included
    return api_json(body)


async def search_results(caller: Caller) -> Response:
    country = _need_country(caller)
    if isinstance(country, Response):
        return country
    query: str = caller.request.path_params["query"]
    state = caller.state
    found = [
        a
        for a in state.catalog.search_albums(SERVICE, query)
        if a.is_available(country, state.now())
    ]
    refs = [{"id": a.ids[SERVICE], "type": "albums"} for a in found[:20]]
    if caller.request.url.path.endswith("/relationships/albums"):
        body: dict[str, Any] = {
            "data": refs,
            "included": [album_resource(state, a) for a in found[:20]],
        }
        return api_json(body)
    body = {
        "data": {"id": query, "type": "searchResults", "relationships": {"albums": {"data": refs}}},
    }
    if "albums" in caller.request.query_params.get("include", ""):
        body["included"] = [album_resource(state, a) for a in found[:20]]
    return api_json(body)


async def users_me(caller: Caller) -> Response:
    user = caller.user
    assert user is not None
    attributes: dict[str, Any] = {
        "username": user.user_id,
        "country": user.country,
        "developerAccessTier": "THIRD_PARTY",
    }
    if "user.read" in caller.token.scopes:
        attributes |= {"email": user.email, "emailVerified": True}
    return api_json(
        {"data": {"id": str(user.numeric_id), "type": "users", "attributes": attributes}}
    )


# -- collections ----------------------------------------------------------------------------


def _owner_ok(caller: Caller) -> bool:
    owner = caller.request.path_params["owner"]
    assert caller.user is not None
    return owner in ("me", str(caller.user.numeric_id))


def _exists(caller: Caller, item_type: str, item_id: str) -> bool:
    catalog, now = caller.state.catalog, caller.state.now()
    assert caller.user is not None
    country = caller.user.country
    if item_type == "albums":
        found = catalog.album_by_id(SERVICE, item_id)
        return found is not None and found.is_available(country, now)
    if item_type == "tracks":
        pair = catalog.track_by_id(SERVICE, item_id)
        return pair is not None and pair[1].is_available(country, now)
    if item_type == "artists":
        return catalog.artist_by_id(SERVICE, item_id) is not None
    return (SERVICE, item_id) in caller.state.playlists


async def _idempotent(
    caller: Caller, body: bytes, perform: Callable[[str | None], Awaitable[Response]]
) -> Response:
    key = caller.request.headers.get("idempotency-key")
    if key is None:
        return await perform(None)
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        return errors(
            400,
            "Idempotency-Key must be 1 to 128 characters",
            code="INVALID_REQUEST",
            header="Idempotency-Key",
        )
    assert caller.user is not None
    slot = (f"{SERVICE}:{caller.app.client_id}", caller.user.user_id, key)
    digest = hashlib.sha256(
        caller.request.method.encode() + caller.request.url.path.encode() + body
    ).hexdigest()
    previous = caller.state.idempotency.get(slot)
    if previous is not None:
        if previous.payload_digest != digest:
            return errors(
                422,
                "Idempotency-Key was reused with a different payload",
                code="IDEMPOTENCY_KEY_REUSED",
                header="Idempotency-Key",
            )
        return Response(previous.body, status_code=previous.status, media_type=previous.media_type)
    response = await perform(key)
    if response.status_code < 500:
        caller.state.idempotency[slot] = IdempotentReply(
            digest, response.status_code, bytes(response.body), response.media_type
        )
    return response


def collection_items(resource: str) -> Endpoint:
    item_type, action = COLLECTIONS[resource]

    async def endpoint(caller: Caller) -> Response:
        if not _owner_ok(caller):
            return errors(403, "You can only modify your own collection", code="FORBIDDEN")
        state, user = caller.state, caller.user
        assert user is not None
        if caller.request.method == "GET":
            shelf = state.library(SERVICE, user.user_id).get(action, {})
            return api_json({"data": [{"id": i, "type": item_type} for i in shelf]})
        raw = await caller.request.body()
        payload = _parse(raw)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not 1 <= len(data) <= 50:
            return errors(
                400,
                "data must hold 1 to 50 resource identifiers",
                code="INVALID_REQUEST",
                pointer="/data",
            )
        for index, entry in enumerate(data):
            if (
                not isinstance(entry, dict)
                or entry.get("type") != item_type
                or not isinstance(entry.get("id"), str)
            ):
                return errors(
                    400,
                    f"expected {item_type} identifiers",
                    code="INVALID_REQUEST",
                    pointer=f"/data/{index}",
                )
            if not _exists(caller, item_type, entry["id"]):
                return errors(
                    404,
                    f"{item_type} {entry['id']} not found",
                    code="NOT_FOUND",
                    pointer=f"/data/{index}/id",
                )

        async def perform(key: str | None) -> Response:
            assert user is not None
            for entry in data:
                if caller.request.method == "POST":
                    state.library_add(
                        service=SERVICE,
                        app_id=caller.app.client_id,
                        user_id=user.user_id,
                        action=action,
                        item=entry["id"],
                        idempotency_key=key,
                    )
                else:
                    state.library_remove(
                        service=SERVICE,
                        app_id=caller.app.client_id,
                        user_id=user.user_id,
                        action=action,
                        item=entry["id"],
                    )
            return Response(b"", status_code=200)

        return await _idempotent(caller, raw, perform)

    return endpoint


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


async def create_playlist(caller: Caller) -> Response:
    payload = _parse(await caller.request.body())
    data = payload.get("data") if isinstance(payload, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict) or not isinstance(attributes.get("name"), str):
        return errors(
            400,
            "data.attributes.name is required",
            code="INVALID_REQUEST",
            pointer="/data/attributes/name",
        )
    state, user = caller.state, caller.user
    assert user is not None
    digest = hashlib.sha256(state.new_token("").encode()).hexdigest()
    playlist_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    playlist = state.add_playlist(
        SERVICE,
        playlist_id,
        owner_id=user.user_id,
        name=attributes["name"],
        description=str(attributes.get("description", "")),
        public=attributes.get("accessType", "UNLISTED") == "PUBLIC",
    )
    resource = {
        "id": playlist_id,
        "type": "playlists",
        "attributes": {
            "name": playlist.name,
            "description": playlist.description,
            "accessType": "PUBLIC" if playlist.public else "UNLISTED",
            "numberOfItems": 0,
        },
    }
    return api_json({"data": resource}, 201)


async def playlist_items(caller: Caller) -> Response:
    state, user = caller.state, caller.user
    assert user is not None
    playlist = state.playlists.get((SERVICE, caller.request.path_params["id"]))
    if playlist is None:
        return errors(404, "Playlist not found", code="NOT_FOUND")
    if playlist.owner_id != user.user_id:
        return errors(403, "You can only modify your own playlists", code="FORBIDDEN")
    payload = _parse(await caller.request.body())
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data:
        return errors(400, "data is required", code="INVALID_REQUEST", pointer="/data")
    for entry in data:
        item_id = str(entry.get("id")) if isinstance(entry, dict) else ""
        if state.catalog.track_by_id(SERVICE, item_id) is None:
            return errors(404, f"track {item_id} not found", code="NOT_FOUND")
    state.playlist_add(
        playlist,
        [str(entry["id"]) for entry in data],
        app_id=caller.app.client_id,
        user_id=user.user_id,
        detail=f"playlists:{playlist.playlist_id}",
    )
    return Response(b"", status_code=201)


# -- OAuth ------------------------------------------------------------------------------------


def _user_id(state: SimulatorState, result: TokenResult) -> dict[str, object]:
    """TIDAL's answer to a fan's grant names the fan (``user_id``); an app token's does not."""
    grant = result.access.grant
    if grant is None:
        return {}
    user = state.users.get((SERVICE, grant.user_id))
    return {"user_id": user.numeric_id if user else None}


token = token_route(SERVICE, extra=_user_id)


def login_routes() -> list[Route]:
    return [Route("/authorize", authorize_endpoint(DIALECT), methods=["GET", "POST"])]


def auth_routes() -> list[Route]:
    return [Route("/v1/oauth2/token", token, methods=["POST"])]


def api_routes() -> list[Route]:
    routes = [
        Route("/albums", api(albums), methods=["GET"]),
        Route("/albums/{id}", api(album), methods=["GET"]),
        Route("/tracks", api(tracks), methods=["GET"]),
        Route("/tracks/{id}", api(track), methods=["GET"]),
        Route("/searchResults/{query}", api(search_results), methods=["GET"]),
        Route("/searchResults/{query}/relationships/albums", api(search_results), methods=["GET"]),
        Route("/users/me", api(users_me, user_required=True), methods=["GET"]),
        Route(
            "/playlists",
            api(create_playlist, scope="playlists.write", user_required=True),
            methods=["POST"],
        ),
        Route(
            "/playlists/{id}/relationships/items",
            api(playlist_items, scope="playlists.write", user_required=True),
            methods=["POST"],
        ),
    ]
    for resource in COLLECTIONS:
        path = f"/{resource}/{{owner}}/relationships/items"
        routes.append(
            Route(
                path,
                api(collection_items(resource), scope="collection.write", user_required=True),
                methods=["POST", "DELETE"],
            )
        )
        routes.append(
            Route(
                path,
                api(collection_items(resource), scope="collection.read", user_required=True),
                methods=["GET"],
            )
        )
    return routes
