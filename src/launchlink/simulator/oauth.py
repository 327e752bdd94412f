"""Authorization codes, token exchange and refresh rules shared by the OAuth services.

Each service differs only in its :class:`TokenPolicy` (access lifetime, refresh
rotation, absolute refresh lifetime, PKCE) and in how it formats answers, which its
own module does. Refresh rules follow platform-apis §1.1.2 for Spotify exactly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from launchlink.simulator.models import AccessToken, AuthCode, Grant, RefreshToken, SimApp
from launchlink.simulator.state import SimulatorState

# "Six months from the user's authorization" (Spotify refreshing-tokens tutorial).
SPOTIFY_REFRESH_LIFETIME = timedelta(days=183)
CODE_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    access_ttl: int | None
    refresh_lifetime: timedelta | None
    # spotify: PKCE grants rotate, confidential grants omit refresh_token unless the app
    # asks to rotate; always: single-use refresh tokens; never: the same one keeps working.
    rotation: Literal["spotify", "always", "never"]
    requires_pkce: bool
    refresh_only_offline: bool = False


POLICIES: dict[str, TokenPolicy] = {
    "spotify": TokenPolicy(3600, SPOTIFY_REFRESH_LIFETIME, "spotify", requires_pkce=False),
    "soundcloud": TokenPolicy(3600, None, "always", requires_pkce=True),
    # TIDAL's refresh lifetime/rotation are undocumented [UNCERTAIN]: keep the token.
    "tidal": TokenPolicy(3600, None, "never", requires_pkce=True),
    "youtube": TokenPolicy(3599, None, "never", requires_pkce=False, refresh_only_offline=True),
}


class OAuthError(Exception):
    """A token-endpoint failure in RFC 6749 form (``error`` + ``error_description``)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True, slots=True)
class TokenResult:
    access: AccessToken
    refresh: RefreshToken | None
    ttl: int | None

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "access_token": self.access.token,
            "token_type": "Bearer",
            "scope": " ".join(sorted(self.access.scopes)),
            "expires_in": self.ttl,
        }
        if self.refresh is not None:
            body["refresh_token"] = self.refresh.token
        return body


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_code(
    state: SimulatorState,
    *,
    service: str,
    client_id: str,
    user_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    code_challenge: str | None,
    code_challenge_method: str | None,
    offline: bool,
) -> str:
    code = AuthCode(
        code=state.new_token("code_"),
        service=service,
        client_id=client_id,
        user_id=user_id,
        redirect_uri=redirect_uri,
        scopes=frozenset(scopes),
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        expires_at=state.now() + CODE_LIFETIME,
        offline=offline,
    )
    state.codes[code.code] = code
    return code.code


def _client(
    state: SimulatorState, service: str, form: dict[str, str], authorization: str | None
) -> tuple[SimApp, bool]:
    """The calling app and whether it proved its secret."""
    client_id = form.get("client_id")
    secret = form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
            client_id, _, secret = decoded.partition(":")
        except ValueError as exc:
            raise OAuthError("invalid_client", "Invalid client") from exc
    app = state.app(service, client_id or "")
    if app is None:
        raise OAuthError("invalid_client", "Invalid client")
    if secret is not None:
        if app.client_secret is None or not hmac.compare_digest(secret, app.client_secret):
            raise OAuthError("invalid_client", "Invalid client secret")
        return app, True
    return app, False


def _access_token(
    state: SimulatorState, app: SimApp, grant: Grant | None, scopes: frozenset[str]
) -> AccessToken:
    """An access token for ``app`` with its service's lifetime (``grant`` None: app-only)."""
    return state.issue_access_token(
        service=app.service,
        client_id=app.client_id,
        grant=grant,
        scopes=scopes,
        ttl_seconds=POLICIES[app.service].access_ttl,
    )


def exchange_code(
    state: SimulatorState, service: str, form: dict[str, str], authorization: str | None
) -> TokenResult:
    policy = POLICIES[service]
    app, proved_secret = _client(state, service, form, authorization)
    code = state.codes.get(form.get("code", ""))
    if (
        code is None
        or code.used
        or code.service != service
        or code.client_id != app.client_id
        or code.expires_at <= state.now()
    ):
        raise OAuthError("invalid_grant", "Invalid authorization code")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("invalid_grant", "Invalid redirect URI")
    pkce = code.code_challenge is not None
    if pkce:
        verifier = form.get("code_verifier")
        if not verifier:
            raise OAuthError("invalid_request", "code_verifier required")
        if s256(verifier) != code.code_challenge:
            raise OAuthError("invalid_grant", "code_verifier was incorrect")
    elif not proved_secret:
        raise OAuthError("invalid_client", "Invalid client")
    if policy.requires_pkce and not pkce:
        raise OAuthError("invalid_request", "PKCE is required")
    code.used = True
    grant = state.add_grant(service, app.client_id, code.user_id, code.scopes)
    grant.pkce = pkce
    access = _access_token(state, app, grant, grant.scopes)
    refresh = None
    if code.offline or not policy.refresh_only_offline:
        refresh = state.issue_refresh_token(grant, policy.refresh_lifetime)
    return TokenResult(access, refresh, policy.access_ttl)


def refresh_grant(
    state: SimulatorState, service: str, form: dict[str, str], authorization: str | None
) -> TokenResult:
    policy = POLICIES[service]
    app, proved_secret = _client(state, service, form, authorization)
    token = state.refresh_tokens.get(form.get("refresh_token", ""))
    if token is None or token.grant.service != service or token.grant.client_id != app.client_id:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    grant = token.grant
    if grant.revoked:
        raise OAuthError("invalid_grant", "Refresh token revoked")
    if token.used:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    if token.expires_at is not None and token.expires_at <= state.now():
        raise OAuthError("invalid_grant", "Refresh token expired")
    if not grant.pkce and not proved_secret:
        raise OAuthError("invalid_client", "Invalid client")
    access = _access_token(state, app, grant, grant.scopes)
    rotate = policy.rotation == "always" or (
        policy.rotation == "spotify" and (grant.pkce or app.rotate_refresh_tokens)
    )
    new_refresh = None
    if rotate:
        token.used = True
        new_refresh = state.issue_refresh_token(grant, None)
        # The absolute lifetime counts from the authorization, not from this refresh.
        new_refresh.expires_at = token.expires_at
    return TokenResult(access, new_refresh, policy.access_ttl)


def client_credentials(
    state: SimulatorState, service: str, form: dict[str, str], authorization: str | None
) -> TokenResult:
    policy = POLICIES[service]
    app, proved_secret = _client(state, service, form, authorization)
    if not proved_secret:
        raise OAuthError("invalid_client", "Invalid client")
    access = _access_token(state, app, None, frozenset(form.get("scope", "").split()))
    return TokenResult(access, None, policy.access_ttl)


def token_endpoint(
    state: SimulatorState, service: str, form: dict[str, str], authorization: str | None
) -> TokenResult:
    """Dispatch on ``grant_type``; raises :class:`OAuthError`."""
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return exchange_code(state, service, form, authorization)
    if grant_type == "refresh_token":
        return refresh_grant(state, service, form, authorization)
    if grant_type == "client_credentials":
        return client_credentials(state, service, form, authorization)
    raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
