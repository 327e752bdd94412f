"""Google OAuth (``access_type=offline`` gives a refresh token) and the YouTube Data API
calls pre-save needs (``playlistItems.list`` is how an album's videos are found), with the
daily quota: 10,000 units per app per Pacific day (50 per write, 1 per read) and a separate
100-call bucket for ``search.list``. Over quota is ``403 quotaExceeded``; an existing
subscription is ``400 subscriptionDuplicate``. Albums appear as playlists (``OLAK5uy_...``)
and tracks as videos; both stay hidden until the album is released (default availability)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.simulator.catalog import Album, Artist, Track
from launchlink.simulator.consent import AuthorizeDialect, authorize_endpoint
from launchlink.simulator.gateway import (
    Access,
    Authenticate,
    Dialect,
    ServiceApi,
    access_token_of,
    require_user,
    token_route,
)
from launchlink.simulator.http import bearer, empty, json_body, json_response
from launchlink.simulator.models import AccessToken, SimApp, SimUser
from launchlink.simulator.oauth import OAuthError
from launchlink.simulator.state import SimulatorState

SERVICE = "youtube"
PACIFIC = ZoneInfo("America/Los_Angeles")
WRITE_COST = 50
DIALECT = AuthorizeDialect(service=SERVICE, title="Google")
WRITE_SCOPES = (
    "https://www.googleapis.com/auth/youtube",
    "https://www.googleapis.com/auth/youtube.force-ssl",
)


def google_error(status: int, reason: str, message: str, domain: str = "youtube.api") -> Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }
    return json_response(body, status)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    if status == 429:
        return google_error(429, "rateLimitExceeded", "Too many requests", "usageLimits")
    return google_error(status, "backendError", message, "global")


@dataclass(slots=True)
class Caller:
    state: SimulatorState
    request: Request
    app: SimApp
    token: AccessToken | None
    user: SimUser | None


Endpoint = Callable[[Caller], Awaitable[Response]]


def _charge(caller: Caller, units: int, bucket: str) -> bool:
    """Spend quota; False when the day's bucket is exhausted (the call is still counted)."""
    state, app = caller.state, caller.app
    day = state.now().astimezone(PACIFIC).date().isoformat()
    key = (app.client_id, day, bucket)
    limit = app.search_daily_quota if bucket == "search" else app.daily_quota
    used = state.youtube_usage.get(key, 0)
    if used + units > limit:
        return False
    state.youtube_usage[key] = used + units
    return True


def _authenticate(*, key_allowed: bool) -> Authenticate:
    """A fan's access token; on public reads also the app's API key (``?key=``)."""

    def authenticate(request: Request, state: SimulatorState) -> Access | Response:
        token = access_token_of(state, SERVICE, bearer(request))
        live = token if isinstance(token, AccessToken) else None
        app = state.apps.get((SERVICE, live.client_id)) if live else None
        if live is None and key_allowed:
            app = state.apps.get((SERVICE, request.query_params.get("key", "")))
        if app is None:
            return google_error(
                401, "authError", "Request had invalid authentication credentials.", "global"
            )
        user = state.users.get((SERVICE, live.user_id)) if live and live.user_id else None
        return Access(app.client_id, app.rate_limit, app=app, token=live, user=user)

    return authenticate


def _caller(request: Request, state: SimulatorState, access: Access) -> Caller:
    assert access.app is not None  # _authenticate found it
    return Caller(state, request, access.app, access.token, access.user)


_DIALECT = Dialect(SERVICE, fault_response)
_PUBLIC = ServiceApi(_DIALECT, authenticate=_authenticate(key_allowed=True), caller=_caller)
_PRIVATE = ServiceApi(_DIALECT, authenticate=_authenticate(key_allowed=False), caller=_caller)
_user = require_user(lambda: google_error(401, "authError", "Login Required.", "global"))


def _quota(cost: int, bucket: str) -> Callable[[Caller], Response | None]:
    def check(caller: Caller) -> Response | None:
        if _charge(caller, cost, bucket):
            return None
        return google_error(
            403,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
            "youtube.quota",
        )

    return check


def _write_scope(caller: Caller) -> Response | None:
    token = caller.token
    if token is None or any(scope in token.scopes for scope in WRITE_SCOPES):
        return None
    return google_error(
        403, "insufficientPermissions", "Request had insufficient authentication scopes."
    )


def api(
    endpoint: Endpoint, *, cost: int = 1, bucket: str = "default", user_required: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    # Every call spends quota, refused ones included (the cost is counted first).
    checks: list[Callable[[Caller], Response | None]] = [_quota(cost, bucket)]
    if user_required:
        checks.append(_user)
    if cost >= WRITE_COST:
        checks.append(_write_scope)
    gate = _PRIVATE if user_required else _PUBLIC
    return gate(endpoint, *checks)


def _released(caller: Caller, album: Album) -> bool:
    return album.is_available(None, caller.state.now())


def _channel(state: SimulatorState, artist: Artist) -> dict[str, Any]:
    return {"channelId": artist.ids[SERVICE], "channelTitle": f"{artist.name} - Topic"}


def _video_result(state: SimulatorState, track: Track, album: Album) -> dict[str, Any]:
    artist = state.catalog.artists[track.artist_keys[0]]
    return {
        "kind": "youtube#searchResult",
        "id": {"kind": "youtube#video", "videoId": track.ids[SERVICE]},
        "snippet": {"title": f"{track.title}", "description": f"Provided to YouTube. {album.title}"}
        | _channel(state, artist),
    }


def _playlist_result(state: SimulatorState, album: Album) -> dict[str, Any]:
    artist = state.catalog.artists[album.artist_keys[0]]
    return {
        "kind": "youtube#searchResult",
        "id": {"kind": "youtube#playlist", "playlistId": album.ids[SERVICE]},
        "snippet": {"title": f"Album - {album.title}", "description": artist.name}
        | _channel(state, artist),
    }


async def search(caller: Caller) -> Response:
    params = caller.request.query_params
    q = params.get("q", "")
    kinds = params.get("type", "video,channel,playlist").split(",")
    limit = min(int(params.get("maxResults", "5")), 50)
    state = caller.state
    items: list[dict[str, Any]] = []
    if "playlist" in kinds:
        items += [
            _playlist_result(state, a)
            for a in state.catalog.search_albums(SERVICE, q)
            if _released(caller, a)
        ]
    if "video" in kinds:
        items += [
            _video_result(state, t, a)
            for t, a in state.catalog.search_tracks(SERVICE, q)
            if _released(caller, a)
        ]
    if "channel" in kinds:
        items += [
            {
                "kind": "youtube#searchResult",
                "id": {"kind": "youtube#channel", "channelId": a.ids[SERVICE]},
                "snippet": {"title": f"{a.name} - Topic"} | _channel(state, a),
            }
            for a in state.catalog.search_artists(q)
        ]
    return json_response(
        {
            "kind": "youtube#searchListResponse",
            "pageInfo": {"totalResults": len(items), "resultsPerPage": limit},
            "items": items[:limit],
        }
    )


async def subscribe(caller: Caller) -> Response:
    state, user, token = caller.state, caller.user, caller.token
    assert user is not None
    assert token is not None
    body = await json_body(caller.request)
    channel_id = (((body or {}).get("snippet") or {}).get("resourceId") or {}).get("channelId")
    if not channel_id:
        return google_error(
            400,
            "publisherRequired",
            "The subscription resource must identify a channel.",
            "youtube.subscription",
        )
    artist = state.catalog.artist_by_id(SERVICE, channel_id)
    if artist is None:
        return google_error(
            404, "publisherNotFound", "The channel could not be found.", "youtube.subscription"
        )
    item = channel_id
    if state.library_contains(SERVICE, user.user_id, "subscribe", item):
        state.library_add(
            service=SERVICE,
            app_id=token.client_id,
            user_id=user.user_id,
            action="subscribe",
            item=item,
        )
        return google_error(
            400,
            "subscriptionDuplicate",
            "The subscription that you are trying to create already exists.",
            "youtube.subscription",
        )
    state.library_add(
        service=SERVICE, app_id=token.client_id, user_id=user.user_id, action="subscribe", item=item
    )
    return json_response(
        {
            "kind": "youtube#subscription",
            "id": f"sub-{user.numeric_id}-{channel_id}",
            "snippet": {
                "title": f"{artist.name} - Topic",
                "resourceId": {"kind": "youtube#channel", "channelId": channel_id},
                "channelId": f"UC{user.numeric_id}",
            },
        }
    )


async def rate_video(caller: Caller) -> Response:
    state, user, token = caller.state, caller.user, caller.token
    assert user is not None
    assert token is not None
    video_id = caller.request.query_params.get("id", "")
    rating = caller.request.query_params.get("rating")
    if rating not in ("like", "dislike", "none"):
        return google_error(400, "invalidRating", "The rating is invalid.")
    found = state.catalog.track_by_id(SERVICE, video_id)
    if found is None or not _released(caller, found[1]):
        return google_error(
            404, "videoNotFound", "The video that you are trying to rate cannot be found."
        )
    common = {
        "service": SERVICE,
        "app_id": token.client_id,
        "user_id": user.user_id,
        "item": video_id,
    }
    if rating == "like":
        state.library_add(action="like_video", **common)
    elif state.library_contains(SERVICE, user.user_id, "like_video", video_id):
        state.library_remove(action="like_video", **common)
    return empty(204)


async def insert_playlist(caller: Caller) -> Response:
    state, user = caller.state, caller.user
    assert user is not None
    body = await json_body(caller.request)
    title = ((body or {}).get("snippet") or {}).get("title")
    if not isinstance(title, str):
        return google_error(400, "playlistTitleRequired", "A playlist title is required.")
    playlist_id = f"PL{state.new_token('')[:32]}"
    state.add_playlist(SERVICE, playlist_id, owner_id=user.user_id, name=title)
    return json_response(
        {"kind": "youtube#playlist", "id": playlist_id, "snippet": {"title": title}}
    )


async def insert_playlist_item(caller: Caller) -> Response:
    state, user, token = caller.state, caller.user, caller.token
    assert user is not None
    assert token is not None
    snippet = ((await json_body(caller.request)) or {}).get("snippet") or {}
    playlist = state.playlists.get((SERVICE, str(snippet.get("playlistId"))))
    if playlist is None:
        return google_error(404, "playlistNotFound", "The playlist could not be found.")
    if playlist.owner_id != user.user_id:
        return google_error(403, "playlistItemsNotAccessible", "You cannot modify this playlist.")
    video_id = str((snippet.get("resourceId") or {}).get("videoId"))
    found = state.catalog.track_by_id(SERVICE, video_id)
    if found is None or not _released(caller, found[1]):
        return google_error(404, "videoNotFound", "The video could not be found.")
    state.playlist_add(
        playlist,
        [video_id],
        app_id=token.client_id,
        user_id=user.user_id,
        detail=playlist.playlist_id,
    )
    return json_response(
        {
            "kind": "youtube#playlistItem",
            "id": f"{playlist.playlist_id}.{len(playlist.items)}",
            "snippet": {
                "playlistId": playlist.playlist_id,
                "resourceId": {"kind": "youtube#video", "videoId": video_id},
            },
        }
    )


async def list_videos(caller: Caller) -> Response:
    state = caller.state
    items = []
    for video_id in caller.request.query_params.get("id", "").split(","):
        found = state.catalog.track_by_id(SERVICE, video_id)
        if found is None or not _released(caller, found[1]):
            continue
        track, album = found
        artist = state.catalog.artists[track.artist_keys[0]]
        snippet = {"title": track.title, "description": f"Provided to YouTube. {album.title}"}
        items.append(
            {"kind": "youtube#video", "id": video_id, "snippet": snippet | _channel(state, artist)}
        )
    return json_response({"kind": "youtube#videoListResponse", "items": items})


async def list_playlists(caller: Caller) -> Response:
    state = caller.state
    items = []
    for playlist_id in caller.request.query_params.get("id", "").split(","):
        album = state.catalog.album_by_id(SERVICE, playlist_id)
        if album is not None and _released(caller, album):
            artist = state.catalog.artists[album.artist_keys[0]]
            snippet = {"title": f"Album - {album.title}", "description": artist.name}
            items.append(
                {
                    "kind": "youtube#playlist",
                    "id": playlist_id,
                    "snippet": snippet | _channel(state, artist),
                }
            )
            continue
        own = state.playlists.get((SERVICE, playlist_id))
        if own is not None:
            items.append(
                {"kind": "youtube#playlist", "id": playlist_id, "snippet": {"title": own.name}}
            )
    return json_response({"kind": "youtube#playlistListResponse", "items": items})


async def list_playlist_items(caller: Caller) -> Response:
    """``playlistItems.list``: an album's track videos (once released) or an own playlist's
    items, 1 unit a page, ``maxResults`` up to 50 with ``nextPageToken`` paging."""
    state, params = caller.state, caller.request.query_params
    playlist_id = params.get("playlistId", "")
    try:
        limit = max(0, min(int(params.get("maxResults", "5")), 50))
        start = int(params.get("pageToken") or 0)
    except ValueError:
        return google_error(400, "invalidParameter", "maxResults or pageToken is invalid.")
    album = state.catalog.album_by_id(SERVICE, playlist_id)
    videos: list[tuple[str, str]]
    if album is not None and _released(caller, album):
        videos = [(t.ids[SERVICE], t.title) for t in album.tracks]
    elif (own := state.playlists.get((SERVICE, playlist_id))) is not None:
        videos = [(video_id, "") for video_id, _, _ in own.items]
    else:
        return google_error(
            404,
            "playlistNotFound",
            "The playlist identified with the request's playlistId parameter cannot be found.",
        )
    page = videos[start : start + limit]
    body: dict[str, Any] = {
        "kind": "youtube#playlistItemListResponse",
        "pageInfo": {"totalResults": len(videos), "resultsPerPage": limit},
        "items": [
            {
                "kind": "youtube#playlistItem",
                "id": f"{playlist_id}.{start + n}",
                "snippet": {
                    "playlistId": playlist_id,
                    "position": start + n,
                    "title": title,
                    "resourceId": {"kind": "youtube#video", "videoId": video_id},
                },
                "contentDetails": {"videoId": video_id},
            }
            for n, (video_id, title) in enumerate(page)
        ],
    }
    if start + limit < len(videos):
        body["nextPageToken"] = str(start + limit)
    return json_response(body)


async def playlists(request: Request) -> Response:
    if request.method == "POST":
        return await _insert_playlist(request)
    return await _list_playlists(request)


async def playlist_items(request: Request) -> Response:
    if request.method == "POST":
        return await _insert_playlist_item(request)
    return await _list_playlist_items(request)


async def channels(caller: Caller) -> Response:
    user = caller.user
    assert user is not None
    if caller.request.query_params.get("mine") != "true":
        return google_error(
            400, "missingParameter", "Only mine=true is supported by the simulator."
        )
    return json_response(
        {
            "kind": "youtube#channelListResponse",
            "items": [
                {
                    "kind": "youtube#channel",
                    "id": f"UC{user.numeric_id}",
                    "snippet": {"title": user.display_name},
                }
            ],
        }
    )


def _google_wording(exc: OAuthError) -> str:
    # Google words every refused grant the same way, expired or revoked.
    return "Token has been expired or revoked." if exc.error == "invalid_grant" else exc.description


token = token_route(SERVICE, describe=_google_wording)


_insert_playlist = api(insert_playlist, cost=WRITE_COST)
_list_playlists = api(list_playlists, user_required=False)
_insert_playlist_item = api(insert_playlist_item, cost=WRITE_COST)
_list_playlist_items = api(list_playlist_items, user_required=False)


def oauth_routes() -> list[Route]:
    return [
        Route("/auth", authorize_endpoint(DIALECT), methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
    ]


def api_routes() -> list[Route]:
    return [
        Route("/search", api(search, bucket="search", user_required=False), methods=["GET"]),
        Route("/subscriptions", api(subscribe, cost=WRITE_COST), methods=["POST"]),
        Route("/videos/rate", api(rate_video, cost=WRITE_COST), methods=["POST"]),
        Route("/videos", api(list_videos, user_required=False), methods=["GET"]),
        Route("/playlists", playlists, methods=["GET", "POST"]),
        Route("/playlistItems", playlist_items, methods=["GET", "POST"]),
        Route("/channels", api(channels), methods=["GET"]),
    ]
