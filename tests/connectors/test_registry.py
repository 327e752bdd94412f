"""The registry: every service present, availability from credentials, capability queries."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launchlink.connectors.base import SERVICES, Capability, Connector
from launchlink.connectors.errors import NotAllowed
from launchlink.connectors.registry import ConnectorRegistry, app_client_id, limit_key
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


def _p8_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_a_workspace_app_is_a_connector_like_ours_signed_in_as_that_app() -> None:
    """``with_app``: the same service, URLs and modes, another app's credentials; the
    simulator checks them like the services do, and each app is its own limiter bucket."""
    world = make_world()
    private, public = _p8_pair()
    world.state.register_apple_key("LABELKEY01", "LABELTEAM1", public)
    for service in ("spotify", "deezer", "tidal"):
        world.state.upsert_app(service, "label-app", client_secret="label-secret-1")
    async with ConnectorRegistry(
        world.settings, clock=world.clock, transport=world.transport
    ) as registry:
        apps = {
            "spotify": registry.with_app("spotify", "label-app", "label-secret-1"),
            "deezer": registry.with_app("deezer", "label-app", "label-secret-1"),
            "tidal": registry.with_app("tidal", "label-app", "label-secret-1"),
            "apple_music": registry.with_app(
                "apple_music", "LABELKEY01", private, {"team_id": "LABELTEAM1"}
            ),
        }
        try:
            for service, connector in apps.items():
                assert connector is not registry.get(service)
                assert connector.available, connector.unavailable_reason
                assert app_client_id(connector) == (
                    "LABELKEY01" if service == "apple_music" else "label-app"
                )
                assert limit_key(connector) == f"{service}:{app_client_id(connector)}"
                assert limit_key(registry.get(service)) == service
                match = await connector.find_release_by_upc(RELEASED_UPC, country="US")
                assert match is not None, service
                assert match.title == "Glass Harbour"
        finally:
            for connector in apps.values():
                await connector.aclose()
        # A secret the service does not know: refused as the app's own fault.
        wrong = registry.with_app("spotify", "label-app", "not-the-secret")
        try:
            with pytest.raises(NotAllowed) as refused:
                await wrong.find_release_by_upc(RELEASED_UPC, country="US")
            assert refused.value.reason == "invalid_client"
        finally:
            await wrong.aclose()
