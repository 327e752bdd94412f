"""The dashboard application (FastAPI, HTML): mounted at /dashboard by launchlink.app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from launchlink.accounts.people import Mailer
from launchlink.context import AppContext
from launchlink.dashboard.kit import PREFIX, DashboardKit, NeedsLogin
from launchlink.dashboard.pages import router
from launchlink.errors import LaunchlinkError
from launchlink.mail import LoggingMailSender
from launchlink.presave.ratelimit import FormRateLimiter, RateLimited
from launchlink.web.errors import error_response
from launchlink.web.security import CookieJar, Signer

logger = logging.getLogger(__name__)


async def _on_needs_login(request: Request, _error: Exception) -> Response:
    target = request.url.path
    if request.method != "GET":
        target = PREFIX + "/"
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


def create_dashboard(context: AppContext) -> FastAPI:
    settings = context.settings
    secret = settings.resolved_secret_key()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.context = context
    app.state.dashboard = DashboardKit(
        signer=Signer(secret),
        cookies=CookieJar(secure=settings.public_url.startswith("https://")),
        mailer=Mailer(
            sender=context.mail or LoggingMailSender(), base_url=settings.public_url.rstrip("/")
        ),
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
    return app


async def _to_login(_request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/login", status_code=307)


async def _to_home(request: Request) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{PREFIX}/{query}", status_code=307)


def dashboard_routes(context: AppContext) -> list[BaseRoute]:
    """What launchlink.app mounts: the dashboard, and /login as a short way to it."""
    return [
        Route(PREFIX, _to_home, methods=["GET", "HEAD"]),
        Mount(PREFIX, app=create_dashboard(context)),
        Route("/login", _to_login, methods=["GET", "HEAD"]),
    ]
