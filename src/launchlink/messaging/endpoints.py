"""``GET /api/v1/messaging/channels``: which channels this instance can message fans on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, get_context
from launchlink.messaging.channels.registry import statuses

router = APIRouter(tags=["messaging"])


class ChannelRead(BaseModel):
    channel: str
    available: bool
    provider: str | None
    reason: str | None
    """Why not, naming what to configure."""


@router.get("/messaging/channels")
async def list_channels(
    principal: CurrentPrincipal, context: Annotated[AppContext, Depends(get_context)]
) -> list[ChannelRead]:
    """The messaging channels, with whether each can send here and, if not, why."""
    del principal  # any key may read this; it says nothing about a workspace
    return [
        ChannelRead(channel=s.channel, available=s.available, provider=s.provider, reason=s.reason)
        for s in statuses(context.settings)
    ]
