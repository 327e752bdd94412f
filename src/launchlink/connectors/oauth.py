"""OAuth 2 pieces shared by the connectors that use a standard token endpoint.

Spotify, TIDAL, SoundCloud and YouTube (Google) all answer ``POST …/token`` with a JSON token
response and report failures as flat ``{"error": "...", "error_description": "..."}``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx

from launchlink.connectors._json import as_dict, as_int, as_str
from launchlink.connectors.base import TokenSet
from launchlink.connectors.errors import (
    AuthRevoked,
    NotAllowed,
    PlatformError,
    RateLimited,
    Transient,
)
from launchlink.connectors.http import ServiceHttp, json_body, parse_retry_after
from launchlink.kit.clock import Clock


@dataclass(frozen=True)
class PkcePair:
    verifier: str
    challenge: str


def new_pkce_pair() -> PkcePair:
    """A fresh PKCE verifier (64 chars of ``[A-Za-z0-9-_]``) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic_auth(client_id: str, client_secret: str) -> str:
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def token_set_from(
    payload: object,
    *,
    clock: Clock,
    previous: TokenSet | None = None,
    requested_scopes: Sequence[str] = (),
) -> TokenSet:
    """A :class:`TokenSet` from a token response.

    When the response carries no ``refresh_token`` (Spotify confidential refresh, Google),
    the previous one is kept; when it carries no ``scope``, the previous or requested scopes.
    """
    body = as_dict(payload)
    access = as_str(body.get("access_token"))
    if not access:
        raise PlatformError("token response without access_token", status=200)
    refresh = as_str(body.get("refresh_token")) or (previous.refresh_token if previous else None)
    scope_text = as_str(body.get("scope"))
    if scope_text is not None:
        scopes = tuple(scope_text.replace(",", " ").split())
    elif previous is not None:
        scopes = previous.scopes
    else:
        scopes = tuple(requested_scopes)
    expires_in = as_int(body.get("expires_in"))
    expires_at = clock.now() + timedelta(seconds=expires_in) if expires_in else None
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=expires_at,
        scopes=scopes,
        token_type=as_str(body.get("token_type")) or "Bearer",
    )


def raise_for_token_error(
    response: httpx.Response,
    http: ServiceHttp,
    *,
    grant: Literal["authorization_code", "refresh_token", "client_credentials"],
    secrets_used: Sequence[str | None] = (),
) -> None:
    """Map a failed token-endpoint response to a typed error; return if it succeeded."""
    if response.is_success:
        return
    service = http.service
    status = response.status_code
    if status == 429:
        raise RateLimited(
            "token endpoint rate limited",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            service=service,
            status=status,
        )
    if status >= 500:
        raise Transient("token endpoint unavailable", service=service, status=status)
    body = as_dict(json_body(response))
    error = as_str(body.get("error")) or ""
    description = http.scrub(
        as_str(body.get("error_description")) or error or response.text[:200], secrets_used
    )
    if error == "invalid_grant":
        what = "refresh token" if grant == "refresh_token" else "authorization code"
        raise AuthRevoked(f"{what} rejected: {description}", service=service, status=status)
    if error in {"invalid_client", "unauthorized_client"}:
        # 400 and 401 are both seen for invalid_client [UNCERTAIN]; either is a setup fault.
        raise NotAllowed(
            f"client credentials rejected: {description}",
            reason="invalid_client",
            service=service,
            status=status,
        )
    raise PlatformError(f"token request failed: {description}", service=service, status=status)


async def post_token(
    http: ServiceHttp,
    url: str,
    form: Mapping[str, str],
    *,
    grant: Literal["authorization_code", "refresh_token", "client_credentials"],
    authorization: str | None,
    secrets_used: Sequence[str | None],
) -> object:
    """POST a form to a token endpoint and return the decoded JSON, or raise a typed error.

    Never retried: a code is single-use and a rotated refresh token is consumed by the
    first attempt even when its answer is lost, so a replay would only turn into
    ``invalid_grant``.
    """
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await http.request(
        "POST", url, data=dict(form), headers=headers, retry_safe=False, secrets=secrets_used
    )
    raise_for_token_error(response, http, grant=grant, secrets_used=secrets_used)
    return json_body(response)


class AppTokenCache:
    """One cached app-only (client-credentials) token, refreshed shortly before expiry."""

    def __init__(self, clock: Clock, *, margin: timedelta = timedelta(seconds=60)) -> None:
        self._clock = clock
        self._margin = margin
        self._tokens: TokenSet | None = None

    def get(self) -> str | None:
        tokens = self._tokens
        if tokens is None or tokens.expires_within(self._clock, self._margin):
            return None
        return tokens.access_token

    def put(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    def forget(self) -> None:
        self._tokens = None
