"""The pre-save JSON API: campaign settings, workspace modes, pre-saves, fans (GDPR)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse

from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, WritingPrincipal, get_context
from launchlink.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from launchlink.links.repository import LinkRepository
from launchlink.models import Campaign, Link
from launchlink.models.presave import PresaveState
from launchlink.presave import campaigns, export
from launchlink.presave.modes import ConnectorMap, ConnectorSource
from launchlink.presave.repository import PresaveRepository
from launchlink.presave.schemas import (
    CampaignRead,
    CampaignSettings,
    ConsentTextRead,
    ExtraFollow,
    FanDeleted,
    FanLookup,
    PlaylistAction,
    PresaveCounts,
    PresavePage,
    PresaveRead,
    ServiceOptionRead,
    WorkspaceModes,
)

router = APIRouter(tags=["pre-save"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Context = Annotated[AppContext, Depends(get_context)]


def _connectors(context: AppContext) -> ConnectorSource:
    return context.connectors if context.connectors is not None else ConnectorMap()


async def _campaign_read(
    session: Session, context: AppContext, link: Link, campaign: Campaign
) -> CampaignRead:
    await LinkRepository(session).reload(link, only=["destinations"])
    destinations = {d.service: d.url for d in link.destinations if not d.hidden}
    # The workspace's own service apps where it has them: offered as its pages offer them.
    connectors = (
        await context.presave.connectors_for(link.workspace_id)
        if context.presave is not None
        else _connectors(context)
    )
    options = await campaigns.service_options(
        session, connectors, link=link, campaign=campaign, destination_urls=destinations
    )
    texts = await campaigns.consent_texts_of(session, campaign)
    return CampaignRead(
        link_id=campaign.link_id,
        enabled=campaign.enabled,
        presave_opens_at=campaign.presave_opens_at,
        service_modes=dict(campaign.service_modes),
        link_only_urls=dict(campaign.link_only_urls),
        save_release=campaign.save_release,
        follow_artist_ids=[UUID(str(x)) for x in campaign.follow_artist_ids],
        extra_follows=[ExtraFollow.model_validate(x) for x in campaign.extra_follows],
        follow_timing=campaign.follow_timing,
        playlist_action=PlaylistAction.model_validate(campaign.playlist_action)
        if campaign.playlist_action
        else None,
        apple_preorder_album_id=campaign.apple_preorder_album_id,
        email_opt_in=campaign.email_opt_in,
        sms_opt_in=campaign.sms_opt_in,
        future_releases_opt_in=campaign.future_releases_opt_in,
        consent_texts=[
            ConsentTextRead(
                id=t.id, kind=t.kind, version=t.version, language=t.language, text=t.text
            )
            for t in texts
        ],
        services=[
            ServiceOptionRead(
                service=o.service,
                configured_mode=o.configured,
                mode=o.mode,
                fallback=o.fallback,
                reason=o.reason,
            )
            for o in options
        ],
    )


@router.get("/links/{link_id}/campaign")
async def get_campaign(
    link_id: UUID, session: Session, principal: CurrentPrincipal, context: Context
) -> CampaignRead:
    """The link's pre-save campaign, with what its page offers right now."""
    campaign = await campaigns.get_campaign(session, principal.workspace_id, link_id)
    link = await campaigns.link_of(session, principal.workspace_id, link_id)
    return await _campaign_read(session, context, link, campaign)


@router.put("/links/{link_id}/campaign")
async def put_campaign(
    link_id: UUID,
    data: CampaignSettings,
    session: Session,
    principal: WritingPrincipal,
    context: Context,
) -> CampaignRead:
    """Create or replace the link's pre-save campaign (modes, actions, opt-ins, consents)."""
    campaign = await campaigns.put_campaign(session, principal.workspace_id, link_id, data)
    link = await campaigns.link_of(session, principal.workspace_id, link_id)
    return await _campaign_read(session, context, link, campaign)


@router.delete("/links/{link_id}/campaign", status_code=status.HTTP_204_NO_CONTENT)
async def delete_campaign(link_id: UUID, session: Session, principal: WritingPrincipal) -> None:
    """Remove the campaign: the link stops taking pre-saves (existing ones stay)."""
    await campaigns.delete_campaign(session, principal.workspace_id, link_id)


@router.get("/presave/service-modes")
async def get_service_modes(session: Session, principal: CurrentPrincipal) -> WorkspaceModes:
    """The workspace's default mode per service (campaigns may override)."""
    return WorkspaceModes(
        modes=await campaigns.get_workspace_modes(session, principal.workspace_id)
    )


@router.put("/presave/service-modes")
async def put_service_modes(
    data: WorkspaceModes, session: Session, principal: WritingPrincipal
) -> WorkspaceModes:
    """Replace the workspace's default modes per service."""
    modes = await campaigns.set_workspace_modes(session, principal.workspace_id, data.modes)
    return WorkspaceModes(modes=modes)


@router.get("/links/{link_id}/presaves")
async def list_presaves(
    link_id: UUID,
    session: Session,
    principal: CurrentPrincipal,
    service: str | None = None,
    state: PresaveState | None = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> PresavePage:
    """The link's pre-saves, oldest first, filtered by service, state or country."""
    page = await campaigns.list_presaves(
        session,
        principal.workspace_id,
        link_id,
        service=service,
        state=state.value if state else None,
        country=country,
        cursor=cursor,
        limit=limit,
    )
    return PresavePage(
        items=[PresaveRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.get("/links/{link_id}/presaves/counts")
async def count_presaves(
    link_id: UUID, session: Session, principal: CurrentPrincipal
) -> PresaveCounts:
    """Pre-saves by service, country and state; OAuth started vs completed."""
    return await campaigns.count_presaves(session, principal.workspace_id, link_id)


@router.get("/links/{link_id}/contacts.csv", response_class=StreamingResponse)
async def contacts_csv(
    link_id: UUID, session: Session, principal: WritingPrincipal, context: Context
) -> StreamingResponse:
    """CSV of the fans who consented to be contacted (never of those who did not)."""
    link = await campaigns.link_of(session, principal.workspace_id, link_id)
    return StreamingResponse(
        export.contacts_csv(context.database, link.id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="contacts-{link.slug}.csv"'},
    )


@router.post("/fans/export")
async def export_fan(lookup: FanLookup, session: Session, principal: WritingPrincipal) -> Any:
    """Everything stored about a fan (GDPR access request), by email or service account."""
    return await export.export_fan_data(session, principal.workspace_id, lookup)


@router.post("/fans/delete")
async def delete_fan(
    lookup: FanLookup, session: Session, principal: WritingPrincipal
) -> FanDeleted:
    """Erase a fan (GDPR erasure request): tokens, pre-saves, consents, contact details."""
    return await export.delete_fan_data(session, principal.workspace_id, lookup)


__all__ = ["PresaveRepository", "router"]
