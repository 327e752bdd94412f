"""Apple Music API over HTTP: the ES256 developer token and the catalogue/library calls.

Every request carries ``Authorization: Bearer <developer token>``; ``/me/*`` calls also carry
``Music-User-Token`` (obtained in the fan's browser by MusicKit JS; there is no refresh).
Error mapping (platform-apis §2.6): 401 → the developer token was refused (renewed once,
then ``NotAllowed("developer_token_rejected")``); 403 on ``/me`` (code 40300) →
``AuthRevoked``; 400 code 40015 → ``NotAllowed("insufficient_privileges")``; 404 →
``NotFound``; 429 → ``RateLimited``; 5xx → ``Transient``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launchlink.connectors._json import as_dict, as_list, as_str
from launchlink.connectors.errors import (
    AuthRevoked,
    NotAllowed,
    Unavailable,
)
from launchlink.connectors.http import ServiceHttp, json_body, raise_for_status, service_http
from launchlink.connectors.settings import AppleMusicSettings
from launchlink.kit.clock import Clock

SERVICE = "apple_music"
MAX_DEVELOPER_TOKEN_SECONDS = 15_777_000


def read_private_key(settings: AppleMusicSettings) -> str | None:
    if settings.private_key_pem is not None:
        return settings.private_key_pem.get_secret_value()
    if settings.private_key_path is not None:
        return Path(settings.private_key_path).read_text(encoding="utf-8")
    return None


def is_musickit_key(pem: str) -> bool:
    """Whether ``pem`` is an unencrypted EC P-256 private key, the only kind ES256 signs with."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


class DeveloperTokenMinter:
    """Signs and caches the developer token (ES256 JWT: ``iss`` team, ``kid`` key id)."""

    def __init__(self, settings: AppleMusicSettings, private_key_pem: str, clock: Clock) -> None:
        self._team_id = settings.team_id or ""
        self._key_id = settings.key_id or ""
        self._key = private_key_pem
        self._ttl = min(settings.developer_token_ttl_seconds, MAX_DEVELOPER_TOKEN_SECONDS)
        self._origins = list(settings.origins)
        self._clock = clock
        self._token: str | None = None
        self._renew_at = clock.now()

    def token(self) -> str:
        now = self._clock.now()
        if self._token is None or now >= self._renew_at:
            issued = int(now.timestamp())
            claims: dict[str, Any] = {
                "iss": self._team_id,
                "iat": issued,
                "exp": issued + self._ttl,
            }
            if self._origins:
                claims["origin"] = self._origins
            self._token = jwt.encode(
                claims, self._key, algorithm="ES256", headers={"kid": self._key_id}
            )
            # Renew well before expiry: a cached token must never be sent after its exp.
            self._renew_at = now + timedelta(seconds=self._ttl * 0.9)
        return self._token

    def forget(self) -> None:
        self._token = None


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    return [as_dict(item) for item in as_list(as_dict(json_body(response)).get("errors"))]


def raise_for_api_error(
    response: httpx.Response, http: ServiceHttp, secrets: list[str | None], *, user_call: bool
) -> None:
    if response.is_success:
        return
    status = response.status_code
    errors = _errors(response)
    first = errors[0] if errors else {}
    code = as_str(first.get("code")) or ""
    message = http.scrub(
        as_str(first.get("detail")) or as_str(first.get("title")) or response.reason_phrase,
        secrets,
    )
    if status == 403 and (code.startswith("403") or user_call):
        raise AuthRevoked(f"Music-User-Token refused: {message}", service=SERVICE, status=status)
    if status == 400 and code == "40015":
        raise NotAllowed(message, reason="insufficient_privileges", service=SERVICE, status=status)
    raise_for_status(response, service=SERVICE, message=message)


class AppleMusicClient:
    def __init__(
        self,
        settings: AppleMusicSettings,
        *,
        clock: Clock,
        minter: DeveloperTokenMinter | None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = settings.api_url.rstrip("/")
        self._minter = minter
        self.http = service_http(SERVICE, settings, base_urls=[self._api], transport=transport)

    def developer_token(self) -> str:
        if self._minter is None:
            raise Unavailable("Apple Music developer key not configured", service=SERVICE)
        return self._minter.token()

    async def call(
        self,
        method: str,
        path: str,
        *,
        music_user_token: str | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        retry_safe: bool,
    ) -> Any:
        for attempt in (1, 2):
            developer_token = self.developer_token()
            headers = {"Authorization": f"Bearer {developer_token}"}
            if music_user_token is not None:
                headers["Music-User-Token"] = music_user_token
            secrets: list[str | None] = [developer_token, music_user_token]
            response = await self.http.request(
                method,
                f"{self._api}{path}",
                params=params,
                headers=headers,
                json=json,
                retry_safe=retry_safe,
                secrets=secrets,
            )
            if response.status_code == 401:
                if attempt == 1 and self._minter is not None:
                    self._minter.forget()
                    continue
                raise NotAllowed(
                    "developer token refused",
                    reason="developer_token_rejected",
                    service=SERVICE,
                    status=401,
                )
            raise_for_api_error(
                response, self.http, secrets, user_call=music_user_token is not None
            )
            return json_body(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.http.aclose()
