"""Static files served from the package, with URLs that change when the file does.

Templates link ``/static/web/dashboard.css?v=<hash>``; a versioned URL is cached for a
year (``immutable``), so a deploy with a changed file is fetched fresh and an unchanged
one never again. Unversioned requests revalidate.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.responses import Response
from starlette.types import Scope

from launchlink.guards import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"


@cache
def _version(relative: str) -> str:
    return hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:12]


def static_url(relative: str) -> str:
    """The URL of ``static/<relative>``, versioned by its content."""
    return f"{STATIC_PREFIX}/{relative}?v={_version(relative)}"


class CachedStaticFiles(StaticFiles):
    """The package's static files with cache headers (versioned: a year; else revalidate)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["cache-control"] = IMMUTABLE if versioned else REVALIDATE
            response.headers["x-content-type-options"] = "nosniff"
        return response
