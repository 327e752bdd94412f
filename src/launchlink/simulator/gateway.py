"""The one request wrapper every imitated service's API runs behind.

A request to any service meets the same steps, in this order, and every refusal is an
answer in that service's own error form (its :class:`Dialect`):

1. **fault injection**: the service's :class:`~launchlink.simulator.faults.FaultPlan`
   (latency, outage windows, a burst of 429s, an error rate). It comes first because a
   service that is down answers 503 whoever asks: a bad key during an outage still sees
   the outage (tests/connectors/test_odesli.py), and a faulted request costs no quota;
2. **credentials and app** (``authenticate``): the service's own credential — a Bearer or
   ``OAuth`` access token, Deezer's ``access_token`` query parameter, Apple's ES256
   developer token, a YouTube or Odesli API key — checked, and the calling app looked up;
3. **rate limit**: the app's rolling window (or a keyless caller's), answered with the
   service's 429;
4. **the route's own checks** (a fan token where one is required, scopes, quota), each a
   small function the service module writes in its own words;
5. the endpoint.

The OAuth pages (authorize, token) are not behind it: faults never touch them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from launchlink.simulator.faults import RateLimit
from launchlink.simulator.http import bearer, form_of, json_response, state_of
from launchlink.simulator.models import AccessToken, SimApp, SimUser
from launchlink.simulator.oauth import OAuthError, TokenResult, token_endpoint
from launchlink.simulator.state import SimulatorState

ErrorEnvelope = Callable[[int, str, int | None], Response]
"""``(status, message, retry_after)`` → that failure in the service's own error form."""
Handler = Callable[[Request], Awaitable[Response]]

NO_TOKEN = "No token provided"  # noqa: S105 - an error message, not a secret
INVALID_TOKEN = "Invalid access token"  # noqa: S105 - an error message, not a secret
EXPIRED_TOKEN = "The access token expired"  # noqa: S105 - an error message, not a secret


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one imitated service spells the failures any of its requests can meet.

    ``error`` renders injected faults and the rate limiter's 429 (it receives the
    ``Retry-After`` the fault plan chose; services that send none ignore it).
    """

    service: str
    error: ErrorEnvelope
    rate_limit_message: str = "API rate limit exceeded"


@dataclass(frozen=True, slots=True)
class Access:
    """Who a request comes from, as its service's credential check found them.

    ``bucket`` is what the rate limit counts (the app's client id, Apple's team, a keyless
    caller's IP) and ``rate`` the limit (``None``: none).
    """

    bucket: str
    rate: RateLimit | None
    app: SimApp | None = None
    token: AccessToken | None = None
    user: SimUser | None = None


Authenticate = Callable[[Request, SimulatorState], "Access | Response"]
C = TypeVar("C")
Check = Callable[[C], "Response | None"]


class ServiceApi(Generic[C]):
    """The request wrapper of one service: ``api(endpoint, *checks)`` is a route handler.

    ``caller`` turns an admitted request into the context the service's endpoints take
    (each module keeps its own, with the helpers its dialect needs); ``checks`` run in
    order after the common steps and the first answer that is not ``None`` is returned.
    """

    def __init__(
        self,
        dialect: Dialect,
        *,
        authenticate: Authenticate,
        caller: Callable[[Request, SimulatorState, Access], C],
    ) -> None:
        self.dialect = dialect
        self._authenticate = authenticate
        self._caller = caller

    def __call__(self, endpoint: Callable[[C], Awaitable[Response]], *checks: Check[C]) -> Handler:
        async def handler(request: Request) -> Response:
            admitted = await self.admit(request)
            if isinstance(admitted, Response):
                return admitted
            caller = self._caller(request, *admitted)
            for check in checks:
                refusal = check(caller)
                if refusal is not None:
                    return refusal
            return await endpoint(caller)

        return handler

    async def admit(self, request: Request) -> tuple[SimulatorState, Access] | Response:
        """Faults → credentials and app → rate limit; the refusal, or who is calling."""
        state = state_of(request)
        failure = await injected_fault(state, self.dialect)
        if failure is not None:
            return failure
        access = self._authenticate(request, state)
        if isinstance(access, Response):
            return access
        service = self.dialect.service
        wait = state.rate_limit_hit(service, access.bucket, access.rate)
        if wait is not None:
            retry_after = state.faults(service).retry_after(wait)
            return self.dialect.error(429, self.dialect.rate_limit_message, retry_after)
        return state, access


async def injected_fault(state: SimulatorState, dialect: Dialect) -> Response | None:
    """The failure the service's fault plan calls for now, or ``None`` (cheap when unset)."""
    plan = state.faults(dialect.service)
    if not plan.active:
        return None
    if plan.latency_ms:
        await asyncio.sleep(plan.latency_ms / 1000)
    if plan.outages and plan.in_outage(state.now()):
        return dialect.error(503, "Service unavailable", None)
    if plan.burst_429 > 0:
        plan.burst_429 -= 1
        return dialect.error(429, dialect.rate_limit_message, plan.retry_after())
    if plan.error_rate and state.random.random() < plan.error_rate:
        return dialect.error(plan.error_status, "Internal server error", None)
    return None


def access_token_of(state: SimulatorState, service: str, raw: str | None) -> AccessToken | str:
    """The live access token ``raw`` of ``service``, or why it is refused (Spotify's words)."""
    if not raw:
        return NO_TOKEN
    token = state.access_tokens.get(raw)
    if token is None or token.service != service:
        return INVALID_TOKEN
    if token.expires_at is not None and token.expires_at <= state.now():
        return EXPIRED_TOKEN
    if token.grant is not None and token.grant.revoked:
        return INVALID_TOKEN
    return token


def token_access(
    service: str,
    *,
    refuse: Callable[[str], Response],
    credential: Callable[[Request], str | None] = bearer,
) -> Authenticate:
    """Authentication by an OAuth access token of ``service``: its app and its fan.

    ``refuse(why)`` renders the 401 (``why`` is one of the ``*_TOKEN`` messages);
    ``credential`` reads the raw token (SoundCloud also takes ``Authorization: OAuth``).
    """

    def authenticate(request: Request, state: SimulatorState) -> Access | Response:
        token = access_token_of(state, service, credential(request))
        if isinstance(token, str):
            return refuse(token)
        app = state.apps[(service, token.client_id)]
        user = state.users.get((service, token.user_id)) if token.user_id else None
        return Access(app.client_id, app.rate_limit, app=app, token=token, user=user)

    return authenticate


class _HasUser(Protocol):
    @property
    def user(self) -> SimUser | None: ...


U = TypeVar("U", bound=_HasUser)


def require_user(refuse: Callable[[], Response]) -> Callable[[U], Response | None]:
    """A route check: the request must carry a fan's token (not only the app's)."""

    def check(caller: U) -> Response | None:
        return refuse() if caller.user is None else None

    return check


def token_route(
    service: str,
    *,
    describe: Callable[[OAuthError], str] | None = None,
    extra: Callable[[SimulatorState, TokenResult], dict[str, object]] | None = None,
) -> Handler:
    """The token endpoint of an OAuth service: RFC 6749 answers and flat errors.

    ``describe`` rewords an error's description (Google's "Token has been expired or
    revoked."); ``extra`` adds fields to a success (TIDAL's ``user_id``).
    """

    async def token(request: Request) -> Response:
        state = state_of(request)
        form = await form_of(request)
        try:
            result = token_endpoint(state, service, form, request.headers.get("authorization"))
        except OAuthError as exc:
            description = describe(exc) if describe is not None else exc.description
            body = {"error": exc.error, "error_description": description}
            return json_response(body, exc.status)
        answer = result.to_json()
        if extra is not None:
            answer.update(extra(state, result))
        return json_response(answer)

    return token
