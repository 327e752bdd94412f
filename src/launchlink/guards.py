"""ASGI guards in front of every request: body size, trailing slashes, static misses.

* :class:`BodySizeLimit` counts the bytes of ``http.request`` messages as they stream in
  (a chunked body has no Content-Length) and answers 413 the moment the limit is passed,
  without buffering anything itself; the app behind it sees the body end there.
* :class:`TrailingSlashRedirect` sends ``/x/`` to ``/x`` with a *relative* Location, so
  nothing from the request's Host header is ever echoed (Starlette's own slash redirects
  build an absolute URL from Host: a cache in front could then serve a redirect to
  ``evil.example`` to everybody).
* :class:`StaticFiles` answers a miss or an odd method with a plain 404/405 instead of
  raising into a router that has no exception handler (which ended as a 500).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles as _StarletteStaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchlink.errors import PayloadTooLarge
from launchlink.kit.urls import URL_SAFE


class _BodyTooLarge(Exception):
    """Raised into the app from ``receive`` once the body passes the limit."""


def _too_large_response(max_bytes: int) -> Response:
    body = {
        "error": {"code": PayloadTooLarge.code, "message": f"request body over {max_bytes} bytes"}
    }
    # Connection: close, because the rest of the body is never read.
    return Response(
        json.dumps(body),
        status_code=PayloadTooLarge.status_code,
        media_type="application/json",
        headers={"connection": "close"},
    )


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` while they stream, with a 413."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        larger_for: Callable[[str], int | None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger_for = larger_for
        """The few paths that take more (an artwork upload): path → their own limit."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        if self.larger_for is not None:
            max_bytes = max(max_bytes, self.larger_for(scope.get("path", "")) or 0)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await _too_large_response(max_bytes)(scope, receive, send)
                return
        received = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refused = True
                    if not started:
                        await _too_large_response(max_bytes)(scope, receive, send)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; whatever the app makes of its cut body is not
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # The app failed because its body was cut off (FastAPI wraps it, a form parser
            # lets it through): already answered. Anything else is the app's own error.
            if not refused:
                raise


class TrailingSlashRedirect:
    """``/x/`` → 308 to ``/x`` (relative, query kept); every other request passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "/")
        if scope["type"] != "http" or len(path) < 2 or not path.endswith("/"):
            await self.app(scope, receive, send)
            return
        # Leading slashes collapse to one: "//evil.example/" must never become a
        # protocol-relative "//evil.example".
        target = quote("/" + path.strip("/"), safe=URL_SAFE)
        query = scope.get("query_string", b"")
        if query:
            target += "?" + quote(query.decode("latin-1"), safe=URL_SAFE)
        response = Response(status_code=308, headers={"location": target})
        await response(scope, receive, send)


class StaticFiles(_StarletteStaticFiles):
    """Starlette's static files, answering misses and odd methods instead of raising."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as error:
            status = 404 if error.status_code == 401 else error.status_code
            text = "method not allowed" if status == 405 else "not found"
            return Response(
                text, status_code=status, headers=error.headers, media_type="text/plain"
            )
