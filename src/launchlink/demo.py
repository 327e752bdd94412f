"""The demo: a label with two artists, a released album and an upcoming single.

``launchlink demo`` (and ``make run``) seeds it; running it again changes nothing except
moving the single's release 7 days ahead again once it has passed, so the pre-save page
stays demonstrable. The catalogue comes from :mod:`launchlink.simulator.demo`, so the
seeded links and the simulated services describe the same releases.

``launchlink demo --release-in 2m`` moves the single's release to two minutes from now
(one instant everywhere), through the catalogue's own release update, so release day and
its fulfilment can be watched end to end. A running ``launchlink serve`` notices the
change (the link change feed) and moves its embedded simulator's release with it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts import service as accounts
from launchlink.accounts.repository import WorkspaceRepository
from launchlink.catalog import service as catalog
from launchlink.catalog.repository import ArtistRepository, ReleaseRepository
from launchlink.catalog.schemas import ReleaseUpdate
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.errors import ValidationFailed
from launchlink.kit import files
from launchlink.kit.clock import Clock, SystemClock
from launchlink.kit.territories import TerritoryTimeZones
from launchlink.links.changes import touch_links
from launchlink.links.repository import LinkRepository
from launchlink.migrate import upgrade_to_head_async
from launchlink.models import Artist, Campaign, Destination, Link, Release, ReleaseArtist, Track
from launchlink.models.accounts import Role, WorkspaceKind
from launchlink.models.catalog import ReleaseMode, ReleaseType
from launchlink.models.links import DEFAULT_HOST
from launchlink.platforms import PLATFORMS, parse_service_url
from launchlink.presave.repository import CampaignRepository
from launchlink.simulator.demo import (
    DEMO_ALBUM,
    DEMO_ARTIST_IDS,
    DEMO_REDIRECT_URIS,
    DEMO_SINGLE,
    DemoRelease,
    demo_state,
)
from launchlink.simulator.state import SimulatorState

logger = logging.getLogger(__name__)

DEMO_WORKSPACE = "Demo Records"
DEMO_SLUG = "demo"
DEMO_SOON_SLUG = "demo-soon"
SINGLE_LEAD_TIME = timedelta(days=7)
API_KEY_FILE = "demo_api_key"
MAX_RELEASE_IN = timedelta(days=30)
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class DemoResult:
    public_url: str
    api_key: str | None
    single_release_date: date
    moved_to: datetime | None = None
    """The single's new release instant when ``release_in`` was given."""
    single_release_id: UUID | None = None


def parse_duration(text: str) -> timedelta:
    """``30s``, ``2m``, ``1h``, ``1h30m``, ``2d``: a positive delay of at most 30 days."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise ValidationFailed(
            f"{text!r} is not a duration like 30s, 2m, 1h or 1h30m", field="--release-in"
        )
    delay = timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in parts))
    if not timedelta(0) < delay <= MAX_RELEASE_IN:
        raise ValidationFailed("the delay must be between 1s and 30d", field="--release-in")
    return delay


def _platform_service_ids(ids: dict[str, str]) -> dict[str, str]:
    # The simulator keys artists by its own service names; ours differ for two of them.
    rename = {"apple": "apple_music", "youtube": "youtube_music"}
    return {rename.get(service, service): value for service, value in ids.items()}


def destinations_of(release: DemoRelease) -> list[Destination]:
    """One destination per service URL our registry recognises, in registry order."""
    by_platform: dict[str, str] = {}
    for url in release.service_urls.values():
        parsed = parse_service_url(url)
        if parsed is not None and parsed.platform not in by_platform:
            by_platform[parsed.platform] = parsed.url
    ordered = [key for key in PLATFORMS if key in by_platform]
    return [
        Destination(service=key, url=by_platform[key], country_urls={}, position=index)
        for index, key in enumerate(ordered)
    ]


async def _artist(session: AsyncSession, workspace_id: UUID, name: str) -> Artist:
    repository = ArtistRepository(session)
    existing = await repository.get_by_name(workspace_id, name)
    if existing is not None:
        return existing
    return await repository.add(
        Artist(
            workspace_id=workspace_id,
            name=name,
            service_ids=_platform_service_ids(DEMO_ARTIST_IDS.get(name, {})),
        )
    )


async def _release(
    session: AsyncSession,
    workspace_id: UUID,
    demo: DemoRelease,
    *,
    kind: ReleaseType,
    instant: datetime | None = None,
    local_date: date | None = None,
    artists: list[Artist],
    artwork_url: str,
) -> Release:
    repository = ReleaseRepository(session)
    existing = await repository.get_by_title(workspace_id, demo.title)
    if existing is not None:
        return existing
    return await repository.add(
        Release(
            workspace_id=workspace_id,
            title=demo.title,
            type=kind,
            upc=demo.upc,
            artwork_url=artwork_url,
            label_name=DEMO_WORKSPACE,
            release_mode=ReleaseMode.global_ if local_date is None else ReleaseMode.local,
            release_instant=instant if local_date is None else None,
            release_date=local_date,
            time_zone="America/New_York",
            artist_links=[
                ReleaseArtist(artist_id=artist.id, position=index, artist=artist)
                for index, artist in enumerate(artists)
            ],
            tracks=[
                Track(position=index, title=t.title, isrc=t.isrc, duration_ms=t.duration_ms)
                for index, t in enumerate(demo.tracks, start=1)
            ],
        )
    )


async def _link(session: AsyncSession, release: Release, slug: str, demo: DemoRelease) -> Link:
    repository = LinkRepository(session)
    existing = await repository.get_by_host_slug(DEFAULT_HOST, slug)
    if existing is not None:
        return existing
    link = await repository.add(
        Link(
            workspace_id=release.workspace_id,
            release_id=release.id,
            slug=slug,
            host=DEFAULT_HOST,
            destinations=destinations_of(demo),
        )
    )
    await touch_links(session, [link.id])
    return link


async def seed(session: AsyncSession, settings: Settings, clock: Clock) -> tuple[Release, bool]:
    """Create (or find) the demo; returns the single and whether the workspace is new."""
    now = clock.now()
    workspace = await WorkspaceRepository(session).get_by_name(DEMO_WORKSPACE)
    created = workspace is None
    if workspace is None:
        workspace = await accounts.create_workspace(
            session, name=DEMO_WORKSPACE, kind=WorkspaceKind.label
        )
    nova = await _artist(session, workspace.id, "Nova Reyes")
    lanterns = await _artist(session, workspace.id, "The Paper Lanterns")
    static = f"{settings.public_url}/static/demo"
    album = await _release(
        session,
        workspace.id,
        DEMO_ALBUM,
        kind=ReleaseType.album,
        instant=datetime.combine(DEMO_ALBUM.release_date, datetime.min.time(), tzinfo=now.tzinfo),
        artists=[nova],
        artwork_url=f"{static}/midnight-cartography.jpg",
    )
    # Local mode, the product's default: out at local midnight in each territory.
    single_date = (now + SINGLE_LEAD_TIME).date()
    single = await _release(
        session,
        workspace.id,
        DEMO_SINGLE,
        kind=ReleaseType.single,
        local_date=single_date,
        artists=[lanterns, nova],
        artwork_url=f"{static}/lantern-light.jpg",
    )
    if single.release_date is not None and single.release_date <= (now - timedelta(days=1)).date():
        logger.info("the demo single was already out; moving it 7 days ahead again")
        single.release_date = single_date
    elif single.release_instant is not None and single.release_instant <= now - timedelta(hours=1):
        # Moved by --release-in and out for an hour: back to a local-midnight release.
        logger.info("the demo single was already out; moving it 7 days ahead again")
        changed = await catalog.update_release(
            session,
            workspace.id,
            single.id,
            ReleaseUpdate(release_mode="local", release_date=single_date),
            territories=TerritoryTimeZones.load(settings.territory_timezones_file),
            clock=clock,
        )
        single = changed.release
    await _link(session, album, DEMO_SLUG, DEMO_ALBUM)
    soon = await _link(session, single, DEMO_SOON_SLUG, DEMO_SINGLE)
    campaigns = CampaignRepository(session)
    if await campaigns.get(workspace.id, soon.id) is None:
        await campaigns.add(Campaign(link_id=soon.id, workspace_id=workspace.id))
    await touch_links(session, [soon.id])
    return single, created


async def move_single_release(
    session: AsyncSession, single: Release, instant: datetime, *, settings: Settings, clock: Clock
) -> Release:
    """One instant everywhere, set through the catalogue's release update (which re-plans
    whatever depends on the release)."""
    changed = await catalog.update_release(
        session,
        single.workspace_id,
        single.id,
        ReleaseUpdate(release_mode="global", release_instant=instant),
        territories=TerritoryTimeZones.load(settings.territory_timezones_file),
        clock=clock,
    )
    return changed.release


async def seed_demo(
    settings: Settings, clock: Clock | None = None, *, release_in: timedelta | None = None
) -> DemoResult:
    clock = clock or SystemClock()
    await upgrade_to_head_async(settings.resolved_database_url)
    database = Database.from_settings(settings)
    key_file = settings.var_dir / API_KEY_FILE
    moved_to = None
    try:
        async with database.transaction(write_lock=True) as session:
            single, created = await seed(session, settings, clock)
            if release_in is not None:
                moved_to = clock.now() + release_in
                single = await move_single_release(
                    session, single, moved_to, settings=settings, clock=clock
                )
            api_key: str | None = None
            if created or not key_file.exists():
                issued = await accounts.issue_api_key(
                    session, workspace_id=single.workspace_id, name="demo", role=Role.admin
                )
                api_key = issued.plaintext
        if api_key is not None:
            files.replace(key_file, api_key)
        else:
            api_key = key_file.read_text().strip()
        released = single.release_date or (single.release_instant or clock.now()).date()
        return DemoResult(
            settings.public_url,
            api_key,
            released,
            moved_to=moved_to,
            single_release_id=single.id,
        )
    finally:
        await database.dispose()


def embedded_simulator_state(settings: Settings, clock: Clock | None = None) -> SimulatorState:
    """The simulator world mounted at /_sim for the demo, calling back to this instance."""
    callback = f"{settings.public_url}/presave/oauth/callback"
    return demo_state(
        upcoming_release_at=(clock or SystemClock()).now() + SINGLE_LEAD_TIME,
        clock=clock,
        redirect_uris=(callback, *DEMO_REDIRECT_URIS),
    )


async def align_simulator_with_demo(
    state: SimulatorState, database: Database, settings: Settings
) -> None:
    """Make the simulated services release the demo single when the seeded release does."""
    async with database.sessionmaker() as session:
        workspace = await WorkspaceRepository(session).get_by_name(DEMO_WORKSPACE)
        if workspace is None:
            return
        single = await ReleaseRepository(session).get_by_title(workspace.id, DEMO_SINGLE.title)
    if single is None:
        return
    territories = TerritoryTimeZones.load(settings.territory_timezones_file)
    if single.release_instant is not None:
        # One instant everywhere (moved by --release-in or through the API).
        for country in territories.entries:
            state.set_availability(DEMO_SINGLE.key, country=country, at=single.release_instant)
        state.set_availability(DEMO_SINGLE.key, at=single.release_instant)
        return
    if single.release_date is None:
        return
    first = None
    for country in territories.entries:
        at = territories.local_midnight_release_instant(
            single.release_date, country, default_zone=single.time_zone
        )
        state.set_availability(DEMO_SINGLE.key, country=country, at=at)
        first = at if first is None or at < first else first
    if first is not None:
        state.set_availability(DEMO_SINGLE.key, at=first)


class DemoSimulatorAligner:
    """Keeps the embedded simulator's release of the demo single where the database has it.

    Subscribed to the link change bus: a release move (from ``launchlink demo
    --release-in`` in another process, or an API call) touches the single's links, the
    change feed publishes it here, and the simulator is re-aligned in the background.
    """

    def __init__(self, state: SimulatorState, database: Database, settings: Settings) -> None:
        self.state = state
        self.database = database
        self.settings = settings
        self._running: asyncio.Task[None] | None = None
        self._again = False

    def links_changed(self, link_ids: Sequence[UUID]) -> None:
        del link_ids  # any change may be the single's; re-aligning is cheap
        if self._running is not None and not self._running.done():
            self._again = True
            return
        self._running = asyncio.get_running_loop().create_task(self._align())

    async def _align(self) -> None:
        while True:
            self._again = False
            try:
                await align_simulator_with_demo(self.state, self.database, self.settings)
            except Exception:
                logger.exception("could not re-align the embedded simulator with the demo")
            if not self._again:
                return

    async def idle(self) -> None:
        """Wait for a running re-alignment (tests, shutdown)."""
        if self._running is not None:
            await self._running
