"""Campaigns from one paste: a service URL, a UPC or an ISRC becomes a release and its link.

The paste is read (``read_paste``), resolved on every service (auto-fill), shown with what
was found and what is missing; a release of the workspace with the same UPC is offered
instead of a silent duplicate. Creating goes through auto-fill's own
``create_release_from_services``, and is written to the audit log.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode
from uuid import UUID

import segno
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts import audit
from launchlink.accounts.people import Actor
from launchlink.analytics import queries
from launchlink.autofill import service as autofill
from launchlink.autofill.outcomes import ResolveQuery, ServiceAppRefused
from launchlink.autofill.resolver import Resolution
from launchlink.autofill.schemas import AutofillReleaseCreate
from launchlink.autofill.sources import LookupSources, with_own_apps
from launchlink.catalog import service as catalog
from launchlink.catalog.identifiers import IdentifierError, normalize_isrc, normalize_upc
from launchlink.dashboard.repository import DashboardRepository
from launchlink.db import after_commit
from launchlink.errors import ValidationFailed
from launchlink.integrations.apps import WorkspaceApps
from launchlink.kit.clock import Clock
from launchlink.links import service as links
from launchlink.models import Link, Release
from launchlink.models.presave import Campaign as PresaveCampaign
from launchlink.presave.repository import PresaveRepository

PASTE_HELP = (
    "paste a release link (Spotify, Apple Music, Deezer, TIDAL...), a UPC (12 to 14 digits) "
    "or an ISRC like USRC17607839"
)
CHANNELS = ("instagram", "tiktok", "youtube", "newsletter", "press")
"""Per-channel links: the campaign link tagged for where it is shared."""


def read_paste(text: str) -> dict[str, str]:
    """The identifier in a paste: ``{"url": ...}``, ``{"upc": ...}`` or ``{"isrc": ...}``."""
    text = text.strip()
    if not text:
        raise ValidationFailed(PASTE_HELP, field="paste")
    if re.match(r"(?i)^https?://", text):
        return {"url": text}
    compact = re.sub(r"[\s-]", "", text)
    try:
        if compact.isdigit():
            return {"upc": normalize_upc(compact)}
        return {"isrc": normalize_isrc(compact.upper())}
    except IdentifierError as error:
        raise ValidationFailed(str(error), field="paste") from None


@dataclass(frozen=True)
class Preview:
    paste: str
    resolution: Resolution
    slug: str
    existing: tuple[Link, Release] | None
    """A campaign of this workspace for the same release (same UPC)."""


async def lookup_sources(
    base: LookupSources, apps: WorkspaceApps | None, workspace_id: UUID
) -> LookupSources:
    """Where the workspace's pastes are looked up: its own service apps (Settings → Service
    apps) in place of the instance's, the instance's for every other service."""
    if apps is None:
        return base
    return with_own_apps(base, (await apps.source(workspace_id)).own)


async def _refused(
    session: AsyncSession,
    apps: WorkspaceApps | None,
    workspace_id: UUID,
    sources: LookupSources,
    error: ServiceAppRefused,
) -> ServiceAppRefused:
    """The service refused the app a paste was looked up with. The workspace's own app is
    recorded as refused (not used nor offered to fans until it is replaced, as when
    fulfilment meets it) once the request's transaction is over (it holds SQLite's write
    lock; the record is written even when the request's own writes are undone); the
    message says whose app it is and where it is fixed."""
    connector = sources.connectors.get(error.service)
    if apps is None or connector is None:
        return error
    if not (await apps.source(workspace_id)).is_own(error.service):
        return error.advising(
            "this instance's own app for the service; its operator must correct it"
        )

    async def record() -> None:
        await apps.reject(workspace_id, connector, error.reason)

    after_commit(session, record)
    return error.advising(
        "it is your workspace's own app; correct it in Settings → Service apps, or remove "
        "it to use this instance's"
    )


async def preview(
    session: AsyncSession,
    workspace_id: UUID,
    paste: str,
    sources: LookupSources,
    *,
    apps: WorkspaceApps | None = None,
) -> Preview:
    """What a paste resolves to; ``apps``: the workspace's own apps, to record one the
    service refuses (None where the request has written already: bulk)."""
    found = read_paste(paste)
    try:
        resolution = await autofill.resolve(sources, ResolveQuery(**found))
    except ServiceAppRefused as error:
        raise await _refused(session, apps, workspace_id, sources, error) from None
    existing = None
    upc = resolution.release.upc or found.get("upc")
    if upc:
        existing = await DashboardRepository(session).campaign_for_upc(workspace_id, upc)
    slug = await autofill.unique_slug(session, resolution.release.title)
    return Preview(paste=paste, resolution=resolution, slug=slug, existing=existing)


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    paste: str,
    slug: str | None,
    release_date: date | None,
    sources: LookupSources,
    clock: Clock,
    apps: WorkspaceApps | None = None,
) -> Link:
    found = read_paste(paste)
    try:
        data = AutofillReleaseCreate.model_validate(
            {**found, "slug": slug or None, "release_date": release_date}
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "paste"
        field = {"url": "paste", "upc": "paste", "isrc": "paste"}.get(where, where)
        raise ValidationFailed(
            str(first["msg"]).removeprefix("Value error, "), field=field
        ) from None
    try:
        made = await autofill.create_release_from_services(
            session, actor.workspace_id, data, sources
        )
    except ServiceAppRefused as error:
        raise await _refused(session, apps, actor.workspace_id, sources, error) from None
    await audit.record(
        session,
        actor,
        "campaign.created",
        ("link", made.link.id),
        after={"slug": made.link.slug, "release": made.release.title},
        clock=clock,
    )
    return made.link


@dataclass(frozen=True)
class Campaign:
    link: Link
    release: Release
    url: str
    presaves: int
    presave_campaign: PresaveCampaign | None
    """The link's pre-save settings (none: a smart link only)."""

    @property
    def artist(self) -> str:
        names = [link.artist.name for link in self.release.artist_links]
        return ", ".join(names) or "the artist"


async def campaign(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, *, public_base_url: str
) -> Campaign:
    link = await links.get_link(session, workspace_id, link_id)
    release = await catalog.get_release(session, workspace_id, link.release_id)
    counts = await DashboardRepository(session).presave_counts([link.id])
    return Campaign(
        link=link,
        release=release,
        url=links.public_url_of(link, public_base_url=public_base_url),
        presaves=counts.get(link.id, 0),
        presave_campaign=await PresaveRepository(session).campaign(link.id),
    )


@dataclass(frozen=True)
class LiveCounts:
    """What the campaign page refreshes while it is open (HTMX polling)."""

    at: datetime
    views: int
    visitors: int
    clicks: int
    presaves_by_state: dict[str, int]

    @property
    def presaves(self) -> int:
        return sum(self.presaves_by_state.values())


async def live_counts(session: AsyncSession, link: Link, *, now: datetime) -> LiveCounts:
    """Views, visitors and clicks since the link was made (from the rollups), and its
    pre-saves by state."""
    # At least the last hour: a row's created_at comes from the database clock, which a
    # test's frozen clock (or a skewed host) may put after "now".
    start = max(
        min(link.created_at, now - timedelta(hours=1)), now - queries.MAX_RANGE + timedelta(days=1)
    )
    found = await queries.totals(session, link.id, queries.TimeRange.parse(start, None, now=now))
    summary = queries.summary_of(found)
    return LiveCounts(
        at=now,
        views=summary["views"],
        visitors=summary["visitors"],
        clicks=summary["clicks_total"],
        presaves_by_state=await DashboardRepository(session).presave_states(link.id),
    )


def channel_url(url: str, channel: str | None) -> str:
    if channel is None:
        return url
    if channel not in CHANNELS:
        raise ValidationFailed(
            f"no channel {channel!r}; one of {', '.join(CHANNELS)}", field="channel"
        )
    tags = {
        "utm_source": channel,
        "utm_medium": "social" if channel not in ("newsletter", "press") else channel,
        "utm_campaign": "launch",
    }
    return f"{url}?{urlencode(tags)}"


def qr_code(url: str, kind: Literal["svg", "png"]) -> bytes:
    """The URL as a QR code (medium error correction survives a logo or a crease)."""
    code = segno.make(url, error="m")
    buffer = io.BytesIO()
    if kind == "svg":
        code.save(buffer, kind="svg", scale=8, border=2, xmldecl=False, title=url)
    else:
        code.save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()
