"""The registry: every service present, availability from credentials, capability queries."""

from __future__ import annotations

from launchlink.connectors.base import SERVICES, Capability, Connector
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.connectors.settings import ConnectorsSettings
from tests.connectors.simworld import RELEASED_UPC, make_world


async def test_without_credentials_every_service_is_present_but_unavailable() -> None:
    async with ConnectorRegistry(ConnectorsSettings()) as registry:
        assert [c.service for c in registry.all()] == list(SERVICES)
        assert registry.available() == []
        assert registry.with_capability(Capability.SAVE_RELEASE) == []
        for connector in registry.all():
            assert isinstance(connector, Connector)
            assert not connector.available
            assert connector.unavailable_reason
        assert registry.get("deezer").unavailable_reason == (
            "Deezer app ID and secret not configured (set LAUNCHLINK_CONNECTORS__DEEZER__APP_ID, "
            "LAUNCHLINK_CONNECTORS__DEEZER__SECRET); Deezer no longer registers new apps"
        )


async def test_the_simulator_profile_makes_every_connector_available_and_working() -> None:
    world = make_world()
    async with ConnectorRegistry(
        world.settings, clock=world.clock, transport=world.transport
    ) as registry:
        assert [c.service for c in registry.available()] == list(SERVICES)
        by_upc = registry.with_capability(Capability.LOOKUP_UPC)
        assert [c.service for c in by_upc] == ["spotify", "apple_music", "deezer", "tidal"]
        preadd = registry.with_capability(Capability.PREADD)
        assert [c.service for c in preadd] == ["apple_music"]
        assert registry.get("spotify").mode == "extended"
        for connector in by_upc:
            match = await connector.find_release_by_upc(RELEASED_UPC, country="US")
            assert match is not None, connector.service
            assert match.title == "Glass Harbour"
            assert match.service == connector.service
