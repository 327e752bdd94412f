"""Start-up wiring of the pre-save pieces (called from ``launchlink.app``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from launchlink.config import Settings
from launchlink.context import AppContext
from launchlink.i18n import Catalogues
from launchlink.kit.crypto import TokenCipher
from launchlink.links.phase import ReleaseZones
from launchlink.links.snapshot import SnapshotSource
from launchlink.links.visitors import VisitorLocation
from launchlink.mail import LoggingMailSender, mail_sender_from
from launchlink.presave.front import PresaveFront
from launchlink.presave.i18n import PresaveTranslations
from launchlink.presave.modes import ConnectorMap, RegistrySource
from launchlink.presave.page import PresavePages
from launchlink.presave.reminders import LinkLocator, ReminderLoop, ReminderSender
from launchlink.presave.service import PresaveKit
from launchlink.presave.web import CALLBACK_PATH, PresaveWeb
from launchlink.web.security import Signer


def simulator_transport(settings: Settings, state: Any) -> httpx.AsyncBaseTransport:
    """Register the connectors' demo apps (calling back to us) in the embedded simulator and
    return an in-process transport to it, so connectors never leave the process."""
    from starlette.routing import Mount, Router

    from launchlink.connectors.simulator_profile import register_demo_apps
    from launchlink.simulator.app import create_simulator_app
    from launchlink.simulator.demo import demo_apple_public_key_pem

    register_demo_apps(
        state,
        redirect_uris=[settings.public_url + CALLBACK_PATH],
        apple_public_key_pem=demo_apple_public_key_pem(),
    )
    app = create_simulator_app(state)
    return httpx.ASGITransport(app=Router(routes=[Mount("/_sim", app=app)]))


def connectors_for(
    settings: Settings, clock: Any, transport: httpx.AsyncBaseTransport | None
) -> RegistrySource:
    from launchlink.connectors.registry import ConnectorRegistry

    apple_pem = None
    if settings.connectors_use_simulator:
        from launchlink.simulator.demo import demo_apple_private_key_pem

        apple_pem = demo_apple_private_key_pem()
    registry = ConnectorRegistry(
        settings.resolved_connectors(apple_private_key_pem=apple_pem),
        clock=clock,
        transport=transport,
    )
    return RegistrySource(registry)


def fill_context(context: AppContext, transport: httpx.AsyncBaseTransport | None) -> None:
    settings = context.settings
    context.cipher = context.cipher or TokenCipher(settings.resolved_encryption_keys())
    context.mail = context.mail or mail_sender_from(
        settings.resolved_mail,
        outbox=settings.dev_outbox_dir,
        page_url=settings.public_url + "/_dev/mail",
    )
    if context.connectors is None:
        context.connectors = connectors_for(settings, context.clock, transport)


def build_presave(
    context: AppContext,
    *,
    source: SnapshotSource,
    territories: ReleaseZones,
    country_detector: Any,
    catalogues: Catalogues | None = None,
) -> tuple[PresaveFront, PresaveWeb]:
    settings = context.settings
    assert context.cipher is not None
    secret = settings.resolved_secret_key()
    kit = PresaveKit(
        cipher=context.cipher,
        signer=Signer(secret),
        connectors=context.connectors or ConnectorMap(),
        clock=context.clock,
        secret_key=secret,
        territories=territories,
    )
    pages = PresavePages(PresaveTranslations(catalogues or Catalogues.load()))
    front = PresaveFront(
        database=context.database,
        kit=kit,
        pages=pages,
        secure_cookies=settings.public_url.startswith("https://"),
    )
    apple_authorize = None
    if settings.connectors_use_simulator:
        from launchlink.simulator.urls import SimulatorUrls

        apple_authorize = SimulatorUrls(settings.simulator_url).apple_authorize
    web = PresaveWeb(
        front=front,
        source=source,
        database=context.database,
        mail=context.mail or LoggingMailSender(),
        countries=country_detector,
        public_url=settings.public_url,
        apple_authorize_url=apple_authorize,
        platform_host=(urlsplit(settings.public_url).hostname or "").lower(),
        trusted_proxies=settings.trusted_proxies,
    )
    return front, web


def presave_for_app(
    context: AppContext,
    *,
    simulator_state: Any | None,
    location: VisitorLocation | None = None,
) -> tuple[PresaveFront, PresaveWeb]:
    """Everything the app needs for pre-save: context services, the page, the routes.

    ``location`` is the process's shared visitor location (the smart-link front's); built
    from settings when absent (a worker process without the front).
    """
    from launchlink.links.snapshots import DatabaseSnapshotSource

    settings = context.settings
    transport = None
    if simulator_state is not None and settings.connectors_use_simulator:
        transport = simulator_transport(settings, simulator_state)
    fill_context(context, transport)
    location = location or VisitorLocation.from_settings(settings)
    # Release moves re-plan with the very table the pre-saves were planned with.
    context.territories = location.territories
    return build_presave(
        context,
        source=DatabaseSnapshotSource(context.database, public_base_url=settings.public_url),
        territories=location.territories,
        country_detector=location.countries,
    )


def reminder_sender_for(context: AppContext, web: PresaveWeb) -> ReminderSender:
    """The release-day reminder sender, sharing the pre-save routes' kit, pages and mail."""
    return ReminderSender(
        database=context.database,
        kit=web.kit,
        pages=web.pages,
        mail=web.mail,
        source=web.source,
        links=LinkLocator(context.database),
        public_url=context.settings.public_url,
    )


def standalone_reminder_loop(settings: Settings, database: Any, clock: Any) -> ReminderLoop:
    """The reminder loop for a ``launchlink worker`` process (no web app around it)."""
    context = AppContext(settings=settings, database=database, clock=clock)
    _front, web = presave_for_app(context, simulator_state=None)
    return ReminderLoop(reminder_sender_for(context, web))
