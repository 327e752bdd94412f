"""Everything a request or task needs, built once per process at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.kit.clock import Clock, SystemClock

if TYPE_CHECKING:
    from launchlink.kit.crypto import TokenCipher
    from launchlink.kit.territories import TerritoryTimeZones
    from launchlink.links.domains import OwnershipProver
    from launchlink.links.invalidation import LinkChangeFeed
    from launchlink.mail.port import MailSender
    from launchlink.presave.modes import ConnectorSource


@dataclass
class AppContext:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    link_changes: LinkChangeFeed | None = None
    connectors: ConnectorSource | None = None
    """Streaming-service connectors by service key (see launchlink.connectors)."""
    cipher: TokenCipher | None = None
    """Encrypts fans' tokens at rest (keys from Settings.resolved_encryption_keys())."""
    mail: MailSender | None = None
    territories: TerritoryTimeZones | None = None
    """The territory → zone table pre-saves are planned with (one per process)."""
    domain_prover: OwnershipProver | None = None
    """Checks custom-domain ownership (DNS TXT, HTTP token); built from settings if None."""
