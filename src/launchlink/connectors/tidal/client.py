"""TIDAL over HTTP: OAuth 2.1 + PKCE (login/auth hosts) and the JSON:API v2 (openapi host).

Catalogue reads use a client-credentials token; collection writes use the fan's token and
send ``Idempotency-Key`` when the caller gives one (the server then replays the first
answer, which is what makes a retried write safe). Errors are JSON:API ``errors[]``; 401 →
``AccessTokenExpired``, 403 → ``NotAllowed``, 404 → ``NotFound``, 429 → ``RateLimited`` (no
Retry-After in the spec: ``None`` unless a header is sent), 5xx → ``Transient``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from launchlink.connectors._json import as_dict, as_list, as_str
from launchlink.connectors.http import ServiceHttp, json_body, raise_for_status
from launchlink.connectors.oauth import ClientAuth, oauth_app
from launchlink.connectors.settings import TidalSettings
from launchlink.kit.clock import Clock

SERVICE = "tidal"
JSON_API = "application/vnd.api+json"


def raise_for_api_error(response: httpx.Response, http: ServiceHttp, token: str | None) -> None:
    if response.is_success:
        return
    errors = as_list(as_dict(json_body(response)).get("errors"))
    first = as_dict(errors[0]) if errors else {}
    message = http.scrub(
        as_str(first.get("detail")) or as_str(first.get("code")) or response.reason_phrase,
        [token],
    )
    reason = "insufficient_scope" if "scope" in message.lower() else "forbidden"
    raise_for_status(response, service=SERVICE, message=message, forbidden_reason=reason)


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
        app = oauth_app(
            SERVICE,
            settings,
            clock=clock,
            transport=transport,
            base_urls=[self._login, self._auth, self._api],
            authorize_url=f"{self._login}/authorize",
            token_url=f"{self._auth}/oauth2/token",
            auth=ClientAuth.BASIC_WITH_ID,
        )
        self.http, self.oauth = app.http, app.oauth

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
        async def get(token: str) -> Any:
            return await self.call("GET", path, token=token, params=params, retry_safe=True)

        return await self.oauth.with_app_token(get)

    async def aclose(self) -> None:
        await self.http.aclose()
