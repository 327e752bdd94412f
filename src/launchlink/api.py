"""The JSON API (FastAPI) under /api/v1: routers of every domain, one error shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from launchlink.autofill.endpoints import router as autofill_router
from launchlink.catalog.endpoints import router as catalog_router
from launchlink.context import AppContext
from launchlink.errors import LaunchlinkError, PayloadTooLarge
from launchlink.fulfilment.endpoints import router as fulfilment_router
from launchlink.links.endpoints import router as links_router
from launchlink.platforms.endpoints import router as services_router
from launchlink.presave.endpoints import router as presave_router

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1_000_000


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


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
    return _error(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail))


async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error in the API", exc_info=error)
    return _error(500, "internal_error", "something went wrong on our side; it has been logged")


class BodySizeLimit:
    """Refuse oversize bodies before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                response = _error(
                    413, PayloadTooLarge.code, f"request body over {self.max_bytes} bytes"
                )
                await response(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


def create_api(context: AppContext) -> FastAPI:
    api = FastAPI(
        title="launchlink API",
        version="1",
        description="Releases, links and campaigns of one workspace. Authenticate with "
        "`Authorization: Bearer <API key>`; every key belongs to exactly one workspace.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    api.state.context = context
    api.add_exception_handler(LaunchlinkError, _on_launchlink_error)
    api.add_exception_handler(RequestValidationError, _on_validation_error)
    api.add_exception_handler(StarletteHTTPException, _on_http_error)
    api.add_exception_handler(Exception, _on_unexpected)
    api.include_router(catalog_router, prefix=API_PREFIX)
    api.include_router(links_router, prefix=API_PREFIX)
    api.include_router(presave_router, prefix=API_PREFIX)
    api.include_router(autofill_router, prefix=API_PREFIX)
    api.include_router(fulfilment_router, prefix=API_PREFIX)
    api.include_router(services_router, prefix=API_PREFIX)
    api.add_middleware(BodySizeLimit)
    return api
