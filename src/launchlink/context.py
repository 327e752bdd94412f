"""Everything a request or task needs, built once per process at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.kit.clock import Clock, SystemClock

if TYPE_CHECKING:
    from launchlink.links.invalidation import LinkChangeFeed


@dataclass
class AppContext:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    link_changes: LinkChangeFeed | None = None
