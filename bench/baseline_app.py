"""The smallest useful ASGI app: the ceiling the smart-link hot path is measured against."""

from __future__ import annotations

from typing import Any

BODY = b"<!doctype html><title>hello</title><p>hello"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
