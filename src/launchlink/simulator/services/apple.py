"""Apple Music API: developer-token checks, Music-User-Tokens, catalogue per storefront,
library/favorites writes (202, unknown ids silently ignored) and native pre-add.

Developer tokens are ES256 JWTs verified against public keys registered per ``kid``
(``state.register_apple_key`` or ``POST /_control/apple/keys``): ``iss`` must be the
key's team, ``exp`` no later than ``iat + 15,777,000`` and not past. A failing token
gets ``401`` with an empty body. A bad or revoked Music-User-Token on ``/me/*`` gets
``403`` with code ``40300``.

Pre-order albums (``Album.apple_preorder``) are visible before release with a future
``releaseDate``; adding one records a ``pending`` ledger row that materialises (an
``added`` row dated at the release instant) once the album is out in the user's
storefront.

Simulator convenience: ``GET /apple/authorize?redirect_uri=...&state=...`` is a consent
page standing in for MusicKit JS ``authorize()``; on approval it redirects to
``redirect_uri?music_user_token=...&state=...``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.simulator.catalog import Album, Track, service_album_url, service_track_url
from launchlink.simulator.consent import AuthorizeDialect, authorize_endpoint
from launchlink.simulator.gateway import Access, Dialect, ServiceApi
from launchlink.simulator.http import bearer, empty, json_body, json_response
from launchlink.simulator.models import Playlist, SimUser
from launchlink.simulator.state import SimulatorState

SERVICE = "apple"
MAX_TOKEN_LIFETIME_SECONDS = 15_777_000
DIALECT = AuthorizeDialect(service=SERVICE, title="Apple Music", issues_music_user_token=True)
STOREFRONT_NAMES = {"us": "United States", "gb": "United Kingdom", "de": "Germany", "fr": "France"}


def errors(status: int, code: str, title: str, detail: str) -> Response:
    error_id = hashlib.sha256(f"{code}{detail}".encode()).hexdigest()[:26].upper()
    body = {
        "errors": [
            {"id": error_id, "title": title, "detail": detail, "status": str(status), "code": code}
        ]
    }
    return json_response(body, status)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    if status == 429:
        return errors(429, "42900", "Too Many Requests", "Rate limit exceeded")
    return errors(status, f"{status}00", "Service Unavailable", message)


def verify_developer_token(state: SimulatorState, token: str) -> str | None:
    """The team id if ``token`` is a valid developer token now, else None."""
    now = state.now().timestamp()
    cached = state.apple_verified_tokens.get(token)
    if cached is not None:
        return cached[0] if cached[1] > now else None
    try:
        header = jwt.get_unverified_header(token)
        key = state.apple_keys.get(str(header.get("kid")))
        if key is None or header.get("alg") != "ES256":
            return None
        claims = jwt.decode(
            token,
            key.public_key_pem,
            algorithms=["ES256"],
            options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return None
    iat, exp = claims.get("iat"), claims.get("exp")
    if claims.get("iss") != key.team_id or not isinstance(iat, int) or not isinstance(exp, int):
        return None
    if exp > iat + MAX_TOKEN_LIFETIME_SECONDS or exp <= now:
        return None
    state.apple_verified_tokens[token] = (key.team_id, float(exp))
    return key.team_id


@dataclass(slots=True)
class Caller:
    state: SimulatorState
    team_id: str
    request: Request
    user: SimUser | None = None

    @property
    def storefront(self) -> str:
        return str(self.request.path_params.get("storefront", "us")).lower()

    @classmethod
    def admitted(cls, request: Request, state: SimulatorState, access: Access) -> Caller:
        return cls(state, access.bucket, request)


Endpoint = Callable[[Caller], Awaitable[Response]]


def _authenticate(request: Request, state: SimulatorState) -> Access | Response:
    """The developer token names the team; its app (if registered) sets the rate limit."""
    raw = bearer(request)
    team_id = verify_developer_token(state, raw) if raw else None
    if team_id is None:
        return empty(401)
    app = state.apps.get((SERVICE, team_id))
    return Access(team_id, app.rate_limit if app else None, app=app)


def _music_user(caller: Caller) -> Response | None:
    """``/me`` calls need a live Music-User-Token (403 code 40300 otherwise)."""
    state = caller.state
    mut = state.music_user_tokens.get(caller.request.headers.get("music-user-token", ""))
    expired = mut is not None and mut.expires_at is not None and mut.expires_at <= state.now()
    if mut is None or mut.revoked or expired:
        return errors(403, "40300", "Invalid Authentication", "Invalid authentication")
    caller.user = state.users.get((SERVICE, mut.user_id))
    state.materialise_preadds()
    return None


GATE = ServiceApi(
    Dialect(SERVICE, fault_response), authenticate=_authenticate, caller=Caller.admitted
)


def api(
    endpoint: Endpoint, *, user_required: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    return GATE(endpoint, _music_user) if user_required else GATE(endpoint)


# -- catalogue shapes ---------------------------------------------------------------------


def _visible(state: SimulatorState, album: Album, storefront: str) -> bool:
    country = storefront.upper()
    if album.is_available(country, state.now()):
        return True
    return album.apple_preorder and album.available_at(country) is not None


def _artwork(key: str) -> dict[str, Any]:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return {
        "width": 3000,
        "height": 3000,
        "url": f"https://is1-ssl.mzstatic.com/image/thumb/Music/{digest}/{{w}}x{{h}}bb.jpg",
    }


def album_resource(state: SimulatorState, album: Album, storefront: str) -> dict[str, Any]:
    catalog = state.catalog
    album_id = album.ids[SERVICE]
    released = album.is_available(storefront.upper(), state.now())
    attributes: dict[str, Any] = {
        "artistName": catalog.artist_names(album.artist_keys),
        "name": album.title,
        "upc": album.upc,
        "releaseDate": album.release_date.isoformat(),
        "trackCount": len(album.tracks),
        "url": service_album_url(catalog, album, SERVICE).replace("/us/", f"/{storefront}/"),
        "isSingle": album.album_type == "single",
        "isComplete": released,
        "isCompilation": album.album_type == "compilation",
        "recordLabel": album.label,
        "copyright": f"℗ {album.release_date.year} {album.label}",
        "genreNames": ["Pop", "Music"],
        "artwork": _artwork(album.key),
    }
    if released:
        attributes["playParams"] = {"id": album_id, "kind": "album"}
    else:
        attributes["isPreorder"] = True
    return {
        "id": album_id,
        "type": "albums",
        "href": f"/v1/catalog/{storefront}/albums/{album_id}",
        "attributes": attributes,
        "relationships": {
            "tracks": {
                "href": f"/v1/catalog/{storefront}/albums/{album_id}/tracks",
                "data": [song_resource(state, t, album, storefront) for t in album.tracks],
            },
            "artists": {
                "href": f"/v1/catalog/{storefront}/albums/{album_id}/artists",
                "data": [
                    {
                        "id": artist_id,
                        "type": "artists",
                        "href": f"/v1/catalog/{storefront}/artists/{artist_id}",
                    }
                    for artist_id in (catalog.artists[k].ids[SERVICE] for k in album.artist_keys)
                ],
            },
        },
    }


def song_resource(
    state: SimulatorState, track: Track, album: Album, storefront: str
) -> dict[str, Any]:
    catalog = state.catalog
    song_id = track.ids[SERVICE]
    return {
        "id": song_id,
        "type": "songs",
        "href": f"/v1/catalog/{storefront}/songs/{song_id}",
        "attributes": {
            "isrc": track.isrc,
            "name": track.title,
            "albumName": album.title,
            "artistName": catalog.artist_names(track.artist_keys),
            "durationInMillis": track.duration_ms,
            "releaseDate": album.release_date.isoformat(),
            "url": service_track_url(catalog, track, album, SERVICE).replace(
                "/us/", f"/{storefront}/"
            ),
            "discNumber": track.disc_number,
            "trackNumber": track.track_number,
            "genreNames": ["Pop", "Music"],
            "previews": [{"url": f"https://audio-ssl.itunes.apple.com/preview/{song_id}.m4a"}],
            "artwork": _artwork(album.key),
            "playParams": {"id": song_id, "kind": "song"},
        },
    }


# -- catalogue endpoints ------------------------------------------------------------------


async def catalog_albums(caller: Caller) -> Response:
    state, sf = caller.state, caller.storefront
    params = caller.request.query_params
    if "filter[upc]" in params:
        normalize = state.options.normalize_upc_leading_zeros
        albums = [
            album
            for upc in params["filter[upc]"].split(",")
            for album in state.catalog.albums_by_upc(
                SERVICE, upc, normalize_leading_zeros=normalize
            )
        ]
    elif "ids" in params:
        found = [state.catalog.album_by_id(SERVICE, i) for i in params["ids"].split(",") if i]
        albums = [a for a in found if a is not None]
    else:
        return errors(400, "40000", "Missing Parameter", "One of ids or filter is required")
    data = [album_resource(state, a, sf) for a in albums if _visible(state, a, sf)]
    return json_response({"data": data})


async def catalog_album(caller: Caller) -> Response:
    album = caller.state.catalog.album_by_id(SERVICE, caller.request.path_params["id"])
    if album is None or not _visible(caller.state, album, caller.storefront):
        return errors(
            404, "40400", "Resource Not Found", "Resource with requested id was not found"
        )
    return json_response({"data": [album_resource(caller.state, album, caller.storefront)]})


def _released_songs(caller: Caller, pairs: list[tuple[Track, Album]]) -> list[dict[str, Any]]:
    now, country = caller.state.now(), caller.storefront.upper()
    return [
        song_resource(caller.state, t, a, caller.storefront)
        for t, a in pairs
        if a.is_available(country, now)
    ]


async def catalog_songs(caller: Caller) -> Response:
    params = caller.request.query_params
    catalog = caller.state.catalog
    if "filter[isrc]" in params:
        pairs = [
            p
            for isrc in params["filter[isrc]"].split(",")
            for p in catalog.tracks_by_isrc(SERVICE, isrc)
        ]
    elif "ids" in params:
        found = [catalog.track_by_id(SERVICE, i) for i in params["ids"].split(",") if i]
        pairs = [p for p in found if p is not None]
    else:
        return errors(400, "40000", "Missing Parameter", "One of ids or filter is required")
    return json_response({"data": _released_songs(caller, pairs)})


async def catalog_song(caller: Caller) -> Response:
    found = caller.state.catalog.track_by_id(SERVICE, caller.request.path_params["id"])
    data = _released_songs(caller, [found]) if found else []
    if not data:
        return errors(
            404, "40400", "Resource Not Found", "Resource with requested id was not found"
        )
    return json_response({"data": data})


async def catalog_search(caller: Caller) -> Response:
    params = caller.request.query_params
    term = params.get("term", "").replace("+", " ")
    types = [t for t in params.get("types", "").split(",") if t]
    if not term or not types:
        return errors(400, "40000", "Missing Parameter", "term and types are required")
    limit = min(int(params.get("limit", "5")), 25)
    state, sf = caller.state, caller.storefront
    results: dict[str, Any] = {}
    if "albums" in types:
        albums = [a for a in state.catalog.search_albums(SERVICE, term) if _visible(state, a, sf)]
        if albums:
            results["albums"] = {
                "href": f"/v1/catalog/{sf}/search?term={term}&types=albums",
                "data": [album_resource(state, a, sf) for a in albums[:limit]],
            }
    if "songs" in types:
        songs = _released_songs(caller, state.catalog.search_tracks(SERVICE, term))
        if songs:
            results["songs"] = {
                "href": f"/v1/catalog/{sf}/search?term={term}&types=songs",
                "data": songs[:limit],
            }
    return json_response({"results": results, "meta": {"results": {"order": list(results)}}})


# -- library ------------------------------------------------------------------------------

_LIBRARY_ACTIONS = {"albums": "save_album", "songs": "save_track", "playlists": "save_playlist"}


def _requested_ids(request: Request) -> list[tuple[str, str]]:
    requested = []
    for key, value in request.query_params.multi_items():
        if key.startswith("ids[") and key.endswith("]"):
            kind = key[4:-1]
            requested += [(kind, item) for item in value.split(",") if item]
    return requested


async def library_add(caller: Caller) -> Response:
    state, user = caller.state, caller.user
    assert user is not None
    for kind, item_id in _requested_ids(caller.request):
        if kind == "albums":
            album = state.catalog.album_by_id(SERVICE, item_id)
            if album is None or not _visible(state, album, user.storefront):
                continue  # Apple silently ignores ids it cannot add
            if not album.is_available(user.country, state.now()):
                _record_preadd(state, caller.team_id, user.user_id, album)
                continue
        elif kind == "songs":
            found = state.catalog.track_by_id(SERVICE, item_id)
            if found is None or not found[1].is_available(user.country, state.now()):
                continue
        elif kind == "playlists":
            if (SERVICE, item_id) not in state.playlists:
                continue
        else:
            continue
        state.library_add(
            service=SERVICE,
            app_id=caller.team_id,
            user_id=user.user_id,
            action=_LIBRARY_ACTIONS[kind],
            item=f"{kind}:{item_id}",
        )
    return empty(202)


def _record_preadd(state: SimulatorState, team_id: str, user_id: str, album: Album) -> None:
    item = f"albums:{album.ids[SERVICE]}"
    already = any(p[1] == user_id and p[2] == album.ids[SERVICE] for p in state.pending_preadds)
    if not already:
        state.pending_preadds.append((team_id, user_id, album.ids[SERVICE], album.key))
    state.ledger.record(
        at=state.now(),
        service=SERVICE,
        app_id=team_id,
        user_id=user_id,
        action="save_album",
        item=item,
        outcome="already" if already else "pending",
        detail="pre-add",
    )


async def favorites_add(caller: Caller) -> Response:
    state, user = caller.state, caller.user
    assert user is not None
    catalog = state.catalog
    for kind, item_id in _requested_ids(caller.request):
        known = {
            "albums": lambda i: catalog.album_by_id(SERVICE, i) is not None,
            "songs": lambda i: catalog.track_by_id(SERVICE, i) is not None,
            "artists": lambda i: catalog.artist_by_id(SERVICE, i) is not None,
            "playlists": lambda i: (SERVICE, i) in state.playlists,
        }.get(kind)
        if known is None or not known(item_id):
            continue
        state.library_add(
            service=SERVICE,
            app_id=caller.team_id,
            user_id=user.user_id,
            action="favorite",
            item=f"{kind}:{item_id}",
        )
    return empty(202)


async def create_library_playlist(caller: Caller) -> Response:
    body = await json_body(caller.request)
    attributes = body.get("attributes") if isinstance(body, dict) else None
    if not isinstance(attributes, dict) or not isinstance(attributes.get("name"), str):
        return errors(400, "40000", "Invalid Request Body", "attributes.name is required")
    state, user = caller.state, caller.user
    assert user is not None
    playlist_id = "p." + hashlib.sha256(state.new_token("").encode()).hexdigest()[:14]
    playlist = state.add_playlist(
        SERVICE,
        playlist_id,
        owner_id=user.user_id,
        name=attributes["name"],
        description=str(attributes.get("description", "")),
    )
    tracks = (body.get("relationships") or {}).get("tracks", {}).get("data", [])
    _add_to_playlist(caller, playlist, tracks)
    resource = {
        "id": playlist_id,
        "type": "library-playlists",
        "href": f"/v1/me/library/playlists/{playlist_id}",
        "attributes": {
            "name": playlist.name,
            "description": {"standard": playlist.description},
            "canEdit": True,
            "isPublic": False,
            "playParams": {"id": playlist_id, "kind": "playlist", "isLibrary": True},
        },
    }
    return json_response({"data": [resource]}, 201)


def _add_to_playlist(caller: Caller, playlist: Playlist, data: Any) -> None:
    state, user = caller.state, caller.user
    assert user is not None
    # Unknown ids and other types are silently ignored (the 202 promises nothing).
    items = [
        f"songs:{entry.get('id')}"
        for entry in (data if isinstance(data, list) else [])
        if isinstance(entry, dict)
        and entry.get("type") in ("songs", "library-songs")
        and state.catalog.track_by_id(SERVICE, str(entry.get("id"))) is not None
    ]
    state.playlist_add(
        playlist,
        items,
        app_id=caller.team_id,
        user_id=user.user_id,
        detail=f"library-playlists:{playlist.playlist_id}",
    )


async def add_playlist_tracks(caller: Caller) -> Response:
    playlist = caller.state.playlists.get((SERVICE, caller.request.path_params["id"]))
    assert caller.user is not None
    if playlist is None or playlist.owner_id != caller.user.user_id:
        return errors(
            404, "40400", "Resource Not Found", "Resource with requested id was not found"
        )
    body = await json_body(caller.request)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return errors(400, "40000", "Invalid Request Body", "data is required")
    _add_to_playlist(caller, playlist, data)
    return empty(204)


async def me_storefront(caller: Caller) -> Response:
    assert caller.user is not None
    sf = caller.user.storefront
    resource = {
        "id": sf,
        "type": "storefronts",
        "href": f"/v1/storefronts/{sf}",
        "attributes": {
            "name": STOREFRONT_NAMES.get(sf, sf.upper()),
            "defaultLanguageTag": "en-US",
            "supportedLanguageTags": ["en-US"],
            "explicitContentPolicy": "allowed",
        },
    }
    return json_response({"data": [resource]})


async def recently_added(caller: Caller) -> Response:
    state, user = caller.state, caller.user
    assert user is not None
    shelf = state.library(SERVICE, user.user_id).get("save_album", {})
    newest = sorted(shelf.items(), key=lambda pair: pair[1], reverse=True)
    data = []
    for item, _at in newest[:25]:
        album = state.catalog.album_by_id(SERVICE, item.split(":", 1)[1])
        if album is None:
            continue
        library_id = f"l.{album.ids[SERVICE]}"
        data.append(
            {
                "id": library_id,
                "type": "library-albums",
                "href": f"/v1/me/library/albums/{library_id}",
                "attributes": {
                    "name": album.title,
                    "artistName": state.catalog.artist_names(album.artist_keys),
                    "trackCount": len(album.tracks),
                    "playParams": {
                        "id": library_id,
                        "kind": "album",
                        "isLibrary": True,
                        "catalogId": album.ids[SERVICE],
                    },
                },
            }
        )
    return json_response({"data": data})


authorize = authorize_endpoint(DIALECT)


def api_routes() -> list[Route]:
    return [
        Route("/catalog/{storefront}/albums", api(catalog_albums), methods=["GET"]),
        Route("/catalog/{storefront}/albums/{id}", api(catalog_album), methods=["GET"]),
        Route("/catalog/{storefront}/songs", api(catalog_songs), methods=["GET"]),
        Route("/catalog/{storefront}/songs/{id}", api(catalog_song), methods=["GET"]),
        Route("/catalog/{storefront}/search", api(catalog_search), methods=["GET"]),
        Route("/me/library", api(library_add, user_required=True), methods=["POST"]),
        Route("/me/favorites", api(favorites_add, user_required=True), methods=["POST"]),
        Route(
            "/me/library/playlists",
            api(create_library_playlist, user_required=True),
            methods=["POST"],
        ),
        Route(
            "/me/library/playlists/{id}/tracks",
            api(add_playlist_tracks, user_required=True),
            methods=["POST"],
        ),
        Route("/me/storefront", api(me_storefront, user_required=True), methods=["GET"]),
        Route(
            "/me/library/recently-added", api(recently_added, user_required=True), methods=["GET"]
        ),
    ]
