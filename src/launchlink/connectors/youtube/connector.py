"""YouTube connector: Google OAuth (offline), subscribe, like, playlist items; quota-aware.

YouTube has no UPC/ISRC lookup and no "save album": a release is saved by liking its track
videos (they appear in YouTube Music's "Liked music"), the artist is followed by subscribing
to the channel. A release is found from its link (``lookup_url``: a video, or an album
playlist whose videos come from ``playlistItems.list``), which needs the API key. Every call
spends quota units (see :mod:`.quota`); a call that would pass the configured daily budget
raises ``RateLimited`` before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from launchlink.connectors._common import (
    OAuthConnector,
    setting_name,
    unique,
)
from launchlink.connectors._json import as_dict, as_list, as_str, dig
from launchlink.connectors.base import (
    ActionResult,
    Capability,
    PlatformAccount,
    ReleaseMatch,
    TokenSet,
    TrackInfo,
)
from launchlink.connectors.errors import (
    NotAllowed,
    NotSupported,
    PlatformError,
    RateLimited,
)
from launchlink.connectors.http import (
    ServiceHttp,
    json_body,
    parse_retry_after,
    raise_for_status,
)
from launchlink.connectors.oauth import ClientAuth, oauth_app
from launchlink.connectors.settings import YouTubeSettings
from launchlink.connectors.youtube.quota import COST_LIST, COST_WRITE, QuotaLedger, YouTubeQuota
from launchlink.kit.clock import Clock

SERVICE = "youtube"
SCOPE = "https://www.googleapis.com/auth/youtube"
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_PLAYLIST_ID = re.compile(r"^[A-Za-z0-9_-]{10,64}$")
_WATCH_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
PLAYLIST_PAGE = 50
"""``playlistItems.list`` returns at most 50 items a page."""
PLAYLIST_MAX_PAGES = 4
"""An album has far fewer tracks; the bound keeps a huge playlist from eating quota."""
_QUOTA_REASONS = {
    "quotaExceeded",
    "dailyLimitExceeded",
    "rateLimitExceeded",
    "userRateLimitExceeded",
}


def parse_youtube_url(url: str) -> tuple[str, str] | None:
    """``("track", video id)`` or ``("album", playlist id)`` from YouTube / YouTube Music URLs."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"}:
        return None
    query = parse_qs(parts.query)
    if parts.hostname == "youtu.be":
        video = parts.path.strip("/")
        return ("track", video) if _VIDEO_ID.match(video) else None
    if parts.hostname not in _WATCH_HOSTS:
        return None
    if parts.path == "/watch":
        video = query.get("v", [""])[0]
        return ("track", video) if _VIDEO_ID.match(video) else None
    if parts.path == "/playlist":
        playlist = query.get("list", [""])[0]
        return ("album", playlist) if _PLAYLIST_ID.match(playlist) else None
    return None


def _reason(body: object) -> str:
    return as_str(dig(body, "error", "errors", 0, "reason")) or ""


def raise_for_api_error(response: httpx.Response, http: ServiceHttp, token: str | None) -> None:
    if response.is_success:
        return
    status = response.status_code
    body = json_body(response)
    reason = _reason(body)
    message = http.scrub(
        as_str(dig(body, "error", "message")) or reason or response.reason_phrase, [token]
    )
    if reason in _QUOTA_REASONS:
        # Google answers an exhausted quota with 403, not 429.
        raise RateLimited(
            f"{message} ({reason})",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            service=SERVICE,
            status=status,
        )
    if reason == "subscriptionForbidden":
        raise NotAllowed(message, reason="cannot_follow", service=SERVICE, status=status)
    scope_problem = "insufficient" in reason.lower() or "scope" in message.lower()
    raise_for_status(
        response,
        service=SERVICE,
        message=f"{message} ({reason})" if reason and status not in (401, 403, 404) else message,
        forbidden_reason="insufficient_scope" if scope_problem else "forbidden",
    )


class YouTubeConnector(OAuthConnector):
    """YouTube Data API v3 with Google OAuth 2 (offline access, PKCE)."""

    service = SERVICE
    display_name = "YouTube"
    scope_descriptions = MappingProxyType(
        {SCOPE: "Subscribe to the artist's channel and like the release's tracks on YouTube."}
    )

    def __init__(
        self,
        settings: YouTubeSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        quota_ledger: QuotaLedger | None = None,
    ) -> None:
        super().__init__(settings, clock=clock)
        self.settings = settings
        self._api = settings.api_url.rstrip("/")
        self._api_key = settings.api_key.get_secret_value() if settings.api_key else None
        app = oauth_app(
            SERVICE,
            settings,
            clock=self._clock,
            transport=transport,
            base_urls=[settings.oauth_url, settings.token_url, self._api],
            authorize_url=settings.oauth_url,
            token_url=settings.token_url,
            secrets=[self._api_key],
            auth=ClientAuth.FORM,
            # offline: a refresh token, so the save can happen on release day without the
            # fan; Google keeps that refresh token on refresh (the old one is carried over).
            authorize_params={
                "access_type": "offline",
                "prompt": "consent",
                "include_granted_scopes": "true",
            },
        )
        self.http, self.oauth = app.http, app.oauth
        self.quota = YouTubeQuota(
            clock=self._clock,
            daily_units=settings.daily_quota_units,
            daily_search_calls=settings.daily_search_calls,
            ledger=quota_ledger,
        )
        capabilities = {
            Capability.OAUTH,
            Capability.SAVE_TRACKS,
            Capability.FOLLOW_ARTIST,
            Capability.PLAYLIST_ADD,
        }
        if self._api_key:  # catalogue reads need an API key (no fan token at auto-fill time)
            capabilities |= {Capability.LOOKUP_URL, Capability.SEARCH}
        self.capabilities = frozenset(capabilities)

    def capability_gap(self, capability: Capability) -> str | None:
        if capability in (Capability.LOOKUP_URL, Capability.SEARCH) and not self._api_key:
            return (
                "YouTube API key not configured (set "
                f"{setting_name(SERVICE, 'api_key')}): it is how launchlink finds the "
                "release from its YouTube link"
            )
        return None

    def recognises_release_url(self, url: str) -> bool:
        return parse_youtube_url(url) is not None

    # -- OAuth ------------------------------------------------------------------------------

    def scopes_for(self, actions: Iterable[Capability]) -> list[str]:
        writes = {Capability.SAVE_TRACKS, Capability.FOLLOW_ARTIST, Capability.PLAYLIST_ADD}
        writes.add(Capability.SAVE_RELEASE)
        return [SCOPE] if writes & set(actions) else []

    # -- HTTP -------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        cost: int,
        token: str | None,
        params: Mapping[str, str],
        json: Any = None,
        retry_safe: bool,
        bucket: str = "units",
    ) -> httpx.Response:
        query = dict(params)
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif self._api_key:
            query["key"] = self._api_key
        response = await self.http.request(
            method,
            f"{self._api}{path}",
            params=query,
            headers=headers,
            json=json,
            retry_safe=retry_safe,
            secrets=[token, self._api_key],
            # Every attempt costs quota, failed ones included: spend before each.
            before_attempt=lambda _attempt: self.quota.spend(cost, bucket),
        )
        return response

    async def current_user(self, tokens: TokenSet) -> PlatformAccount:
        self._require_available()
        response = await self._call(
            "GET",
            "/channels",
            cost=COST_LIST,
            token=tokens.access_token,
            params={"part": "snippet", "mine": "true"},
            retry_safe=True,
        )
        raise_for_api_error(response, self.http, tokens.access_token)
        channel = as_dict(dig(json_body(response), "items", 0))
        country = as_str(dig(channel, "snippet", "country"))
        return PlatformAccount(
            service=SERVICE,
            id=as_str(channel.get("id")),
            display_name=as_str(dig(channel, "snippet", "title")),
            country=country.upper() if country else None,
        )

    # -- catalogue (API key) ------------------------------------------------------------------

    def _video_match(self, video: dict[str, Any]) -> ReleaseMatch:
        video_id = as_str(video.get("id")) or as_str(dig(video, "id", "videoId")) or ""
        snippet = as_dict(video.get("snippet"))
        title = as_str(snippet.get("title")) or ""
        channel = as_str(snippet.get("channelTitle"))
        thumbnails = as_dict(snippet.get("thumbnails"))
        artwork = next(
            (
                url
                for size in ("maxres", "high", "medium", "default")
                if (url := as_str(dig(thumbnails, size, "url")))
            ),
            None,
        )
        return ReleaseMatch(
            service=SERVICE,
            kind="track",
            id=video_id,
            title=title,
            url=f"https://music.youtube.com/watch?v={video_id}",
            artists=(channel.removesuffix(" - Topic"),) if channel else (),
            artist_ids=tuple(c for c in (as_str(snippet.get("channelId")),) if c),
            release_date=(as_str(snippet.get("publishedAt")) or "")[:10] or None,
            track_count=1,
            tracks=(TrackInfo(id=video_id, title=title),),
            artwork_url=artwork,
        )

    async def lookup_url(self, url: str) -> ReleaseMatch | None:
        self._require(Capability.LOOKUP_URL)
        parsed = parse_youtube_url(url)
        if parsed is None:
            return None
        kind, item_id = parsed
        path = "/videos" if kind == "track" else "/playlists"
        response = await self._call(
            "GET",
            path,
            cost=COST_LIST,
            token=None,
            params={"part": "snippet", "id": item_id},
            retry_safe=True,
        )
        if response.status_code == 404:
            return None
        raise_for_api_error(response, self.http, None)
        item = as_dict(dig(json_body(response), "items", 0))
        if not item:
            return None
        if kind == "track":
            return self._video_match(item)
        album = self._playlist_match(item_id, as_dict(item.get("snippet")))
        tracks = await self._playlist_videos(item_id)
        return replace(album, tracks=tracks, track_count=len(tracks) or None)

    async def _playlist_videos(self, playlist_id: str) -> tuple[TrackInfo, ...]:
        """The videos of a playlist, in order (``playlistItems.list``, 1 unit a page):
        the tracks to like when the release is saved."""
        videos: list[TrackInfo] = []
        page_token: str | None = None
        for _page in range(PLAYLIST_MAX_PAGES):
            params = {
                "part": "snippet,contentDetails",
                "playlistId": playlist_id,
                "maxResults": str(PLAYLIST_PAGE),
            }
            if page_token:
                params["pageToken"] = page_token
            response = await self._call(
                "GET", "/playlistItems", cost=COST_LIST, token=None, params=params, retry_safe=True
            )
            if response.status_code == 404:
                break
            raise_for_api_error(response, self.http, None)
            body = as_dict(json_body(response))
            for entry in as_list(body.get("items")):
                video_id = as_str(dig(entry, "contentDetails", "videoId")) or as_str(
                    dig(entry, "snippet", "resourceId", "videoId")
                )
                if video_id and _VIDEO_ID.match(video_id):
                    title = as_str(dig(entry, "snippet", "title")) or ""
                    videos.append(TrackInfo(id=video_id, title=title))
            page_token = as_str(body.get("nextPageToken"))
            if not page_token:
                break
        return tuple(videos)

    def _playlist_match(self, playlist_id: str, snippet: dict[str, Any]) -> ReleaseMatch:
        """An album is a playlist on YouTube Music (``OLAK5uy_…``)."""
        channel = as_str(snippet.get("channelTitle"))
        return ReleaseMatch(
            service=SERVICE,
            kind="album",
            id=playlist_id,
            title=as_str(snippet.get("title")) or "",
            url=f"https://music.youtube.com/playlist?list={playlist_id}",
            artists=(channel.removesuffix(" - Topic"),) if channel else (),
            artist_ids=tuple(c for c in (as_str(snippet.get("channelId")),) if c),
        )

    async def search(
        self, *, title: str, artists: Sequence[str], country: str | None = None
    ) -> list[ReleaseMatch]:
        self._require(Capability.SEARCH)
        params = {
            "part": "snippet",
            "q": " ".join([title, *artists[:1]]),
            "type": "playlist,video",
            "maxResults": "10",
        }
        if country:
            params["regionCode"] = country.upper()
        response = await self._call(
            "GET", "/search", cost=1, token=None, params=params, retry_safe=True, bucket="search"
        )
        raise_for_api_error(response, self.http, None)
        found: list[ReleaseMatch] = []
        for item in as_list(as_dict(json_body(response)).get("items")):
            result = as_dict(item)
            playlist_id = as_str(dig(result, "id", "playlistId"))
            if playlist_id:
                found.append(self._playlist_match(playlist_id, as_dict(result.get("snippet"))))
            elif as_str(dig(result, "id", "videoId")):
                found.append(self._video_match(result))
        return found

    # -- actions ----------------------------------------------------------------------------

    async def save_release(
        self,
        tokens: TokenSet,
        *,
        album_id: str,
        track_ids: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> ActionResult:
        """Like every track video; the album playlist itself cannot be saved (``skipped``)."""
        self._require(Capability.SAVE_TRACKS)
        tracks = unique(track_ids)
        if not tracks:
            raise NotSupported(
                "YouTube cannot save an album; pass its track video ids to like them",
                service=SERVICE,
            )
        for video in tracks:
            # Rating "like" twice leaves one like: safe to retry.
            response = await self._call(
                "POST",
                "/videos/rate",
                cost=COST_WRITE,
                token=tokens.access_token,
                params={"id": video, "rating": "like"},
                retry_safe=True,
            )
            raise_for_api_error(response, self.http, tokens.access_token)
        return ActionResult(
            service=SERVICE,
            action=Capability.SAVE_TRACKS,
            targets=tuple(tracks),
            # A single found from its video link is its own "album": it was liked.
            skipped=(album_id,) if album_id and album_id not in tracks else (),
            requests=len(tracks),
        )

    async def follow_artists(
        self, tokens: TokenSet, *, artist_ids: Sequence[str], idempotency_key: str | None = None
    ) -> ActionResult:
        self._require(Capability.FOLLOW_ARTIST)
        channels = unique(artist_ids)
        already = []
        for channel in channels:
            # A replay answers subscriptionDuplicate, which is success: safe to retry.
            response = await self._call(
                "POST",
                "/subscriptions",
                cost=COST_WRITE,
                token=tokens.access_token,
                params={"part": "snippet"},
                json={"snippet": {"resourceId": {"kind": "youtube#channel", "channelId": channel}}},
                retry_safe=True,
            )
            if _reason(json_body(response)) == "subscriptionDuplicate":
                already.append(channel)
                continue
            raise_for_api_error(response, self.http, tokens.access_token)
        return ActionResult(
            service=SERVICE,
            action=Capability.FOLLOW_ARTIST,
            targets=tuple(channels),
            already_done=tuple(already),
            requests=len(channels),
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
        response = await self._call(
            "POST",
            "/playlists",
            cost=COST_WRITE,
            token=tokens.access_token,
            params={"part": "snippet,status"},
            json={
                "snippet": {"title": name, "description": description},
                "status": {"privacyStatus": "public" if public else "private"},
            },
            retry_safe=False,
        )
        raise_for_api_error(response, self.http, tokens.access_token)
        playlist_id = as_str(as_dict(json_body(response)).get("id"))
        if not playlist_id:
            raise PlatformError("playlist created without an id", service=SERVICE)
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_ADD,
            targets=(playlist_id,),
            created_id=playlist_id,
            requests=1,
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
        videos = unique(track_ids)
        for video in videos:
            # Inserting twice adds the video twice: never retried.
            response = await self._call(
                "POST",
                "/playlistItems",
                cost=COST_WRITE,
                token=tokens.access_token,
                params={"part": "snippet"},
                json={
                    "snippet": {
                        "playlistId": playlist_id,
                        "resourceId": {"kind": "youtube#video", "videoId": video},
                    }
                },
                retry_safe=False,
            )
            raise_for_api_error(response, self.http, tokens.access_token)
        return ActionResult(
            service=SERVICE,
            action=Capability.PLAYLIST_ADD,
            targets=tuple(videos),
            requests=len(videos),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
