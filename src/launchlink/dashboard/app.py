"""The dashboard application (FastAPI, HTML): mounted at /dashboard by launchlink.app."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from launchlink.context import AppContext
from launchlink.dashboard.design import router as design_router
from launchlink.dashboard.kit import PREFIX, DashboardKit, NeedsLogin
from launchlink.dashboard.messaging import router as messaging_router
from launchlink.dashboard.pages import router
from launchlink.dashboard.release import router as release_router
from launchlink.dashboard.settings_pages import router as settings_router
from launchlink.dashboard.workspace_settings import router as workspace_settings_router
from launchlink.errors import LaunchlinkError
from launchlink.presave.ratelimit import FormRateLimiter, RateLimited
from launchlink.web.errors import error_response
from launchlink.web.security import CookieJar, Signer

logger = logging.getLogger(__name__)


async def _on_needs_login(request: Request, _error: Exception) -> Response:
    target = request.url.path
    if request.method != "GET":
        target = PREFIX
    url = f"{PREFIX}/login?next={target}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"hx-redirect": url})
    return RedirectResponse(url, status_code=303)


async def _on_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LaunchlinkError)
    response = error_response(request, error.status_code, error.message, code=error.code, html=True)
    if isinstance(error, RateLimited):
        response.headers["retry-after"] = str(error.retry_after)
    return response


async def _on_invalid(request: Request, _error: Exception) -> Response:
    # Only path parameters are validated by FastAPI here (forms are read by the pages):
    # an id that is not a UUID names nothing.
    return error_response(request, 404, "there is nothing at this address", html=True)


async def _on_http(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    messages = {
        404: "there is nothing at this address",
        405: "this page does not take that request",
    }
    return error_response(
        request, error.status_code, messages.get(error.status_code, str(error.detail)), html=True
    )


async def _on_unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unhandled error in the dashboard", exc_info=error)
    return error_response(
        request, 500, "something went wrong on our side; it has been logged", html=True
    )


def create_dashboard(
    context: AppContext, *, deliver: Callable[[], Awaitable[None]] | None = None
) -> FastAPI:
    """``deliver``: the web process's outbox fast path (``bootstrap.fast_delivery``), run
    after a commit that emitted an email, so the email has left when the page answers."""
    settings = context.settings
    secret = settings.resolved_secret_key()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.context = context
    app.state.dashboard = DashboardKit(
        signer=Signer(secret),
        cookies=CookieJar(secure=settings.public_url.startswith("https://")),
        cipher=context.require_presave().cipher,
        deliver=deliver or _nothing_to_deliver,
        limiter=FormRateLimiter(context.database, context.clock, secret),
        open_sign_up=settings.open_sign_up,
        trusted_proxies=tuple(settings.trusted_proxies),
    )
    app.add_exception_handler(NeedsLogin, _on_needs_login)
    app.add_exception_handler(LaunchlinkError, _on_error)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
    app.include_router(router)
    app.include_router(settings_router)
    app.include_router(design_router)
    app.include_router(release_router)
    app.include_router(messaging_router)
    app.include_router(workspace_settings_router)
    return app


async def _nothing_to_deliver() -> None:
    """Without a fast path the dispatchers deliver on their next tick."""


async def _to_login(_request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/login", status_code=307)


class _Home:
    """``/dashboard`` itself (the front redirects ``/dashboard/`` here): the dashboard's
    own ``/`` route, as if reached through the mount."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        await self.app(
            {**scope, "path": root + PREFIX + "/", "root_path": root + PREFIX}, receive, send
        )


def dashboard_routes(
    context: AppContext, *, deliver: Callable[[], Awaitable[None]] | None = None
) -> list[BaseRoute]:
    """What launchlink.app mounts: the dashboard, and /login as a short way to it."""
    dashboard = create_dashboard(context, deliver=deliver)
    return [
        Route(PREFIX, _Home(dashboard), methods=["GET", "HEAD"]),
        Mount(PREFIX, app=dashboard),
        Route("/login", _to_login, methods=["GET", "HEAD"]),
    ]
