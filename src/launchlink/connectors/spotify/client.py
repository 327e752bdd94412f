"""Spotify over HTTP: accounts (OAuth) and the Web API. No mapping to launchlink types here.

Error mapping (platform-apis §1.3): 401 → ``AccessTokenExpired``; 403 → ``NotAllowed``
with a reason (the development-mode "User not registered in the Developer Dashboard" comes as
plain text or JSON); 404 → ``NotFound``; 429 → ``RateLimited`` with ``Retry-After`` as given
(absent → ``None``); 5xx → ``Transient``; anything else → ``PlatformError``. Error bodies
come in two shapes, ``{"error": {"status", "message"}}`` and the bare ``{"status",
"message"}`` of ``/me/library``'s 400, and both are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from launchlink.connectors._json import as_dict, as_int, as_str
from launchlink.connectors.errors import NotFound, PlatformError
from launchlink.connectors.http import ServiceHttp, json_body, raise_for_status
from launchlink.connectors.oauth import ClientAuth, oauth_app
from launchlink.connectors.settings import SpotifySettings
from launchlink.kit.clock import Clock

SERVICE = "spotify"
USER_NOT_REGISTERED = "User not registered in the Developer Dashboard"


def error_message(response: httpx.Response) -> str:
    """The service's message from either error shape, or the plain-text body."""
    body = json_body(response)
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return as_str(inner.get("message")) or ""
        if isinstance(inner, str):
            return as_str(body.get("error_description")) or inner
        return as_str(body.get("message")) or ""
    return response.text.strip()[:300]


def raise_for_api_error(response: httpx.Response, http: ServiceHttp, token: str | None) -> None:
    """Raise the typed error for a failed Web API response; return on success."""
    if response.is_success:
        return
    status = response.status_code
    message = http.scrub(error_message(response), [token]) or response.reason_phrase
    lowered = message.lower()
    if status == 400 and "non existing id" in lowered:
        # A 400 "Non existing id" on a save means: not (yet) available to this user.
        raise NotFound(message, service=SERVICE, status=status)
    if "not registered" in lowered:
        reason = "user_not_registered"
    elif "scope" in lowered:
        reason = "insufficient_scope"
    elif "removed" in lowered or "deprecated" in lowered or "development mode" in lowered:
        reason = "endpoint_removed"
    else:
        reason = "forbidden"
    raise_for_status(response, service=SERVICE, message=message, forbidden_reason=reason)


class SpotifyClient:
    """HTTP calls to accounts.spotify.com and api.spotify.com/v1 (or their stand-ins)."""

    def __init__(
        self,
        settings: SpotifySettings,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._accounts = settings.accounts_url.rstrip("/")
        self._api = settings.api_url.rstrip("/")
        app = oauth_app(
            SERVICE,
            settings,
            clock=clock,
            transport=transport,
            base_urls=[self._accounts, self._api],
            authorize_url=f"{self._accounts}/authorize",
            token_url=f"{self._accounts}/api/token",
            auth=ClientAuth.BASIC,
        )
        self.http, self.oauth = app.http, app.oauth

    # -- Web API ----------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        retry_safe: bool,
    ) -> Any:
        """One Web API call with a user token; returns the decoded JSON (or None)."""
        headers = {"Authorization": f"Bearer {token}"}
        response = await self.http.request(
            method,
            f"{self._api}{path}",
            params=params,
            headers=headers,
            json=json,
            retry_safe=retry_safe,
            secrets=[token],
        )
        raise_for_api_error(response, self.http, token)
        return json_body(response)

    async def app_get(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """A catalogue GET with the app token; a 401 renews the app token once."""

        async def get(token: str) -> Any:
            return await self.call("GET", path, token=token, params=params, retry_safe=True)

        return await self.oauth.with_app_token(get)

    async def search(self, *, query: str, kind: str, market: str, limit: int) -> list[Any]:
        # limit: max 10 since February 2026 (was 50).
        payload = await self.app_get(
            "/search",
            params={"q": query, "type": kind, "market": market, "limit": str(min(limit, 10))},
        )
        items = as_dict(as_dict(payload).get(f"{kind}s")).get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    async def album(self, album_id: str, *, market: str) -> dict[str, Any] | None:
        """``GET /albums/{id}`` with every track page; ``None`` when unknown or malformed."""
        try:
            album = as_dict(await self.app_get(f"/albums/{album_id}", params={"market": market}))
        except NotFound:
            return None
        except PlatformError as error:
            if error.status == 400:  # "invalid id"
                return None
            raise
        if not album:
            return None
        tracks = as_dict(album.get("tracks"))
        items = [item for item in tracks.get("items") or [] if isinstance(item, dict)]
        total = as_int(tracks.get("total")) or len(items)
        while tracks.get("next") and len(items) < total:
            page = as_dict(
                await self.app_get(
                    f"/albums/{album_id}/tracks",
                    params={"market": market, "limit": "50", "offset": str(len(items))},
                )
            )
            more = [item for item in page.get("items") or [] if isinstance(item, dict)]
            if not more:
                break
            items.extend(more)
            tracks = page
        album["tracks"] = {**as_dict(album.get("tracks")), "items": items}
        return album

    async def track(self, track_id: str, *, market: str) -> dict[str, Any] | None:
        try:
            return as_dict(await self.app_get(f"/tracks/{track_id}", params={"market": market}))
        except NotFound:
            return None
        except PlatformError as error:
            if error.status == 400:
                return None
            raise

    async def aclose(self) -> None:
        await self.http.aclose()
