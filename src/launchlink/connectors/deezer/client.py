"""Deezer over HTTP: its own OAuth variant and the REST API with errors inside HTTP 200.

* Authorize: ``connect…/oauth/auth.php?app_id&redirect_uri&perms``; no PKCE.
* Token: ``connect…/oauth/access_token.php?app_id&secret&code[&output=json]`` answers plain
  text ``access_token=…&expires=…`` (or JSON with ``output=json``); ``expires=0`` means never
  (``offline_access``); there are no refresh tokens; a bad code answers ``wrong code``.
* API calls carry ``access_token`` in the query (there is no Bearer header).
* Logical errors come as HTTP 200 ``{"error": {"type", "message", "code"}}`` (platform-apis
  §3.3): 4 quota → ``RateLimited``; 300 invalid token → ``AuthRevoked``; 200 permission and
  50 disabled app → ``NotAllowed``; 800 no data → ``NotFound``; 700 busy → ``Transient``
  (retried on reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import httpx

from launchlink.connectors._json import as_dict, as_int, as_str
from launchlink.connectors.errors import (
    AuthRevoked,
    NotAllowed,
    NotFound,
    PlatformError,
    RateLimited,
    Transient,
)
from launchlink.connectors.http import ServiceHttp, json_body, raise_for_status, service_http
from launchlink.connectors.settings import DeezerSettings

SERVICE = "deezer"
QUOTA_WINDOW_SECONDS = 5.0  # ~50 requests per 5 s; Deezer sends no Retry-After


def _error_object(response: httpx.Response) -> dict[str, Any] | None:
    body = json_body(response)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return as_dict(body["error"])
    return None


def is_busy(response: httpx.Response) -> bool:
    error = _error_object(response)
    return error is not None and as_int(error.get("code")) == 700


def raise_for_error(response: httpx.Response, http: ServiceHttp, token: str | None) -> Any:
    """Return the decoded body, or raise the typed error (HTTP status or error object)."""
    status = response.status_code
    if status >= 400:
        # Deezer's own refusals come inside HTTP 200 (below); an HTTP error status is the
        # front door's and means what it means everywhere.
        raise_for_status(
            response, service=SERVICE, message=http.scrub(response.text[:200], [token])
        )
    error = _error_object(response)
    if error is None:
        return json_body(response)
    code = as_int(error.get("code"))
    message = http.scrub(as_str(error.get("message")) or as_str(error.get("type")) or "", [token])
    text = f"{message} (code {code})"
    if code == 4:
        raise RateLimited(text, retry_after=QUOTA_WINDOW_SECONDS, service=SERVICE, status=status)
    if code == 300:
        raise AuthRevoked(text, service=SERVICE, status=status)
    if code == 200:
        raise NotAllowed(text, reason="insufficient_scope", service=SERVICE, status=status)
    if code == 50:
        raise NotAllowed(text, reason="app_disabled", service=SERVICE, status=status)
    if code == 800:
        raise NotFound(text, service=SERVICE, status=status)
    if code == 700:
        raise Transient(text, service=SERVICE, status=status)
    raise PlatformError(text, service=SERVICE, status=status)


class DeezerClient:
    def __init__(
        self, settings: DeezerSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._api = settings.api_url.rstrip("/")
        self._connect = settings.connect_url.rstrip("/")
        self._secret = settings.secret.get_secret_value() if settings.secret else None
        self.http = service_http(
            SERVICE,
            settings,
            base_urls=[self._api, self._connect],
            transport=transport,
            secrets=[self._secret],
        )

    @property
    def connect_url(self) -> str:
        return self._connect

    async def access_token(self, code: str) -> tuple[str, int]:
        """``(access_token, expires_seconds)`` for an authorization code; 0 means never."""
        response = await self.http.request(
            "GET",
            f"{self._connect}/oauth/access_token.php",
            params={
                "app_id": self.settings.app_id or "",
                "secret": self._secret or "",
                "code": code,
                "output": "json",
            },
            retry_safe=False,  # a code is single-use
            secrets=[code],
        )
        if response.status_code >= 500:
            raise Transient(f"HTTP {response.status_code}", service=SERVICE)
        body = json_body(response)
        if isinstance(body, dict):
            error = _error_object(response)
            if error is not None and as_int(error.get("code")) in {4, 700}:
                raise_for_error(response, self.http, None)
            fields = {key: as_str(value) or "" for key, value in body.items()}
        else:
            # The default answer is plain text: access_token=…&expires=…
            parsed = parse_qs(response.text.strip())
            fields = {key: values[0] for key, values in parsed.items() if values}
        token = fields.get("access_token")
        if not token:
            raise AuthRevoked(
                f"authorization code rejected: {self.http.scrub(response.text[:100], [code])}",
                service=SERVICE,
                status=response.status_code,
            )
        return token, as_int(fields.get("expires")) or 0

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Mapping[str, str] | None = None,
        retry_safe: bool,
    ) -> Any:
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        response = await self.http.request(
            method,
            f"{self._api}{path}",
            params=query,
            retry_safe=retry_safe,
            secrets=[token],
            transient_body=is_busy,
        )
        return raise_for_error(response, self.http, token)

    async def aclose(self) -> None:
        await self.http.aclose()
