"""The ASGI application: a lean fan-facing front, with the API and the rest behind it.

Request flow: :class:`Application` → the public smart-link app (raw ASGI, serves
``/{slug}`` and ``/{slug}/{service}`` from in-process caches) → for every other path, the
``fallback`` router: ``/api/v1`` (FastAPI), ``/static``, ``/healthz`` and, in the demo,
the platform simulator at ``/_sim``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from launchlink.api import create_api
from launchlink.config import Settings, load_settings
from launchlink.context import AppContext
from launchlink.db import Database
from launchlink.kit.clock import Clock, SystemClock
from launchlink.links.changes import bus
from launchlink.links.invalidation import LinkChangeFeed

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
SIMULATOR_PREFIX = "/_sim"


async def _healthz(_request: Any) -> PlainTextResponse:
    return PlainTextResponse("ok")


class Application:
    """The process-wide ASGI app; owns start-up and shutdown of background pieces."""

    def __init__(self, context: AppContext, front: ASGIApp) -> None:
        self.context = context
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.front(scope, receive, send)

    async def startup(self) -> None:
        if self.context.link_changes is not None:
            await self.context.link_changes.start()

    async def shutdown(self) -> None:
        if self.context.link_changes is not None:
            await self.context.link_changes.stop()
        await self.context.database.dispose()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_context(settings: Settings, *, clock: Clock | None = None) -> AppContext:
    database = Database(settings.resolved_database_url)
    clock = clock or SystemClock()
    context = AppContext(settings=settings, database=database, clock=clock)
    context.link_changes = LinkChangeFeed(database, clock, poll_seconds=settings.cache_poll_seconds)
    return context


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Application:
    settings = settings or load_settings()
    context = build_context(settings, clock=clock)
    api = create_api(context)
    routes: list[Any] = [
        Route("/healthz", _healthz, methods=["GET", "HEAD"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
    if settings.simulator_embedded:
        from launchlink.simulator.app import create_simulator_app

        routes.append(Mount(SIMULATOR_PREFIX, app=create_simulator_app()))
    fallback = Router(routes=routes, default=api)
    front = _public_front(context, fallback)
    return Application(context, front)


def _public_front(context: AppContext, fallback: ASGIApp) -> ASGIApp:
    # Wired to the smart-link app in the next step; until then everything falls through.
    del context
    _ = bus
    return fallback


def create_default_app() -> Application:
    """Factory for ASGI servers (``granian --factory launchlink.app:create_default_app``)."""
    return create_app()
