"""The operations endpoints, mounted by ``app.py`` from :func:`routes`.

* ``GET /healthz`` — alive (liveness probe);
* ``GET /readyz`` — ready for traffic (readiness probe), see :mod:`launchlink.ops.health`;
* ``GET /metrics`` — Prometheus text format (``ops.metrics_token`` guards it when set);
* ``GET /_internal/tls-allowed?domain=`` — the TLS proxy's question before it asks a CA
  for a certificate (Caddy's on-demand ``ask``): 200 for this instance's own host and for
  custom domains whose ownership was proven, 404 otherwise.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from launchlink.context import AppContext
from launchlink.links.repository import CustomDomainRepository
from launchlink.links.schemas import parse_hostname
from launchlink.ops import metrics
from launchlink.ops.health import HEALTH_JSON, queue_depths, readiness

_NO_STORE = {"cache-control": "no-store"}


def routes(context: AppContext) -> list[Route]:
    async def healthz(_request: Request) -> Response:
        return Response(b'{"status":"pass"}', media_type=HEALTH_JSON, headers=_NO_STORE)

    async def readyz(_request: Request) -> Response:
        report = await readiness(context)
        return Response(
            report.body(),
            status_code=503 if report.status == "fail" else 200,
            media_type=HEALTH_JSON,
            headers=_NO_STORE,
        )

    async def metrics_endpoint(request: Request) -> Response:
        token = context.settings.ops.metrics_token
        if token is not None and not _bearer_matches(request, token.get_secret_value()):
            return PlainTextResponse(
                "a bearer token is required (LAUNCHLINK_OPS__METRICS_TOKEN)",
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        extra: list[Any] = [metrics.frozen_objects()]
        try:
            extra.append(await queue_depths(context))
        except Exception:
            # The process's own counters still help while the database is down.
            metrics.scrape_failed()
        return Response(
            metrics.exposition(extra), media_type=metrics.CONTENT_TYPE_LATEST, headers=_NO_STORE
        )

    async def tls_allowed(request: Request) -> Response:
        raw = request.query_params.get("domain", "")
        if not raw:
            return _error(400, "missing ?domain=")
        try:
            hostname = parse_hostname(raw)
        except ValueError as error:
            return _error(400, str(error))
        if hostname == (urlsplit(context.settings.public_url).hostname or "").lower():
            return _error(200, "this instance's own host", ok=True)
        async with context.database.sessionmaker() as session:
            found = await CustomDomainRepository(session).get_by_hostname(hostname)
        if found is None:
            return _error(404, f"{hostname} is not a verified custom domain")
        return _error(200, "verified custom domain", ok=True)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/_internal/tls-allowed", tls_allowed, methods=["GET"]),
    ]


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _error(status: int, message: str, *, ok: bool = False) -> JSONResponse:
    body = {"allowed": True, "reason": message} if ok else {"error": {"message": message}}
    return JSONResponse(body, status_code=status, headers=_NO_STORE)
