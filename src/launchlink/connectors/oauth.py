"""OAuth 2 pieces shared by the connectors that use a standard token endpoint.

Spotify, TIDAL, SoundCloud and YouTube (Google) all answer ``POST …/token`` with a JSON token
response and report failures as flat ``{"error": "...", "error_description": "..."}``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from launchlink.connectors._json import as_dict, as_int, as_str
from launchlink.connectors.base import TokenSet
from launchlink.connectors.errors import AccessTokenExpired, AuthRevoked, NotAllowed, PlatformError
from launchlink.connectors.http import (
    HttpLimits,
    ServiceHttp,
    json_body,
    raise_if_throttled_or_down,
    service_http,
)
from launchlink.kit.clock import Clock

T = TypeVar("T")
Grant = Literal["authorization_code", "refresh_token", "client_credentials"]


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
    grant: Grant,
    secrets_used: Sequence[str | None] = (),
) -> None:
    """Map a failed token-endpoint response to a typed error; return if it succeeded."""
    if response.is_success:
        return
    service = http.service
    status = response.status_code
    raise_if_throttled_or_down(response, service=service, message="token endpoint busy")
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
    grant: Grant,
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


class ClientAuth(StrEnum):
    """How a confidential app proves itself at a token endpoint (platform-apis §1.1.2, §4).

    Without a configured secret every style falls back to ``client_id`` in the form: a
    public PKCE client.
    """

    BASIC = "basic"
    """``Authorization: Basic``; the form carries no client_id (Spotify)."""
    BASIC_WITH_ID = "basic_with_id"
    """``Authorization: Basic`` and ``client_id`` in the form as well (TIDAL)."""
    FORM = "form"
    """``client_id`` and ``client_secret`` in the form (SoundCloud, Google)."""


class TokenClient:
    """The one OAuth 2 client every standard-token-endpoint connector uses.

    It builds the consent URL (PKCE S256), exchanges the callback code, refreshes a fan's
    grant and keeps the app-only (client-credentials) token, all against one token
    endpoint with the service's client-authentication style. Failures become the typed
    errors of :func:`raise_for_token_error`. Services differ only in what they pass in:

    * ``auth`` for user grants and ``app_auth`` for client credentials (SoundCloud puts the
      secret in the form for codes and refreshes but wants Basic for app tokens);
    * ``refresh_form``: extra refresh fields (SoundCloud wants ``redirect_uri`` again);
    * ``authorize_params``: extra consent-URL fields (Google's ``access_type=offline``).

    Whether a refresh rotates the refresh token is the service's business: the response
    says so, and :func:`token_set_from` keeps the old one when none comes back.
    """

    def __init__(
        self,
        http: ServiceHttp,
        *,
        clock: Clock,
        authorize_url: str,
        token_url: str,
        client_id: str | None,
        client_secret: str | None,
        auth: ClientAuth,
        app_auth: ClientAuth | None = None,
        refresh_form: Mapping[str, str] | None = None,
        authorize_params: Mapping[str, str] | None = None,
        app_token_margin: timedelta = timedelta(seconds=60),
    ) -> None:
        self.http = http
        self._clock = clock
        self._authorize_url = authorize_url
        self._token_url = token_url
        self._client_id = client_id or ""
        self._secret = client_secret or None
        self._auth = auth
        self._app_auth = app_auth or auth
        self._refresh_form = dict(refresh_form or {})
        self._authorize_params = dict(authorize_params or {})
        self._app_tokens = AppTokenCache(clock, margin=app_token_margin)

    @property
    def service(self) -> str:
        return self.http.service

    def authorization_url(
        self, *, state: str, code_challenge: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        """The consent URL: response_type=code with a PKCE S256 challenge."""
        query = {
            "client_id": self._client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge_method": "S256",
            "code_challenge": code_challenge,
            **self._authorize_params,
        }
        if scopes:
            query["scope"] = " ".join(scopes)
        return f"{self._authorize_url}?{urlencode(query)}"

    def _client_credentials(self, auth: ClientAuth) -> tuple[str | None, dict[str, str]]:
        if not self._secret:
            return None, {"client_id": self._client_id}
        if auth is ClientAuth.FORM:
            return None, {"client_id": self._client_id, "client_secret": self._secret}
        header = basic_auth(self._client_id, self._secret)
        return header, ({"client_id": self._client_id} if auth is ClientAuth.BASIC_WITH_ID else {})

    async def _grant(
        self,
        form: Mapping[str, str],
        *,
        grant: Grant,
        auth: ClientAuth,
        secrets_used: Sequence[str | None],
    ) -> object:
        authorization, credentials = self._client_credentials(auth)
        return await post_token(
            self.http,
            self._token_url,
            {**form, **credentials},
            grant=grant,
            authorization=authorization,
            secrets_used=secrets_used,
        )

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        payload = await self._grant(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            grant="authorization_code",
            auth=self._auth,
            secrets_used=[code, code_verifier],
        )
        return token_set_from(payload, clock=self._clock)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """A new set for the fan's grant; persist it before use (rotated tokens are single-use)."""
        if not tokens.refresh_token:
            raise AccessTokenExpired("no refresh token to refresh with", service=self.service)
        payload = await self._grant(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                **self._refresh_form,
            },
            grant="refresh_token",
            auth=self._auth,
            secrets_used=[tokens.refresh_token, tokens.access_token],
        )
        return token_set_from(payload, clock=self._clock, previous=tokens)

    async def app_token(self) -> str:
        """A client-credentials token, cached until ``app_token_margin`` before it expires."""
        cached = self._app_tokens.get()
        if cached is not None:
            return cached
        payload = await self._grant(
            {"grant_type": "client_credentials"},
            grant="client_credentials",
            auth=self._app_auth,
            secrets_used=[],
        )
        tokens = token_set_from(payload, clock=self._clock)
        self._app_tokens.put(tokens)
        return tokens.access_token

    async def with_app_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """``call(app_token)``; a 401 (``AccessTokenExpired``) renews the app token once.

        The cache can hold a token the service has already dropped (a restart, a revoked
        app secret); one renewal tells that apart from a real refusal, which the second
        401 then is.
        """
        token = await self.app_token()
        try:
            return await call(token)
        except AccessTokenExpired:
            self._app_tokens.forget()
        return await call(await self.app_token())


class OAuthAppSettings(HttpLimits, Protocol):
    """The settings of a service reached as one OAuth app (client id and secret)."""

    @property
    def client_id(self) -> str | None: ...

    @property
    def client_secret(self) -> SecretStr | None: ...


@dataclass(frozen=True)
class OAuthApp:
    """One service's OAuth app: its guarded HTTP client and the token client on top."""

    http: ServiceHttp
    oauth: TokenClient


def oauth_app(
    service: str,
    settings: OAuthAppSettings,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None,
    base_urls: Sequence[str],
    authorize_url: str,
    token_url: str,
    auth: ClientAuth,
    secrets: Sequence[str | None] = (),
    app_auth: ClientAuth | None = None,
    refresh_form: Mapping[str, str] | None = None,
    authorize_params: Mapping[str, str] | None = None,
) -> OAuthApp:
    """The HTTP client (its hosts, limits, and the client secret plus ``secrets`` redacted)
    and the :class:`TokenClient` of an OAuth app, built the same way for every service."""
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    http = service_http(
        service, settings, base_urls=base_urls, transport=transport, secrets=[secret, *secrets]
    )
    oauth = TokenClient(
        http,
        clock=clock,
        authorize_url=authorize_url,
        token_url=token_url,
        client_id=settings.client_id,
        client_secret=secret,
        auth=auth,
        app_auth=app_auth,
        refresh_form=refresh_form,
        authorize_params=authorize_params,
    )
    return OAuthApp(http=http, oauth=oauth)
