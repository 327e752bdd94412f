"""TIDAL over HTTP: OAuth 2.1 + PKCE (login/auth hosts) and the JSON:API v2 (openapi host).

Catalogue reads use a client-credentials token; collection writes use the fan's token and
send ``Idempotency-Key`` when the caller gives one (the server then replays the first
answer, which is what makes a retried write safe). Errors are JSON:API ``errors[]``; 401 →
``AccessTokenExpired``, 403 → ``NotAllowed``, 404 → ``NotFound``, 429 → ``RateLimited`` (no
Retry-After in the spec: ``None`` unless a header is sent), 5xx → ``Transient``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from launchlink.connectors._json import as_dict, as_list, as_str
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
from launchlink.connectors.settings import TidalSettings
from launchlink.kit.clock import Clock

SERVICE = "tidal"
JSON_API = "application/vnd.api+json"


def raise_for_api_error(response: httpx.Response, http: ServiceHttp, token: str | None) -> None:
    if response.is_success:
        return
    status = response.status_code
    errors = as_list(as_dict(json_body(response)).get("errors"))
    first = as_dict(errors[0]) if errors else {}
    message = http.scrub(
        as_str(first.get("detail")) or as_str(first.get("code")) or response.reason_phrase,
        [token],
    )
    if status == 401:
        raise AccessTokenExpired(message, service=SERVICE, status=status)
    if status == 403:
        reason = "insufficient_scope" if "scope" in message.lower() else "forbidden"
        raise NotAllowed(message, reason=reason, service=SERVICE, status=status)
    if status == 404:
        raise NotFound(message, service=SERVICE, status=status)
    if status == 429:
        raise RateLimited(
            message,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            service=SERVICE,
            status=status,
        )
    if status >= 500:
        raise Transient(message, service=SERVICE, status=status)
    raise PlatformError(message, service=SERVICE, status=status)


class TidalClient:
    def __init__(
        self,
        settings: TidalSettings,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._login = settings.login_url.rstrip("/")
        self._auth = settings.auth_url.rstrip("/")
        self._api = settings.api_url.rstrip("/")
        self._secret = settings.client_secret.get_secret_value() if settings.client_secret else None
        self.http = ServiceHttp(
            service=SERVICE,
            base_urls=[self._login, self._auth, self._api],
            timeout_seconds=settings.timeout_seconds,
            max_retries=settings.max_retries,
            transport=transport,
            secrets=[self._secret],
        )
        self._app_tokens = AppTokenCache(clock)

    def authorize_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id or "",
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "code_challenge_method": "S256",
            "code_challenge": code_challenge,
            "state": state,
        }
        return f"{self._login}/authorize?{urlencode(query)}"

    def _client_auth(self) -> tuple[str | None, dict[str, str]]:
        client_id = self.settings.client_id or ""
        if self._secret:
            return basic_auth(client_id, self._secret), {"client_id": client_id}
        return None, {"client_id": client_id}

    async def token_from_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenSet:
        authorization, extra = self._client_auth()
        payload = await post_token(
            self.http,
            f"{self._auth}/oauth2/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
                **extra,
            },
            grant="authorization_code",
            authorization=authorization,
            secrets_used=[code, code_verifier],
        )
        return token_set_from(payload, clock=self._clock)

    async def token_from_refresh(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise AccessTokenExpired("no refresh token to refresh with", service=SERVICE)
        authorization, extra = self._client_auth()
        payload = await post_token(
            self.http,
            f"{self._auth}/oauth2/token",
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, **extra},
            grant="refresh_token",
            authorization=authorization,
            secrets_used=[tokens.refresh_token, tokens.access_token],
        )
        return token_set_from(payload, clock=self._clock, previous=tokens)

    async def app_token(self) -> str:
        cached = self._app_tokens.get()
        if cached is not None:
            return cached
        authorization, extra = self._client_auth()
        payload = await post_token(
            self.http,
            f"{self._auth}/oauth2/token",
            {"grant_type": "client_credentials", **extra},
            grant="client_credentials",
            authorization=authorization,
            secrets_used=[],
        )
        tokens = token_set_from(payload, clock=self._clock)
        self._app_tokens.put(tokens)
        return tokens.access_token

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        retry_safe: bool,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": JSON_API}
        if json is not None:
            headers["Content-Type"] = JSON_API
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key[:128]
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

    async def app_get(self, path: str, *, params: Mapping[str, str]) -> Any:
        token = await self.app_token()
        try:
            return await self.call("GET", path, token=token, params=params, retry_safe=True)
        except AccessTokenExpired:
            self._app_tokens.forget()
            token = await self.app_token()
            return await self.call("GET", path, token=token, params=params, retry_safe=True)

    async def aclose(self) -> None:
        await self.http.aclose()
