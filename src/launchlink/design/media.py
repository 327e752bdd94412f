"""Serving the artwork we stored: by content-named key, cacheable for a year."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.design.artwork import (
    MAX_UPLOAD_BYTES,
    MEDIA_PREFIX,
    STORED_MEDIA_TYPE,
    ArtworkStore,
)

IMMUTABLE = "public, max-age=31536000, immutable"
_UPLOAD_PATH = re.compile(r"/dashboard/w/[^/]+/campaigns/[^/]+/design/artwork")
UPLOAD_OVERHEAD = 16_384
"""Room for the multipart envelope and the form's other fields around the file."""


def upload_limit(path: str) -> int | None:
    """The request size an artwork upload may have (the body limit's one exception)."""
    return MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD if _UPLOAD_PATH.fullmatch(path) else None


def media_routes(store: ArtworkStore) -> list[Route]:
    async def artwork(request: Request) -> Response:
        key = request.path_params["key"]
        path = store.path(key)
        if path is None:
            return Response(b"", status_code=404, headers={"cache-control": "no-store"})
        etag = '"' + key.partition(".")[0] + '"'
        headers = {
            "cache-control": IMMUTABLE,
            "etag": etag,
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'",
            "cross-origin-resource-policy": "cross-origin",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        body = b"" if request.method == "HEAD" else path.read_bytes()
        response = Response(body, media_type=STORED_MEDIA_TYPE, headers=headers)
        if request.method == "HEAD":
            response.headers["content-length"] = str(path.stat().st_size)
        return response

    return [Route(MEDIA_PREFIX + "{key}", artwork, methods=["GET", "HEAD"])]


def artwork_store(var_dir: Path) -> ArtworkStore:
    """Where this instance keeps uploaded artwork (beside its database, under var_dir)."""
    return ArtworkStore(var_dir / "artwork")
