"""The ASGI application: a lean fan-facing front, with the API and the rest behind it.

Request flow: :class:`Application` → the public smart-link app (raw ASGI, serves
``/{slug}`` and ``/{slug}/{service}`` from in-process caches) → for every other path, the
``fallback`` router: ``/api/v1`` (FastAPI), ``/static``, ``/healthz`` and, in the demo,
the platform simulator at ``/_sim``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from launchlink.api import create_api
from launchlink.bootstrap import (
    build_context,
    build_presave,
    close_context,
    visitor_location,
)
from launchlink.config import Settings, load_settings
from launchlink.context import AppContext
from launchlink.dashboard.kit import PREFIX as DASHBOARD_PREFIX
from launchlink.design.media import artwork_store, media_routes, upload_limit
from launchlink.guards import BodySizeLimit, TrailingSlashRedirect
from launchlink.kit.clock import Clock, SystemClock
from launchlink.kit.crypto import warm_up_password_hashing
from launchlink.kit.useragent import warm_up as warm_up_classifier
from launchlink.links.page_cache import PageCache
from launchlink.links.public import PublicLinkApp, PublicLinkConfig
from launchlink.links.snapshots import CachingSnapshotSource, DatabaseSnapshotSource
from launchlink.links.visitors import VisitorLocation
from launchlink.mail.outbox import Outbox, OutboxPages
from launchlink.messaging.tasks import delivery_worker, email_feedback_for, sms_webhooks_for
from launchlink.ops.middleware import RequestObserver
from launchlink.ops.web import routes as ops_routes
from launchlink.web.static import CachedStaticFiles

if TYPE_CHECKING:
    from launchlink.analytics.tasks import AnalyticsFlusher
    from launchlink.bootstrap import PresaveParts
    from launchlink.demo import DemoSimulatorAligner
    from launchlink.fulfilment.tasks import EmbeddedWorker
    from launchlink.messaging.tasks import DeliveryWorker
    from launchlink.presave.front import PresaveFront
    from launchlink.simulator.state import SimulatorState

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
SIMULATOR_PREFIX = "/_sim"


# Smart links are for everyone, previews included; the API, fans' pre-save flows (forms,
# sign-in callbacks, revoke links) and the development pages are not for crawlers.
ROBOTS_TXT = """\
User-agent: *
Allow: /
Disallow: /api/
Disallow: /presave/
Disallow: /oauth/
Disallow: /revoke/
Disallow: /_sim/
Disallow: /_dev/
"""


async def _robots(_request: Any) -> PlainTextResponse:
    return PlainTextResponse(ROBOTS_TXT, headers={"cache-control": "public, max-age=86400"})


async def _home(_request: Any) -> RedirectResponse:
    # The platform's own root is where an operator lands after `make run`: the dashboard
    # (which sends a fresh instance to sign-up, a signed-out user to log in).
    return RedirectResponse(DASHBOARD_PREFIX + "/", status_code=303)


async def _favicon(_request: Any) -> Response:
    return FileResponse(
        STATIC_DIR / "favicon.ico",
        media_type="image/x-icon",
        headers={"cache-control": "public, max-age=604800"},
    )


class Application:
    """The process-wide ASGI app; owns start-up and shutdown of background pieces."""

    def __init__(self, context: AppContext, front: ASGIApp) -> None:
        self.context = context
        self.front = front
        self.public_caches: PublicCaches | None = None
        self.simulator_state: SimulatorState | None = None
        self.simulator_aligner: DemoSimulatorAligner | None = None
        self.fulfilment_worker: EmbeddedWorker | None = None
        self.messaging: DeliveryWorker | None = None
        self.presave: PresaveParts | None = None
        self.analytics: AnalyticsFlusher | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.front(scope, receive, send)

    async def startup(self) -> None:
        # Build the user-agent matchers now rather than on the first fan's request.
        warm_up_classifier()
        await asyncio.to_thread(warm_up_password_hashing)
        if self.context.link_changes is not None:
            await self.context.link_changes.start()
        if self.simulator_state is not None:
            from launchlink.demo import align_simulator_with_demo

            await align_simulator_with_demo(
                self.simulator_state, self.context.database, self.context.settings
            )

        if self.analytics is not None:
            await self.analytics.start()
        await self._start_fulfilment()
        # Everything built so far lives as long as the process (routes, templates, the
        # classifier's tables, the geo-IP database): moved out of the collector's sight,
        # full collections no longer re-scan it. With analytics capture holding a second
        # of requests in memory they ran often and paused the loop for ~200 ms each
        # (bench/smartlink.py, docs/benchmarks.md). Not in tests: they start many apps
        # in one process, and frozen objects are never freed.
        if self.context.settings.environment != "test":
            gc.collect()
            gc.freeze()

    async def _start_fulfilment(self) -> None:
        # Embedded mode: the worker lives in this process (one worker is enough there:
        # the rate limits, not the engine, bound the pace). Tests build apps without it.
        settings = self.context.settings
        if not settings.embedded_worker or settings.environment == "test":
            return
        from launchlink.fulfilment.tasks import EmbeddedWorker

        self.fulfilment_worker = EmbeddedWorker(self.context)
        await self.fulfilment_worker.start()
        if self.messaging is not None:
            self.messaging.start()

    async def shutdown(self) -> None:
        bus = self.context.link_bus
        for listener in bus.listeners:
            bus.unsubscribe(listener)
        if self.simulator_aligner is not None:
            await self.simulator_aligner.idle()
        if self.messaging is not None:
            # Stopped before the database closes: the round in hand settles first.
            await self.messaging.stop(
                grace_seconds=self.context.settings.ops.shutdown_grace_seconds
            )
        if self.fulfilment_worker is not None:
            await self.fulfilment_worker.stop()
        if self.context.link_changes is not None:
            await self.context.link_changes.stop()
        if self.analytics is not None:
            await self.analytics.stop()  # drains the buffer
        await close_context(self.context)

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


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Application:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    simulator_state = None
    if settings.simulator_embedded:
        from launchlink.demo import embedded_simulator_state

        simulator_state = embedded_simulator_state(settings, clock)
    context = build_context(settings, role="web", clock=clock, simulator_state=simulator_state)
    api = create_api(context)
    routes: list[Any] = [
        *ops_routes(context),
        Route("/", _home, methods=["GET", "HEAD"]),
        Route("/robots.txt", _robots, methods=["GET", "HEAD"]),
        Route("/favicon.ico", _favicon, methods=["GET", "HEAD"]),
        Mount(
            "/static", app=CachedStaticFiles(directory=STATIC_DIR, check_dir=False), name="static"
        ),
        *media_routes(artwork_store(settings.var_dir)),
    ]
    outbox = settings.dev_outbox_dir
    if outbox is not None:
        routes.extend(OutboxPages(Outbox(outbox)).routes())
        _warn_if_public(settings)
    aligner = None
    if simulator_state is not None:
        from launchlink.demo import DemoSimulatorAligner
        from launchlink.simulator.app import create_simulator_app

        routes.append(Mount(SIMULATOR_PREFIX, app=create_simulator_app(simulator_state)))
        # A demo release moved elsewhere (CLI, API) moves the simulated services' too.
        aligner = DemoSimulatorAligner(simulator_state, context.database, settings)
        context.link_bus.subscribe(aligner)
    location = visitor_location(context)
    presave = build_presave(context, location)
    routes.extend(presave.web.routes())
    sms = sms_webhooks_for(context)
    if sms is not None:  # the provider's signed status callbacks and fans' replies
        routes.extend(sms.routes())
    feedback = email_feedback_for(context)
    if feedback is not None:  # bounces and complaints from the bounce mailbox
        routes.extend(feedback.routes())
    from launchlink.dashboard.app import dashboard_routes

    routes.extend(dashboard_routes(context, deliver=presave.web.deliver))
    fallback = TrailingSlashRedirect(Router(routes=routes, default=api, redirect_slashes=False))
    front, caches = _public_front(context, fallback, location, presave=presave.front)
    application = Application(
        context,
        RequestObserver(
            BodySizeLimit(front, max_bytes=settings.max_request_bytes, larger_for=upload_limit),
            access_log=settings.ops.access_log,
        ),
    )
    if settings.analytics.enabled:
        from launchlink.analytics.wiring import analytics_for_app

        front.capture, application.analytics = analytics_for_app(context, location)
        presave.web.capture = front.capture
    application.simulator_state = simulator_state
    application.simulator_aligner = aligner
    application.messaging = delivery_worker(context)
    application.presave = presave
    application.public_caches = caches
    return application


def _warn_if_public(settings: Settings) -> None:
    host = urlsplit(settings.public_url).hostname or ""
    if host not in ("localhost", "127.0.0.1", "::1"):
        logger.warning(
            "LAUNCHLINK_ENVIRONMENT is development on %s: emails without SMTP are kept in "
            "the dev outbox; set LAUNCHLINK_ENVIRONMENT=production for a real deployment",
            settings.public_url,
        )


class PublicCaches:
    """The hot path's per-process caches, dropped entry by entry when links change."""

    def __init__(self, snapshots: CachingSnapshotSource, pages: PageCache) -> None:
        self.snapshots = snapshots
        self.pages = pages

    def links_changed(self, link_ids: Sequence[UUID]) -> None:
        self.snapshots.invalidate(link_ids)
        for link_id in link_ids:
            self.pages.invalidate(link_id)


def _public_front(
    context: AppContext,
    fallback: ASGIApp,
    location: VisitorLocation,
    *,
    presave: PresaveFront | None = None,
) -> tuple[PublicLinkApp, PublicCaches]:
    settings = context.settings
    caches = PublicCaches(
        CachingSnapshotSource(
            DatabaseSnapshotSource(context.database, public_base_url=settings.public_url),
            max_entries=settings.page_cache_size,
        ),
        PageCache(settings.page_cache_size),
    )
    context.link_bus.subscribe(caches)
    front = PublicLinkApp(
        source=caches.snapshots,
        cache=caches.pages,
        country_detector=location.countries,
        territories=location.territories,
        clock=context.clock,
        fallback=fallback,
        config=PublicLinkConfig.from_settings(settings),
        presave=presave,
    )
    return front, caches


def create_default_app() -> Application:
    """Factory for ASGI servers (``granian --factory launchlink.app:create_default_app``)."""
    return create_app()
