"""The connectors of one launchlink instance, built from settings.

Every user-facing service is always present; one without credentials is simply
``available=False`` with its ``unavailable_reason``. Tests pass one shared ``transport``
(e.g. ``httpx.ASGITransport`` over the simulator) so every connector talks to it in-process.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from launchlink.connectors.apple_music import AppleMusicConnector
from launchlink.connectors.base import SERVICES, Capability, Connector
from launchlink.connectors.deezer import DeezerConnector
from launchlink.connectors.odesli import OdesliClient
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.connectors.soundcloud import SoundCloudConnector
from launchlink.connectors.spotify import SpotifyConnector
from launchlink.connectors.tidal import TidalConnector
from launchlink.connectors.youtube import QuotaLedger, YouTubeConnector
from launchlink.kit.clock import Clock, SystemClock

APP_FIELDS: dict[str, tuple[str, str]] = {
    "spotify": ("client_id", "client_secret"),
    "deezer": ("app_id", "secret"),
    "tidal": ("client_id", "client_secret"),
    "apple_music": ("key_id", "private_key_pem"),
}
"""Per service a workspace may bring its own app for: the settings fields of its identifier
and its secret."""
APP_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "spotify": (),
    "deezer": (),
    "tidal": (),
    "apple_music": ("team_id",),
}


LIMIT_KEY = "limit_key"


def limit_key(connector: Connector) -> str:
    """The rate limiter's bucket of ``connector``: its service for the instance's app, the
    service and client id for a workspace's own app (:meth:`ConnectorRegistry.with_app`):
    each app has its own ceiling at the service."""
    key = getattr(connector, LIMIT_KEY, None)
    return key if isinstance(key, str) else connector.service


def app_client_id(connector: Connector | None) -> str | None:
    """The identifier of the app ``connector`` signs in as (None: it has none)."""
    if connector is None or connector.service not in APP_FIELDS:
        return None
    settings = getattr(connector, "settings", None)
    value = getattr(settings, APP_FIELDS[connector.service][0], None)
    return value if isinstance(value, str) else None


class ConnectorRegistry:
    """``get(service)``, ``all()``, ``available()``, ``with_capability(cap)`` and ``odesli``."""

    def __init__(
        self,
        settings: ConnectorsSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        youtube_quota_ledger: QuotaLedger | None = None,
    ) -> None:
        clock = clock or SystemClock()
        self.settings = settings
        self.clock = clock
        self.transport = transport
        connectors: list[Connector] = [
            SpotifyConnector(settings.spotify, clock=clock, transport=transport),
            AppleMusicConnector(settings.apple_music, clock=clock, transport=transport),
            DeezerConnector(settings.deezer, clock=clock, transport=transport),
            TidalConnector(settings.tidal, clock=clock, transport=transport),
            SoundCloudConnector(settings.soundcloud, clock=clock, transport=transport),
            YouTubeConnector(
                settings.youtube,
                clock=clock,
                transport=transport,
                quota_ledger=youtube_quota_ledger,
            ),
        ]
        self._connectors = {connector.service: connector for connector in connectors}
        assert tuple(self._connectors) == SERVICES
        self.odesli = OdesliClient(settings.odesli, transport=transport)

    def with_app(
        self, service: str, client_id: str, secret: str, extra: dict[str, str] | None = None
    ) -> Connector:
        """A new connector of ``service`` like the instance's (base URLs, modes, timeouts)
        but signed in as another app: a workspace's own (``APP_FIELDS``). The caller
        closes it."""
        id_field, secret_field = APP_FIELDS[service]
        update: dict[str, Any] = {id_field: client_id, secret_field: SecretStr(secret)}
        update.update({k: v for k, v in (extra or {}).items() if k in APP_EXTRA_FIELDS[service]})
        if service == "apple_music":
            update["private_key_path"] = None
        settings = getattr(self.settings, service).model_copy(update=update)
        kind: Any = type(self._connectors[service])
        connector: Connector = kind(settings, clock=self.clock, transport=self.transport)
        object.__setattr__(connector, LIMIT_KEY, f"{service}:{client_id}"[:100])
        return connector

    def get(self, service: str) -> Connector:
        """The connector for ``service``; ``KeyError`` for a service without one."""
        return self._connectors[service]

    def all(self) -> list[Connector]:
        return list(self._connectors.values())

    def available(self) -> list[Connector]:
        return [c for c in self._connectors.values() if c.available]

    def with_capability(self, capability: Capability) -> list[Connector]:
        """Available connectors that can do ``capability``."""
        return [c for c in self.available() if capability in c.capabilities]

    async def aclose(self) -> None:
        for connector in self._connectors.values():
            await connector.aclose()
        await self.odesli.aclose()

    async def __aenter__(self) -> ConnectorRegistry:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
