"""Everything a request or task needs, built once per process (launchlink.bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.events import Subscriptions
from launchlink.kit.clock import Clock, SystemClock
from launchlink.links.changes import LinkChangeBus

if TYPE_CHECKING:
    from launchlink.connectors.registry import ConnectorRegistry
    from launchlink.integrations.apps import WorkspaceApps
    from launchlink.kit.crypto import TokenCipher
    from launchlink.kit.territories import TerritoryTimeZones
    from launchlink.links.domains import OwnershipProver
    from launchlink.links.invalidation import LinkChangeFeed
    from launchlink.mail.port import MailSender
    from launchlink.outbox.dispatcher import OutboxDispatcher
    from launchlink.presave.modes import ConnectorSource
    from launchlink.presave.service import PresaveKit


@dataclass
class AppContext:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    link_bus: LinkChangeBus = field(default_factory=LinkChangeBus)
    """This application's in-process bus of committed link changes (links/changes.py)."""
    link_changes: LinkChangeFeed | None = None
    """Polls the change log for other processes' changes and publishes them on the bus."""
    registry: ConnectorRegistry | None = None
    """The process's one connector registry (``connectors`` adapts it)."""
    connectors: ConnectorSource | None = None
    """Streaming-service connectors by service key (see launchlink.connectors)."""
    apps: WorkspaceApps | None = None
    """Workspaces' own service apps over ``registry`` (integrations/apps.py)."""
    cipher: TokenCipher | None = None
    """Encrypts fans' tokens at rest (keys from Settings.resolved_encryption_keys())."""
    mail: MailSender | None = None
    territories: TerritoryTimeZones | None = None
    """The territory → zone table pre-saves are planned with (one per process)."""
    domain_prover: OwnershipProver | None = None
    """Checks custom-domain ownership (DNS TXT, HTTP token); built from settings if None."""
    presave: PresaveKit | None = None
    """Cipher, signer, connectors, clock and territories of the pre-save flows."""
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    """The event subscribers of this process (each package registers its own)."""
    outbox: OutboxDispatcher | None = None
    """Delivers committed events to ``subscriptions`` (started by serve and worker)."""

    def require_presave(self) -> PresaveKit:
        if self.presave is None:
            raise RuntimeError("the context has no pre-save kit: build it with bootstrap")
        return self.presave

    def require_mail(self) -> MailSender:
        if self.mail is None:
            raise RuntimeError("the context has no mail sender: build it with bootstrap")
        return self.mail
