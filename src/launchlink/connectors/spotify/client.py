"""Spotify over HTTP: accounts (OAuth) and the Web API. No mapping to launchlink types here.

Error mapping (platform-apis §1.3): 401 → ``AccessTokenExpired``; 403 → ``NotAllowed``
with a reason (the development-mode "User not registered in the Developer Dashboard" comes as
plain text or JSON); 404 → ``NotFound``; 429 → ``RateLimited`` with ``Retry-After`` as given
(absent → ``None``); 5xx → ``Transient``; anything else → ``PlatformError``. Error bodies
come in two shapes, ``{"error": {"status", "message"}}`` and the bare ``{"status",
"message"}`` of ``/me/library``'s 400, and both are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from launchlink.connectors._json import as_dict, as_int, as_str
from launchlink.connectors.base import TokenSet
from launchlink.connectors.errors import (
    AccessTokenExpired,
    NotAllowed,
    NotFound,
    PlatformError,
    RateLimited,
    Transient,
)
from launchlink.connectors.http import ServiceHttp, json_body, parse_retry_after
from launchlink.connectors.oauth import AppTokenCache, basic_auth, post_token, token_set_from
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
    if status == 401:
        raise AccessTokenExpired(message, service=SERVICE, status=status)
    if status == 403:
        lowered = message.lower()
        if "not registered" in lowered:
            reason = "user_not_registered"
        elif "scope" in lowered:
            reason = "insufficient_scope"
        elif "removed" in lowered or "deprecated" in lowered or "development mode" in lowered:
            reason = "endpoint_removed"
        else:
            reason = "forbidden"
        raise NotAllowed(message, reason=reason, service=SERVICE, status=status)
    if status == 404 or (status == 400 and "non existing id" in message.lower()):
        # A 400 "Non existing id" on a save means: not (yet) available to this user.
        raise NotFound(message, service=SERVICE, status=status)
    if status == 429:
        raise RateLimited(
            message or "rate limited",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            service=SERVICE,
            status=status,
        )
    if status >= 500:
        raise Transient(message, service=SERVICE, status=status)
    raise PlatformError(message, service=SERVICE, status=status)


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
        self._secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        self.http = ServiceHttp(
            service=SERVICE,
            base_urls=[self._accounts, self._api],
            timeout_seconds=settings.timeout_seconds,
            max_retries=settings.max_retries,
            transport=transport,
            secrets=[self._secret],
        )
        self._app_tokens = AppTokenCache(clock)

    # -- accounts ---------------------------------------------------------------------------

    def authorize_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        query = {
            "client_id": self.settings.client_id or "",
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge_method": "S256",
            "code_challenge": code_challenge,
        }
        if scopes:
            query["scope"] = " ".join(scopes)
        return f"{self._accounts}/authorize?{urlencode(query)}"

    def _client_auth(self) -> tuple[str | None, dict[str, str]]:
        """Confidential apps authenticate with Basic; public (PKCE) apps send client_id."""
        client_id = self.settings.client_id or ""
        if self._secret:
            return basic_auth(client_id, self._secret), {}
        return None, {"client_id": client_id}

    async def token_from_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenSet:
        authorization, extra = self._client_auth()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            **extra,
        }
        payload = await post_token(
            self.http,
            f"{self._accounts}/api/token",
            form,
            grant="authorization_code",
            authorization=authorization,
            secrets_used=[code, code_verifier],
        )
        return token_set_from(payload, clock=self._clock)

    async def token_from_refresh(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise AccessTokenExpired("no refresh token to refresh with", service=SERVICE)
        authorization, extra = self._client_auth()
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, **extra}
        payload = await post_token(
            self.http,
            f"{self._accounts}/api/token",
            form,
            grant="refresh_token",
            authorization=authorization,
            secrets_used=[tokens.refresh_token, tokens.access_token],
        )
        return token_set_from(payload, clock=self._clock, previous=tokens)

    async def app_token(self) -> str:
        """A client-credentials token for catalogue reads, cached until shortly before expiry."""
        cached = self._app_tokens.get()
        if cached is not None:
            return cached
        authorization, extra = self._client_auth()
        payload = await post_token(
            self.http,
            f"{self._accounts}/api/token",
            {"grant_type": "client_credentials", **extra},
            grant="client_credentials",
            authorization=authorization,
            secrets_used=[],
        )
        tokens = token_set_from(payload, clock=self._clock)
        self._app_tokens.put(tokens)
        return tokens.access_token

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
        token = await self.app_token()
        try:
            return await self.call("GET", path, token=token, params=params, retry_safe=True)
        except AccessTokenExpired:
            self._app_tokens.forget()
            token = await self.app_token()
            return await self.call("GET", path, token=token, params=params, retry_safe=True)

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
