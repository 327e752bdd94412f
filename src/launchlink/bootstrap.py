"""The one place that builds a process's :class:`AppContext`: web, worker and CLI alike.

Every process gets the same pieces, built the same way from ``Settings``: the database,
the clock, one :class:`ConnectorRegistry`, the token cipher, the mail sender, the territory
table, the pre-save kit, the event subscribers (each package registers its own) and an
outbox dispatcher delivering to them. What differs per process is only what it starts:
``launchlink serve`` runs the web app (and, embedded, the worker pieces), ``launchlink
worker`` runs fulfilment, the outbox and reminders without any web piece, and CLI
commands use the context and close it.

Nothing here starts a task or touches the database: building is cheap and synchronous,
so ``create_app`` can call it before the server's lifespan begins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import httpx

from launchlink.config import Settings
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.context import AppContext
from launchlink.db import Database
from launchlink.events import Subscriptions
from launchlink.i18n import Catalogues
from launchlink.kit.clock import Clock, SystemClock
from launchlink.kit.crypto import TokenCipher
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.links.changes import attach as attach_link_bus
from launchlink.links.invalidation import LinkChangeFeed
from launchlink.links.snapshots import DatabaseSnapshotSource
from launchlink.links.visitors import VisitorLocation
from launchlink.mail import mail_sender_from
from launchlink.outbox.dispatcher import OutboxDispatcher
from launchlink.presave.i18n import PresaveTranslations
from launchlink.presave.modes import RegistrySource
from launchlink.presave.page import PresavePages
from launchlink.presave.service import PresaveKit
from launchlink.web.security import Signer

if TYPE_CHECKING:
    from launchlink.presave.front import PresaveFront
    from launchlink.presave.web import PresaveWeb
    from launchlink.simulator.state import SimulatorState

logger = logging.getLogger(__name__)

Role = Literal["web", "worker", "cli"]
"""``web``: serves requests (and runs the embedded worker pieces); ``worker``: fulfilment,
the outbox and reminders only; ``cli``: one command, then close."""


def build_context(
    settings: Settings,
    *,
    role: Role = "web",
    clock: Clock | None = None,
    database: Database | None = None,
    simulator_state: SimulatorState | None = None,
    registry: ConnectorRegistry | None = None,
) -> AppContext:
    """The complete context of one process (see the module docstring).

    ``simulator_state`` (the demo's embedded simulator) makes the connectors reach it
    in-process; ``registry`` replaces the one built from settings (tests).
    """
    database = database or Database.from_settings(settings)
    clock = clock or SystemClock()
    context = AppContext(settings=settings, database=database, clock=clock)
    # This application's own bus: its commits that touch links drop its caches at once.
    attach_link_bus(database, context.link_bus)
    if role == "web":
        context.link_changes = LinkChangeFeed(
            database, clock, context.link_bus, poll_seconds=settings.cache_poll_seconds
        )
    context.cipher = TokenCipher(settings.resolved_encryption_keys())
    context.mail = mail_sender_from(
        settings.resolved_mail,
        outbox=settings.dev_outbox_dir,
        page_url=settings.public_url + "/_dev/mail",
    )
    transport = None
    if simulator_state is not None and settings.connectors_use_simulator:
        transport = simulator_transport(settings, simulator_state)
    context.registry = registry or connector_registry(
        settings, clock, transport=transport, fulfilment_only=role == "worker"
    )
    connectors = RegistrySource(context.registry)
    context.connectors = connectors
    from launchlink.integrations.apps import WorkspaceApps

    # A label's own service apps, swapped in for its workspace (integrations/apps.py).
    context.apps = WorkspaceApps.over(
        connectors, database=database, cipher=context.cipher, clock=clock
    )
    # Pre-saves are planned, re-planned and fulfilled with this one table.
    context.territories = TerritoryTimeZones.load(settings.territory_timezones_file)
    secret = settings.resolved_secret_key()
    context.presave = PresaveKit(
        cipher=context.cipher,
        signer=Signer(secret),
        connectors=context.connectors,
        clock=clock,
        secret_key=secret,
        territories=context.territories,
        apps=context.apps,
    )
    context.subscriptions = Subscriptions()
    register_subscribers(context)
    context.outbox = OutboxDispatcher(
        database, clock, context.subscriptions, settings=settings.outbox
    )
    return context


def register_subscribers(context: AppContext) -> None:
    """Every package that reacts to events registers its subscribers here, once."""
    from launchlink.messaging import subscribers as messaging

    messaging.register(context.subscriptions, context)
    from launchlink.integrations import delivery

    if context.cipher is not None:
        delivery.register(
            context.subscriptions,
            delivery.WebhookSender(
                database=context.database,
                cipher=context.cipher,
                clock=context.clock,
                # Off by default: self-hosted setups opt in to private receivers.
                allow_private=context.settings.webhooks_allow_private_targets,
            ),
        )
    if context.settings.analytics.enabled:
        from launchlink.analytics import subscribers as analytics

        analytics.register(context.subscriptions)


def fast_delivery(context: AppContext) -> Callable[[], Awaitable[None]]:
    """One outbox tick, awaited right after a commit that emitted (the web process's fast
    path: the fan's email leaves before the page answers, as quickly as when it was sent
    in-line). It never fails the request: the events are committed rows, and whichever
    dispatcher runs next (this process's, a worker's) delivers what this tick did not."""

    async def deliver() -> None:
        outbox = context.outbox
        if outbox is None:
            return
        try:
            await asyncio.wait_for(
                outbox.run_once(), timeout=context.settings.outbox.effect_timeout_seconds + 5
            )
        except Exception:
            logger.exception("outbox: delivering after commit failed; dispatchers will retry")

    return deliver


def connector_registry(
    settings: Settings,
    clock: Clock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    fulfilment_only: bool = False,
) -> ConnectorRegistry:
    """The process's one registry: the configured services, or the simulator's demo apps.

    A worker process only fulfils: its connectors make no transient retries of their own,
    because the engine retries through its rate limiter, so every request counts against
    the service's ceiling. A web process keeps them for fans' sign-ins (and its embedded
    worker shares them: at embedded scale the ceiling is far away).
    """
    connectors = settings.resolved_connectors()
    if fulfilment_only:
        from launchlink.fulfilment.service import engine_connectors

        connectors = engine_connectors(connectors)
    return ConnectorRegistry(connectors, clock=clock, transport=transport)


def simulator_transport(settings: Settings, state: SimulatorState) -> httpx.AsyncBaseTransport:
    """Register the connectors' demo apps (calling back to us) in the embedded simulator and
    return an in-process transport to it, so connectors never leave the process."""
    from starlette.routing import Mount, Router

    from launchlink.presave.web import CALLBACK_PATH
    from launchlink.simulator.app import create_simulator_app
    from launchlink.simulator.demo import demo_apple_public_key_pem
    from launchlink.simulator.profile import register_demo_apps

    register_demo_apps(
        state,
        redirect_uris=[settings.public_url + CALLBACK_PATH],
        apple_public_key_pem=demo_apple_public_key_pem(),
    )
    app = create_simulator_app(state)
    return httpx.ASGITransport(app=Router(routes=[Mount("/_sim", app=app)]))


# -- the web process's pieces -----------------------------------------------------------------


@dataclass(frozen=True)
class PresaveParts:
    front: PresaveFront
    """The campaign page the hot path hands human visitors to during the pre-save phase."""
    web: PresaveWeb
    """The fan-facing routes under /presave and /revoke."""


def presave_pages(catalogues: Catalogues | None = None) -> PresavePages:
    return PresavePages(PresaveTranslations(catalogues or Catalogues.load()))


def build_presave(
    context: AppContext, location: VisitorLocation, *, catalogues: Catalogues | None = None
) -> PresaveParts:
    """The pre-save page and routes of a web process, on the context's kit and mail."""
    # Imported here: a worker process never loads the web pieces.
    from launchlink.design.media import artwork_store
    from launchlink.presave.front import PresaveFront
    from launchlink.presave.web import PresaveWeb

    settings = context.settings
    kit = context.require_presave()
    front = PresaveFront(
        database=context.database,
        kit=kit,
        pages=presave_pages(catalogues),
        secure_cookies=settings.public_url.startswith("https://"),
    )
    apple_authorize = None
    if settings.connectors_use_simulator:
        from launchlink.simulator.urls import SimulatorUrls

        apple_authorize = SimulatorUrls(settings.simulator_url).apple_authorize
    web = PresaveWeb(
        front=front,
        source=DatabaseSnapshotSource(context.database, public_base_url=settings.public_url),
        database=context.database,
        countries=location.countries,
        public_url=settings.public_url,
        apple_authorize_url=apple_authorize,
        platform_host=(urlsplit(settings.public_url).hostname or "").lower(),
        trusted_proxies=settings.trusted_proxies,
        deliver=fast_delivery(context),
        artwork=artwork_store(settings.var_dir),
    )
    return PresaveParts(front=front, web=web)


def visitor_location(context: AppContext) -> VisitorLocation:
    """Where visitors are, on the context's territory table (loaded once per process)."""
    return VisitorLocation.from_settings(context.settings, territories=context.territories)


async def close_context(context: AppContext) -> None:
    """Close what :func:`build_context` opened (connections, connector clients)."""
    if context.apps is not None:
        await context.apps.aclose()
    if context.registry is not None:
        await context.registry.aclose()
    await context.database.dispose()
