"""The authorize step of every OAuth service: a no-JavaScript consent page.

``GET <authorize>`` validates the client and redirect URI, then depending on the
service's consent mode renders the page (``manual``), redirects at once with a code
(``auto_approve``: the ``login_hint`` user, else the control "next user", else a new
user) or redirects with the service's error form (``deny``). The page POSTs back to the
same path with ``decision=approve|deny`` and a ``username``.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from launchlink.simulator.http import add_query, form_of, state_of
from launchlink.simulator.models import PendingConsent
from launchlink.simulator.oauth import issue_code
from launchlink.simulator.state import SimulatorState


@dataclass(frozen=True, slots=True)
class AuthorizeDialect:
    """How one service spells its authorize request and its answers."""

    service: str
    title: str
    client_param: str = "client_id"
    scope_param: str = "scope"
    scope_separator: str = " "
    requires_pkce: bool = False
    deny_params: tuple[tuple[str, str], ...] = (("error", "access_denied"),)
    issues_music_user_token: bool = False  # Apple: no code, a Music-User-Token


class ConsentError(Exception):
    pass


def _error_page(message: str) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Error</title></head>"
        f"<body><h1>Authorization error</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=400)


def _redirect_allowed(dialect: AuthorizeDialect, redirect_uri: str, allowed: list[str]) -> bool:
    if dialect.service == "deezer":
        # Deezer only checks the redirect's domain against the app's registered domain.
        host = urlsplit(redirect_uri).netloc
        return bool(host) and any(urlsplit(uri).netloc == host for uri in allowed)
    return redirect_uri in allowed


def _pending_from_query(
    state: SimulatorState, dialect: AuthorizeDialect, request: Request
) -> PendingConsent:
    params = request.query_params
    redirect_uri = params.get("redirect_uri", "")
    client_id = params.get(dialect.client_param, "")
    if dialect.issues_music_user_token:
        if not redirect_uri.startswith(("http://", "https://")):
            raise ConsentError("redirect_uri must be an absolute http(s) URL")
    else:
        app = state.app(dialect.service, client_id)
        if app is None:
            raise ConsentError("INVALID_CLIENT: Invalid client")
        if not _redirect_allowed(dialect, redirect_uri, app.redirect_uris):
            raise ConsentError("INVALID_CLIENT: Invalid redirect URI")
        if dialect.service != "deezer" and params.get("response_type") != "code":
            raise ConsentError("unsupported_response_type: response_type must be 'code'")
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is not None and method != "S256":
        raise ConsentError("code_challenge_method must be S256")
    app = state.app(dialect.service, client_id)
    if not dialect.issues_music_user_token and challenge is None:
        if dialect.requires_pkce:
            raise ConsentError("invalid_request: PKCE (S256 code_challenge) is required")
        if app is not None and not app.confidential:
            raise ConsentError("invalid_request: public clients must use PKCE")
    raw_scopes = params.get(dialect.scope_param, "")
    scopes = tuple(s for s in raw_scopes.split(dialect.scope_separator) if s)
    return PendingConsent(
        consent_id=state.new_token("consent_"),
        service=dialect.service,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=params.get("state"),
        code_challenge=challenge,
        code_challenge_method=method,
        offline=dialect.service != "youtube" or params.get("access_type") == "offline",
        login_hint=params.get("login_hint"),
    )


def _approve(
    state: SimulatorState,
    dialect: AuthorizeDialect,
    pending: PendingConsent,
    username: str,
    country: str,
) -> Response:
    user = state.create_user(dialect.service, username, country=country or "US")
    if dialect.issues_music_user_token:
        token = state.issue_music_user_token(user.user_id, country=user.country)
        target = add_query(
            pending.redirect_uri, {"music_user_token": token, "state": pending.state}
        )
        return RedirectResponse(target, status_code=302)
    code = issue_code(
        state,
        service=dialect.service,
        client_id=pending.client_id,
        user_id=user.user_id,
        redirect_uri=pending.redirect_uri,
        scopes=pending.scopes,
        code_challenge=pending.code_challenge,
        code_challenge_method=pending.code_challenge_method,
        offline=pending.offline,
    )
    return RedirectResponse(
        add_query(pending.redirect_uri, {"code": code, "state": pending.state}), status_code=302
    )


def _deny(dialect: AuthorizeDialect, pending: PendingConsent) -> Response:
    params: dict[str, str | None] = dict(dialect.deny_params)
    params["state"] = pending.state
    return RedirectResponse(add_query(pending.redirect_uri, params), status_code=302)


def _page(
    dialect: AuthorizeDialect, pending: PendingConsent, action: str, *, suggested_user: str
) -> HTMLResponse:
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in pending.scopes)
    scopes = scopes or "<li>(public data only)</li>"
    what = "Apple Music library access" if dialect.issues_music_user_token else "access"
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(dialect.title)} — authorize</title></head>
<body>
<main>
<h1>{html.escape(dialect.title)} (simulator)</h1>
<p>The application <strong>{html.escape(pending.client_id or "MusicKit")}</strong>
asks for {what}:</p>
<ul id="scopes">{scopes}</ul>
<form method="post" action="{html.escape(action)}">
<input type="hidden" name="consent_id" value="{html.escape(pending.consent_id)}">
<label>Username <input name="username" id="username"
 value="{html.escape(pending.login_hint or suggested_user)}" required></label>
<label>Country <input name="country" id="country" value="US" maxlength="2"></label>
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny" formnovalidate>Deny</button>
</form>
</main>
</body></html>"""
    return HTMLResponse(body)


async def authorize_get(request: Request, dialect: AuthorizeDialect) -> Response:
    state = state_of(request)
    try:
        pending = _pending_from_query(state, dialect, request)
    except ConsentError as exc:
        return _error_page(str(exc))
    settings = state.consent(dialect.service)
    if settings.mode == "deny":
        return _deny(dialect, pending)
    if settings.mode == "auto_approve":
        username = pending.login_hint or settings.next_user or state.new_user_id(dialect.service)
        settings.next_user = None
        existing = state.user(dialect.service, username)
        return _approve(state, dialect, pending, username, existing.country if existing else "US")
    state.pending_consents[pending.consent_id] = pending
    # A fresh user name is filled in so a demo visitor can just press Approve.
    suggested = state.new_user_id(dialect.service)
    return _page(dialect, pending, request.url.path, suggested_user=suggested)


async def authorize_post(request: Request, dialect: AuthorizeDialect) -> Response:
    state = state_of(request)
    form = await form_of(request)
    pending = state.pending_consents.pop(form.get("consent_id", ""), None)
    if pending is None or pending.service != dialect.service:
        return _error_page("This consent request has expired or was already answered.")
    if form.get("decision") != "approve":
        return _deny(dialect, pending)
    username = form.get("username", "").strip()
    if not username:
        return _error_page("A username is required.")
    existing = state.user(dialect.service, username)
    country = existing.country if existing else form.get("country", "US").strip().upper()
    return _approve(state, dialect, pending, username, country)


def authorize_endpoint(dialect: AuthorizeDialect) -> Callable[[Request], Awaitable[Response]]:
    """The authorize route: the consent page on GET, the fan's answer on POST."""

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            return await authorize_post(request, dialect)
        return await authorize_get(request, dialect)

    return authorize
