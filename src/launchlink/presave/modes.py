"""Which action each service offers on a pre-save page, and why.

The operator picks a :class:`ServiceMode` per service for the workspace; a campaign may
override it. What the fan gets can still differ, honestly explained on the page:

* a service whose connector is missing or has no credentials falls back to ``reminder``;
* Spotify in development mode serves 5 users at most per Spotify app (client id). The
  instance uses one app for every workspace, so once 5 distinct Spotify accounts hold
  active grants anywhere on the instance, Spotify falls back to ``reminder`` everywhere;
* ``preadd`` exists only for Apple Music with a pre-order album id; without one it is a
  ``direct_save`` (the Music-User-Token is kept and the album saved at release).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from launchlink.connectors.base import SERVICES as CONNECTOR_SERVICES
from launchlink.connectors.base import Capability, Connector
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.models.presave import ServiceMode

SPOTIFY_DEVELOPMENT_USER_LIMIT = 5
APPLE_MUSIC = "apple_music"
SPOTIFY = "spotify"

FallbackReason = Literal["unavailable", "user_limit"]


class ConnectorSource(Protocol):
    """The connectors the instance has (``launchlink.connectors.registry`` fits this)."""

    def get(self, service: str) -> Connector | None: ...


class ConnectorMap(dict[str, Connector]):
    """A plain mapping of service key → connector, for start-up wiring and tests."""


@dataclass(frozen=True, slots=True)
class ServiceOption:
    """One service on the pre-save page."""

    service: str
    configured: ServiceMode
    mode: ServiceMode
    fallback: FallbackReason | None = None
    url: str | None = None
    """For link-only services: the pre-order or store link."""

    @property
    def connects(self) -> bool:
        """The fan signs in to this service now (OAuth or MusicKit)."""
        return self.mode in (ServiceMode.direct_save, ServiceMode.preadd)


def default_mode(service: str, *, has_preorder: bool) -> ServiceMode:
    if service == APPLE_MUSIC and has_preorder:
        return ServiceMode.preadd
    if service in CONNECTOR_SERVICES:
        return ServiceMode.direct_save
    return ServiceMode.link_only


def configured_mode(
    service: str,
    *,
    campaign_modes: Mapping[str, object],
    workspace_modes: Mapping[str, ServiceMode],
    has_preorder: bool,
) -> ServiceMode:
    chosen = campaign_modes.get(service)
    if isinstance(chosen, str) and chosen in ServiceMode.__members__:
        return ServiceMode(chosen)
    if service in workspace_modes:
        return workspace_modes[service]
    return default_mode(service, has_preorder=has_preorder)


def _connectable(connector: Connector | None, service: str) -> bool:
    if connector is None or not connector.available:
        return False
    if service == APPLE_MUSIC:
        return True  # MusicKit JS, no OAuth capability
    return Capability.OAUTH in connector.capabilities


def resolve_option(
    service: str,
    configured: ServiceMode,
    *,
    connector: Connector | None,
    has_preorder: bool,
    active_spotify_grants: int,
    url: str | None,
) -> ServiceOption | None:
    """The effective option for one service, or None when it is not offered at all."""
    if configured is ServiceMode.off:
        return None
    if configured is ServiceMode.link_only:
        return ServiceOption(service, configured, configured, url=url) if url else None
    if configured is ServiceMode.reminder:
        return ServiceOption(service, configured, configured, url=url)
    mode = configured
    if mode is ServiceMode.preadd and not (service == APPLE_MUSIC and has_preorder):
        mode = ServiceMode.direct_save
    if not _connectable(connector, service):
        return ServiceOption(service, configured, ServiceMode.reminder, "unavailable", url=url)
    if (
        service == SPOTIFY
        and connector is not None
        and connector.mode == "development"
        and active_spotify_grants >= SPOTIFY_DEVELOPMENT_USER_LIMIT
    ):
        return ServiceOption(service, configured, ServiceMode.reminder, "user_limit", url=url)
    return ServiceOption(service, configured, mode, url=url)


def resolve_options(
    services: Iterable[str],
    *,
    campaign_modes: Mapping[str, object],
    workspace_modes: Mapping[str, ServiceMode],
    link_urls: Mapping[str, str],
    connectors: ConnectorSource,
    has_preorder: bool,
    active_spotify_grants: int,
) -> list[ServiceOption]:
    options: list[ServiceOption] = []
    for service in dict.fromkeys(services):
        configured = configured_mode(
            service,
            campaign_modes=campaign_modes,
            workspace_modes=workspace_modes,
            has_preorder=has_preorder,
        )
        option = resolve_option(
            service,
            configured,
            connector=connectors.get(service),
            has_preorder=has_preorder,
            active_spotify_grants=active_spotify_grants,
            url=link_urls.get(service),
        )
        if option is not None:
            options.append(option)
    return options


class RegistrySource:
    """Adapts ``ConnectorRegistry`` (``KeyError`` for unknown services) to ConnectorSource."""

    def __init__(self, registry: ConnectorRegistry) -> None:
        self.registry = registry

    def get(self, service: str) -> Connector | None:
        try:
            return self.registry.get(service)
        except KeyError:
            return None
