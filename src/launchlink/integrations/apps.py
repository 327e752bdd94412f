"""A workspace's own service apps, in use: the connectors a workspace's pre-saves run with.

A label or distributor may bring its own Spotify / Apple Music / Deezer / TIDAL app
(``service_credential``). :meth:`WorkspaceApps.source` gives, per workspace, a
``ConnectorSource`` in which those services are connectors built from the instance's
settings (base URLs, modes, timeouts) with the workspace's app swapped in; every other
service, and every other workspace, keeps the instance's connector. So that workspace's
authorize URL (client id), token exchange, refresh, release-day catalogue lookups and
library writes all run as its app, and fulfilment's rate limiter keeps one bucket per app
(``connectors.registry.limit_key``).

Offer only what can finish: a workspace app the service rejected (``invalid_client``) is
recorded on its row (:meth:`WorkspaceApps.reject`, in its own transaction) and from then on
stands in as an *unavailable* connector whose reason names the rejection: the service is
not offered on that workspace's pages, its pre-saves fail for good with that configuration
reason, the Settings page and ``launchlink doctor`` show it. Replacing the app clears it.

Credentials are cached per workspace for :data:`TTL_SECONDS` (another process sees a
change within that time; this one at once, :meth:`WorkspaceApps.forget`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from launchlink.connectors.base import Connector
from launchlink.connectors.registry import APP_FIELDS, ConnectorRegistry, app_client_id
from launchlink.db import Database
from launchlink.integrations.repository import IntegrationsRepository
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher

if TYPE_CHECKING:
    from launchlink.presave.modes import ConnectorSource, RegistrySource

logger = logging.getLogger(__name__)

TTL_SECONDS = 5.0


@dataclass(frozen=True)
class AppRow:
    service: str
    client_id: str
    updated_at: datetime
    rejected_reason: str | None


class InstanceConnectors(Protocol):
    """The instance's connectors, and one like any of them signed in as another app: both
    read from one place, so a reconfigured instance (a new registry swapped into
    ``presave.modes.RegistrySource``) reaches workspaces with an app of their own as it
    reaches the others."""

    def get(self, service: str) -> Connector | None: ...

    def with_app(
        self, service: str, client_id: str, secret: str, extra: dict[str, str] | None = None
    ) -> Connector: ...


class RejectedApp:
    """Stands in for a workspace app the service refused: unavailable, with the reason."""

    def __init__(self, base: Connector, client_id: str, reason: str) -> None:
        self._base = base
        self.client_id = client_id
        self.reason = reason

    @property
    def available(self) -> bool:
        return False

    @property
    def unavailable_reason(self) -> str:
        return (
            f"the workspace's own {self._base.service} app ({self.client_id}) was refused by "
            f"the service: {self.reason}; replace it in Settings → Service apps"
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


@dataclass
class WorkspaceSource:
    """One workspace's connectors (``ConnectorSource``): its own apps over the instance's."""

    base: ConnectorSource
    own: dict[str, Connector] = field(default_factory=dict)

    def get(self, service: str) -> Connector | None:
        found = self.own.get(service)
        return found if found is not None else self.base.get(service)

    def is_own(self, service: str) -> bool:
        return service in self.own


class WorkspaceApps:
    def __init__(
        self,
        *,
        database: Database,
        cipher: TokenCipher,
        base: InstanceConnectors,
        clock: Clock,
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.base = base
        self.clock = clock
        self._rows: dict[UUID, tuple[float, dict[str, AppRow]]] = {}
        self._loading: dict[UUID, asyncio.Future[dict[str, AppRow]]] = {}
        # Each app as built: from which row, beside which of the instance's connectors.
        self._built: dict[tuple[UUID, str], tuple[datetime, str | None, Connector, Connector]] = {}
        self._retired: list[Connector] = []

    @classmethod
    def over(
        cls,
        instance: ConnectorRegistry | RegistrySource,
        *,
        database: Database,
        cipher: TokenCipher,
        clock: Clock,
    ) -> WorkspaceApps:
        """Workspaces' apps over the instance's connectors: the one way a process builds
        them (bootstrap's context, and an engine built without one). ``instance`` is the
        process's own ``RegistrySource`` when it has one, so that reconfiguring it (a new
        registry swapped in) reaches every workspace, with an app of its own or not."""
        from launchlink.presave.modes import RegistrySource

        base = instance if isinstance(instance, RegistrySource) else RegistrySource(instance)
        return cls(database=database, cipher=cipher, base=base, clock=clock)

    async def source(self, workspace_id: UUID | None) -> WorkspaceSource:
        """The connectors ``workspace_id``'s pre-saves use (the instance's when None)."""
        if workspace_id is None:
            return WorkspaceSource(self.base)
        rows = await self._rows_of(workspace_id)
        own: dict[str, Connector] = {}
        for service, row in rows.items():
            connector = await self._connector(workspace_id, row)
            if connector is not None:
                own[service] = connector
        return WorkspaceSource(self.base, own)

    async def _rows_of(self, workspace_id: UUID) -> dict[str, AppRow]:
        cached = self._rows.get(workspace_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        # One read per workspace at a time: when the entry expires, every job a worker
        # started in that instant (a claimed batch, three lanes) missed together and each
        # ran the same query, most of this cache's cost at full speed (docs/benchmarks.md).
        loading = self._loading.get(workspace_id)
        if loading is None:
            loading = asyncio.ensure_future(self._read_rows(workspace_id))
            self._loading[workspace_id] = loading
            loading.add_done_callback(lambda done: self._loaded(workspace_id, done))
        # Shielded: one waiter cancelled (its job handed back) does not fail the others.
        return await asyncio.shield(loading)

    def _loaded(self, workspace_id: UUID, done: asyncio.Future[dict[str, AppRow]]) -> None:
        # Looked at here too, so a failure nobody still awaits is not logged as unretrieved.
        failed = done.cancelled() or done.exception() is not None
        if self._loading.get(workspace_id) is not done:
            return  # forgotten while reading: what it read may predate the change
        del self._loading[workspace_id]
        if not failed:
            self._rows[workspace_id] = (time.monotonic() + TTL_SECONDS, done.result())

    async def _read_rows(self, workspace_id: UUID) -> dict[str, AppRow]:
        async with self.database.sessionmaker() as session:
            found = await IntegrationsRepository(session).credentials(workspace_id)
        return {
            c.service: AppRow(c.service, c.client_id, c.updated_at, c.rejected_reason)
            for c in found
            if c.service in APP_FIELDS
        }

    async def _connector(self, workspace_id: UUID, row: AppRow) -> Connector | None:
        key = (workspace_id, row.service)
        built = self._built.get(key)
        base = self.base.get(row.service)
        if base is None:
            return None
        # Built again when the instance was reconfigured too (a new connector in ``base``).
        if (
            built is not None
            and built[:2] == (row.updated_at, row.rejected_reason)
            and built[2] is base
        ):
            return built[3]
        connector: Connector
        if row.rejected_reason is not None:
            connector = RejectedApp(base, row.client_id, row.rejected_reason)
        else:
            async with self.database.sessionmaker() as session:
                stored = await IntegrationsRepository(session).credential(workspace_id, row.service)
            if stored is None:
                return None
            connector = self.base.with_app(
                row.service,
                stored.client_id,
                self.cipher.decrypt(stored.secret),
                {k: str(v) for k, v in dict(stored.extra).items()},
            )
        if built is not None and not isinstance(built[3], RejectedApp):
            self._retired.append(built[3])
        self._built[key] = (row.updated_at, row.rejected_reason, base, connector)
        return connector

    def forget(self, workspace_id: UUID) -> None:
        """The workspace's apps changed (this process): read and build them again."""
        self._rows.pop(workspace_id, None)
        self._loading.pop(workspace_id, None)  # a read begun before the change is not shared
        for key in [k for k in self._built if k[0] == workspace_id]:
            connector = self._built.pop(key)[3]
            if not isinstance(connector, RejectedApp):
                self._retired.append(connector)

    async def reject(self, workspace_id: UUID, connector: Connector, reason: str) -> bool:
        """Record that the service refused the workspace app ``connector`` signs in as
        (only while that app is still the stored one); True when it was recorded."""
        client_id = app_client_id(connector)
        if client_id is None:
            return False
        async with self.database.transaction() as session:
            recorded = await IntegrationsRepository(session).reject_credential(
                workspace_id,
                connector.service,
                client_id,
                reason=reason[:300],
                at=self.clock.now(),
            )
        if recorded:
            logger.error(
                "workspace %s: its own %s app %s was refused (%s); not offered until replaced",
                workspace_id,
                connector.service,
                client_id,
                reason,
            )
        self.forget(workspace_id)
        return recorded

    async def aclose(self) -> None:
        for connector in [*self._retired, *(b[3] for b in self._built.values())]:
            if not isinstance(connector, RejectedApp):
                await connector.aclose()
        self._retired.clear()
        self._built.clear()
