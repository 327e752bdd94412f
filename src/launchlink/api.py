"""The JSON API (FastAPI) under /api/v1: routers of every domain, one error shape."""

from __future__ import annotations

import logging
import typing
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from launchlink.analytics.endpoints import router as analytics_router
from launchlink.autofill.endpoints import router as autofill_router
from launchlink.catalog.endpoints import router as catalog_router
from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal
from launchlink.errors import LaunchlinkError
from launchlink.fulfilment.endpoints import router as fulfilment_router
from launchlink.links.endpoints import router as links_router
from launchlink.messaging.endpoints import router as messaging_router
from launchlink.platforms.endpoints import router as services_router
from launchlink.presave.endpoints import router as presave_router
from launchlink.web.errors import error_response, wants_html

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
BEARER_SCHEME = "bearerAuth"
DOCS_PAGE = Path(__file__).parent / "static" / "api-docs" / "index.html"
# The dependency behind every API-key-protected operation.
_API_KEY_DEPENDENCY = typing.get_args(CurrentPrincipal)[1].dependency


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return JSONResponse({"error": error}, status_code=status)


def _field_of(location: tuple[Any, ...]) -> str | None:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def _on_launchlink_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, LaunchlinkError)
    return _error(error.status_code, error.code, error.message, error.field)


async def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    field = _field_of(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if field:
        message = f"{field}: {message}"
    return _error(422, "invalid_request", message, field)


def _unparsable_body(cause: BaseException | None) -> str:
    # FastAPI wraps every body-parsing failure but bad JSON syntax into one vague 400.
    if isinstance(cause, RecursionError):
        return "the JSON body is nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    return "the request body could not be read as JSON"


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if wants_html(request):
        # A browser that lost its way outside /api gets a page, not a JSON document.
        return error_response(request, error.status_code, str(error.detail))
    codes = {
        400: "bad_request",
        401: "unauthenticated",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }
    message = str(error.detail)
    if error.status_code == 400 and error.__cause__ is not None:
        message = _unparsable_body(error.__cause__)
    response = _error(error.status_code, codes.get(error.status_code, "http_error"), message)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _on_recursion(_request: Request, error: Exception) -> JSONResponse:
    # Endpoints that parse their body themselves (POST /releases picks its model from the
    # query) meet deeply nested JSON as a bare RecursionError from the JSON decoder.
    logger.info("refused a request: %s", error)
    return _error(400, "bad_request", _unparsable_body(RecursionError()))


async def _on_unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unhandled error in the API", exc_info=error)
    message = "something went wrong on our side; it has been logged"
    if wants_html(request):
        return error_response(request, 500, message)
    return _error(500, "internal_error", message)


def _uses_api_key(dependant: Dependant) -> bool:
    return any(
        dependency.call is _API_KEY_DEPENDENCY or _uses_api_key(dependency)
        for dependency in dependant.dependencies
    )


ROUTERS: tuple[APIRouter, ...] = (
    catalog_router,
    links_router,
    presave_router,
    autofill_router,
    fulfilment_router,
    services_router,
    analytics_router,
    messaging_router,
)


def _declare_bearer_security(api: FastAPI) -> None:
    """Add the API-key scheme to the OpenAPI document and mark the operations needing it
    (found from their dependencies, so a new endpoint cannot be forgotten)."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        schema = generate()
        schema.setdefault("components", {})["securitySchemes"] = {
            BEARER_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "API key",
                "description": "An API key of one workspace (`launchlink create-api-key`), "
                "sent as `Authorization: Bearer <key>`.",
            }
        }
        keyed = (
            route
            for router in ROUTERS
            for route in router.routes
            if isinstance(route, APIRoute) and _uses_api_key(route.dependant)
        )
        for route in keyed:
            for method in route.methods or ():
                operation = schema["paths"][API_PREFIX + route.path_format][method.lower()]
                operation["security"] = [{BEARER_SCHEME: []}]
                operation.setdefault("responses", {}).setdefault(
                    "401", {"description": "No API key, or one this instance does not know."}
                )
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]


async def _docs_page(_request: Request) -> HTMLResponse:
    # Rendered in the browser from openapi.json by /static/api-docs/ (no CDN: works offline).
    return HTMLResponse(
        DOCS_PAGE.read_text(encoding="utf-8"),
        headers={
            "content-security-policy": "default-src 'none'; script-src 'self'; "
            "style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'",
            "cache-control": "no-cache",
        },
    )


def create_api(context: AppContext) -> FastAPI:
    api = FastAPI(
        title="launchlink API",
        version="1",
        description="Releases, links and campaigns of one workspace. Authenticate with "
        "`Authorization: Bearer <API key>`; every key belongs to exactly one workspace.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN; ours is served here
        redoc_url=None,
        # Slash redirects are made in front of the API, relative, never from Host.
        redirect_slashes=False,
    )
    api.state.context = context
    api.add_exception_handler(LaunchlinkError, _on_launchlink_error)
    api.add_exception_handler(RequestValidationError, _on_validation_error)
    api.add_exception_handler(StarletteHTTPException, _on_http_error)
    api.add_exception_handler(RecursionError, _on_recursion)
    api.add_exception_handler(Exception, _on_unexpected)
    for router in ROUTERS:
        api.include_router(router, prefix=API_PREFIX)
    api.add_api_route(f"{API_PREFIX}/docs", _docs_page, methods=["GET"], include_in_schema=False)
    _declare_bearer_security(api)
    return api
