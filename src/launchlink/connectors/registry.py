"""The connectors of one launchlink instance, built from settings.

Every user-facing service is always present; one without credentials is simply
``available=False`` with its ``unavailable_reason``. Tests pass one shared ``transport``
(e.g. ``httpx.ASGITransport`` over the simulator) so every connector talks to it in-process.
"""

from __future__ import annotations

from types import TracebackType

import httpx

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
