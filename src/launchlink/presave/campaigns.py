"""Operator-side pre-save actions: campaign settings, workspace modes, reporting."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.catalog.repository import ArtistRepository
from launchlink.errors import NotFound, ValidationFailed
from launchlink.kit.pagination import Page, decode_cursor, page_from
from launchlink.links.changes import touch_links
from launchlink.links.repository import LinkRepository
from launchlink.models import Campaign, ConsentText, Link, Presave
from launchlink.models.presave import ConsentKind, ServiceMode
from launchlink.platforms import UnknownPlatform, get_platform
from launchlink.presave import consent
from launchlink.presave.modes import (
    SPOTIFY,
    CampaignPromise,
    ConnectorSource,
    ReleaseKeys,
    ServiceOption,
    resolve_options,
)
from launchlink.presave.repository import CampaignRepository, PresaveRepository
from launchlink.presave.schemas import CampaignSettings, PresaveCounts


def _check_services(services: Mapping[str, object], field: str) -> None:
    for service in services:
        try:
            get_platform(service)
        except UnknownPlatform:
            raise ValidationFailed(f"unknown service {service!r}", field=field) from None


async def link_of(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> Link:
    link = await LinkRepository(session).get(workspace_id, link_id)
    if link is None:
        raise NotFound(f"no link {link_id} in this workspace")
    return link


async def get_campaign(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> Campaign:
    link = await link_of(session, workspace_id, link_id)
    campaign = await CampaignRepository(session).get(workspace_id, link.id)
    if campaign is None:
        raise NotFound("this link has no pre-save campaign; PUT one to start")
    return campaign


async def put_campaign(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, data: CampaignSettings
) -> Campaign:
    """Create or replace the campaign of a link; changed consent texts become new versions."""
    link = await link_of(session, workspace_id, link_id)
    _check_services(data.service_modes, "service_modes")
    _check_services(data.link_only_urls, "link_only_urls")
    for extra in data.extra_follows:
        _check_services({extra.service: None}, "extra_follows")
    artists = await ArtistRepository(session).get_many(workspace_id, data.follow_artist_ids)
    if len(artists) != len(set(data.follow_artist_ids)):
        raise ValidationFailed(
            "follow_artist_ids must be artists of this workspace", field="follow_artist_ids"
        )
    campaigns = CampaignRepository(session)
    campaign = await campaigns.get(workspace_id, link.id)
    if campaign is None:
        campaign = await campaigns.add(Campaign(link_id=link.id, workspace_id=workspace_id))
    text_ids: dict[str, str] = {}
    for kind, text in data.consent_texts.items():
        version = await consent.ensure_version(session, workspace_id, kind, "", text.strip())
        text_ids[kind.value] = str(version.id)
    campaign.enabled = data.enabled
    campaign.presave_opens_at = data.presave_opens_at
    campaign.service_modes = {k: v.value for k, v in data.service_modes.items()}
    campaign.link_only_urls = dict(data.link_only_urls)
    campaign.save_release = data.save_release
    campaign.follow_artist_ids = [str(x) for x in dict.fromkeys(data.follow_artist_ids)]
    campaign.extra_follows = [extra.model_dump() for extra in data.extra_follows]
    campaign.follow_timing = data.follow_timing
    campaign.playlist_action = (
        data.playlist_action.model_dump(exclude_none=True) if data.playlist_action else None
    )
    campaign.apple_preorder_album_id = data.apple_preorder_album_id
    campaign.email_opt_in = data.email_opt_in
    campaign.sms_opt_in = data.sms_opt_in
    campaign.future_releases_opt_in = data.future_releases_opt_in
    campaign.consent_text_ids = text_ids
    await session.flush()
    # The public page is built from the link's snapshot: a new version drops cached pages.
    await touch_links(session, [link.id])
    return campaign


async def delete_campaign(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> None:
    campaign = await get_campaign(session, workspace_id, link_id)
    await CampaignRepository(session).delete(campaign)
    await touch_links(session, [link_id])


async def consent_texts_of(session: AsyncSession, campaign: Campaign) -> list[ConsentText]:
    repository = PresaveRepository(session)
    rows: list[ConsentText] = []
    for text_id in campaign.consent_text_ids.values():
        row = await repository.consent_text(UUID(str(text_id)))
        if row is not None:
            rows.append(row)
    return rows


async def service_options(
    session: AsyncSession,
    connectors: ConnectorSource,
    *,
    link: Link,
    campaign: Campaign,
    destination_urls: Mapping[str, str],
) -> list[ServiceOption]:
    """What the page offers now, after fallbacks (services: destinations first)."""
    repository = PresaveRepository(session)
    services = [
        *destination_urls,
        *campaign.service_modes,
        *campaign.link_only_urls,
    ]
    urls = {**destination_urls, **campaign.link_only_urls}
    found = await repository.link_with_release(link.id)
    keys = None
    if found is not None:
        release = found[1]
        keys = ReleaseKeys(
            upc=release.upc,
            isrcs=tuple(t.isrc for t in release.tracks if t.isrc),
            urls=destination_urls,
        )
    return resolve_options(
        services,
        campaign_modes=campaign.service_modes,
        workspace_modes=await repository.workspace_modes(link.workspace_id),
        link_urls=urls,
        connectors=connectors,
        has_preorder=bool(campaign.apple_preorder_album_id),
        active_spotify_grants=await repository.count_active_accounts(SPOTIFY),
        release=keys,
        promise=CampaignPromise.of(campaign),
    )


async def get_workspace_modes(session: AsyncSession, workspace_id: UUID) -> dict[str, ServiceMode]:
    return await PresaveRepository(session).workspace_modes(workspace_id)


async def set_workspace_modes(
    session: AsyncSession, workspace_id: UUID, modes: dict[str, ServiceMode]
) -> dict[str, ServiceMode]:
    _check_services(modes, "modes")
    await PresaveRepository(session).replace_workspace_modes(workspace_id, modes)
    return modes


async def list_presaves(
    session: AsyncSession,
    workspace_id: UUID,
    link_id: UUID,
    *,
    service: str | None,
    state: str | None,
    country: str | None,
    cursor: str | None,
    limit: int,
) -> Page[Presave]:
    link = await link_of(session, workspace_id, link_id)
    rows = await PresaveRepository(session).list_presaves(
        link.id,
        service=service,
        state=state,
        country=country.upper() if country else None,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return page_from(rows, limit=limit)


async def count_presaves(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> PresaveCounts:
    link = await link_of(session, workspace_id, link_id)
    repository = PresaveRepository(session)
    by_state = await repository.count_presaves_by(link.id, "state")
    attempts = await repository.attempt_counts(link.id)
    return PresaveCounts(
        total=sum(by_state.values()),
        by_service=await repository.count_presaves_by(link.id, "service"),
        by_country=await repository.count_presaves_by(link.id, "country"),
        by_state=by_state,
        oauth_started=sum(attempts.values()),
        oauth_completed=attempts.get("approved", 0),
        oauth_denied=attempts.get("denied", 0),
    )


__all__ = ["ConsentKind"]


async def set_page_choices(
    session: AsyncSession,
    workspace_id: UUID,
    link_id: UUID,
    *,
    service_modes: Mapping[str, ServiceMode | None],
    consent_texts: Mapping[ConsentKind, str | None],
) -> Campaign:
    """The design page's part of a campaign: each service's mode (None: the workspace's
    default) and the opt-in wording
    (None or blank: launchlink's default, translated). Changed wording becomes a new
    immutable version, as with :func:`put_campaign`."""
    campaign = await get_campaign(session, workspace_id, link_id)
    _check_services(service_modes, "service_modes")
    modes = dict(campaign.service_modes)
    for service, mode in service_modes.items():
        if mode is None:
            modes.pop(service, None)  # back to the workspace's default for the service
        else:
            modes[service] = mode.value
    campaign.service_modes = modes
    text_ids = dict(campaign.consent_text_ids)
    for kind, text in consent_texts.items():
        if text is None or not text.strip():
            text_ids.pop(kind.value, None)
            continue
        version = await consent.ensure_version(session, workspace_id, kind, "", text.strip())
        text_ids[kind.value] = str(version.id)
    campaign.consent_text_ids = text_ids
    await session.flush()
    await touch_links(session, [campaign.link_id])
    return campaign


async def set_presaving(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, *, enabled: bool
) -> Campaign:
    """Take pre-saves on a link or stop (the dashboard's switch): a link without a campaign
    gets one with the default settings (:class:`CampaignSettings`), an existing one keeps
    its settings and only changes ``enabled``."""
    campaign = await CampaignRepository(session).get(workspace_id, link_id)
    if campaign is None:
        return await put_campaign(session, workspace_id, link_id, CampaignSettings(enabled=enabled))
    campaign.enabled = enabled
    await session.flush()
    await touch_links(session, [campaign.link_id])
    return campaign
