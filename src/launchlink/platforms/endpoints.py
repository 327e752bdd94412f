"""``GET /api/v1/services``: every service launchlink knows and what this instance can do there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, get_context
from launchlink.platforms.registry import PLATFORMS

router = APIRouter(tags=["services"])

CONNECTED_SERVICES = {"youtube_music": "youtube"}
"""Registry keys whose connector has another key (YouTube Music is reached via YouTube)."""


class ServiceRead(BaseModel):
    key: str
    display_name: str
    icon_url: str
    call_to_action: str
    connector: str | None
    """The connector that acts on this service, or None for link-only services."""
    available: bool
    """A connector exists and has credentials on this instance."""
    unavailable_reason: str | None
    capabilities: list[str]
    mode: str | None
    """Spotify: development (5 users) or extended quota."""


@router.get("/services")
async def list_services(
    principal: CurrentPrincipal, context: Annotated[AppContext, Depends(get_context)]
) -> list[ServiceRead]:
    """Every supported service, with whether this instance can connect to it and why not."""
    del principal  # any key may read this; it says nothing about a workspace
    services: list[ServiceRead] = []
    for key, platform in PLATFORMS.items():
        connector_key = CONNECTED_SERVICES.get(key, key)
        connector = context.connectors.get(connector_key) if context.connectors else None
        services.append(
            ServiceRead(
                key=key,
                display_name=platform.display_name,
                icon_url=f"{context.settings.public_url}/static/icons/{platform.icon}",
                call_to_action=platform.call_to_action,
                connector=connector.service if connector is not None else None,
                available=connector is not None and connector.available,
                unavailable_reason=(
                    "link only: no API to act on a fan's library"
                    if connector is None
                    else connector.unavailable_reason
                ),
                capabilities=sorted(c.value for c in connector.capabilities) if connector else [],
                mode=connector.mode if connector is not None else None,
            )
        )
    return services
