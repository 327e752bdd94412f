"""Where auto-fill looks things up: the lookup connectors and, optionally, Odesli.

:class:`LookupSources` is a plain value: the connectors by service key, an optional
:class:`LinkDirectory` (Odesli, for link-only services) and the per-service time budget.
The API builds it once per process from the connector registry (:func:`get_lookup_sources`);
tests build a registry over the simulator (an ASGI transport) and call
:func:`sources_from_registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from fastapi import Request

from launchlink.connectors.base import SERVICES, Connector
from launchlink.connectors.odesli import OdesliClient
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.context import AppContext
from launchlink.presave.modes import RegistrySource

DEFAULT_TIMEOUT_SECONDS = 8.0


class LinkDirectory(Protocol):
    """A song.link-like directory: one release URL in, its URL on other platforms out."""

    async def links_for(self, url: str, *, country: str | None) -> Mapping[str, str]:
        """Platform key (``amazon_music``, ``pandora``, ...) → URL; empty when unknown.

        Raises the connector errors (``RateLimited``, ``Transient``...) on failure.
        """
        ...


@dataclass(frozen=True)
class LookupSources:
    connectors: Mapping[str, Connector]
    link_directory: LinkDirectory | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    # Why Odesli is off, for the "missing" list ("no API key configured").
    link_directory_off_reason: str = field(default="no Odesli API key configured")


# Odesli's linksByPlatform keys → launchlink platform keys (unknown keys are ignored).
ODESLI_PLATFORMS: dict[str, str] = {
    "spotify": "spotify",
    "appleMusic": "apple_music",
    "itunes": "itunes_store",
    "youtube": "youtube",
    "youtubeMusic": "youtube_music",
    "deezer": "deezer",
    "tidal": "tidal",
    "amazonMusic": "amazon_music",
    "soundcloud": "soundcloud",
    "napster": "napster",
    "pandora": "pandora",
    "yandex": "yandex_music",
    "audiomack": "audiomack",
    "boomplay": "boomplay",
    "anghami": "anghami",
    "audius": "audius",
    "bandcamp": "bandcamp",
}


class OdesliDirectory:
    """:class:`LinkDirectory` over the Odesli client of the connectors package."""

    def __init__(self, client: OdesliClient) -> None:
        self.client = client

    async def links_for(self, url: str, *, country: str | None) -> Mapping[str, str]:
        found = await self.client.links(url=url, user_country=country)
        if found is None:
            return {}
        return {
            ODESLI_PLATFORMS[key]: link
            for key, link in found.links.items()
            if key in ODESLI_PLATFORMS
        }


def with_own_apps(sources: LookupSources, own: Mapping[str, Connector]) -> LookupSources:
    """``sources`` with a workspace's own service apps in place of the instance's
    (``integrations.apps.WorkspaceSource.own``): its pastes are looked up as its app."""
    if not own:
        return sources
    return replace(sources, connectors={**sources.connectors, **own})


def sources_from_registry(
    registry: ConnectorRegistry, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> LookupSources:
    """Every connector of the registry; Odesli only when the operator gave it an API key."""
    odesli = registry.odesli
    keyed = odesli.settings.enabled and odesli.settings.api_key is not None
    return LookupSources(
        connectors={connector.service: connector for connector in registry.all()},
        link_directory=OdesliDirectory(odesli) if keyed else None,
        timeout_seconds=timeout_seconds,
        link_directory_off_reason=(
            "Odesli is disabled" if not odesli.settings.enabled else "no Odesli API key configured"
        ),
    )


def get_lookup_sources(request: Request) -> LookupSources:
    """FastAPI dependency: the process's lookup sources, built on first use.

    Uses ``context.connectors`` when the application wired one; otherwise builds a
    :class:`ConnectorRegistry` from ``settings.resolved_connectors()``. Kept on the API app.
    """
    state = request.app.state
    cached = getattr(state, "autofill_sources", None)
    if isinstance(cached, LookupSources):
        return cached
    context: AppContext = state.context
    source = context.connectors
    if isinstance(source, RegistrySource):
        sources = sources_from_registry(source.registry)
    elif source is not None:
        # A bare ConnectorSource (service → connector) has no Odesli client.
        found = {service: source.get(service) for service in SERVICES}
        sources = LookupSources({s: c for s, c in found.items() if c is not None})
    else:
        registry = ConnectorRegistry(context.settings.resolved_connectors(), clock=context.clock)
        sources = sources_from_registry(registry)
    state.autofill_sources = sources
    return sources
