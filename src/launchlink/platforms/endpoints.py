"""``GET /api/v1/services``: every service launchlink knows and what this instance can do there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, get_context
from launchlink.models.presave import ServiceMode
from launchlink.platforms.registry import PLATFORMS
from launchlink.presave.modes import SPOTIFY, instance_offers
from launchlink.presave.repository import PresaveRepository

router = APIRouter(tags=["services"])


class ModeRead(BaseModel):
    mode: ServiceMode
    offered: bool = Field(
        description="Pre-save pages can offer this mode here: every step of it can run with "
        "this instance's configuration."
    )
    reason: str | None = Field(description="Why not, naming what to configure.")
    requires: str | None = Field(
        description="What a release or campaign must also provide for its page to offer it."
    )


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
    modes: list[ModeRead]
    """Each pre-save mode, offered or not and why (the pre-save page decides the same way)."""


@router.get("/services")
async def list_services(
    principal: CurrentPrincipal,
    session: Session,
    context: Annotated[AppContext, Depends(get_context)],
) -> list[ServiceRead]:
    """Every supported service, with whether this instance can connect to it and why not."""
    del principal  # any key may read this; it says nothing about a workspace
    spotify_grants = await PresaveRepository(session).count_active_accounts(SPOTIFY)
    services: list[ServiceRead] = []
    for entry in instance_offers(context.connectors, active_spotify_grants=spotify_grants):
        platform, connector = PLATFORMS[entry.service], entry.connector
        services.append(
            ServiceRead(
                key=entry.service,
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
                modes=[
                    ModeRead(mode=o.mode, offered=o.offered, reason=o.reason, requires=o.requires)
                    for o in entry.modes
                ],
            )
        )
    return services
