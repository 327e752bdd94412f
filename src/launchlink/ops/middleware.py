"""The outermost ASGI layer: a request id for every request, and its metrics.

Kept to a few microseconds because it wraps the smart-link hot path too: no parsing
beyond one header, no logging unless ``ops.access_log`` is on.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchlink.ops import metrics
from launchlink.ops.logs import request_id

logger = logging.getLogger("launchlink.access")

# A proxy's id is kept when it looks like one (uuid, hex, base64url, ...); anything else
# (too long, spaces, control characters that would forge log lines) gets a fresh id.
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:+/=-]{8,128}$")
_HEADER = b"x-request-id"


def new_request_id() -> str:
    return secrets.token_hex(16)


def incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            if _SANE_ID.match(value):
                return bytes(value).decode("ascii")
            break
    return new_request_id()


class RequestObserver:
    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        header = (_HEADER, rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = metrics.route_class(scope["path"])
            metrics.observe_request(route, status, elapsed)
            if self.access_log:
                logger.info(
                    "%s %s %d",
                    scope["method"],
                    route,
                    status,
                    extra={"duration_ms": round(elapsed * 1000, 3), "status": status},
                )
            request_id.reset(token)
