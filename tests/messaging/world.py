"""A release with fans in several time zones, built through the real models, and a
delivery wired to real channels (for the messaging tests and the benchmark)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from launchlink import events
from launchlink.accounts import service as accounts
from launchlink.db import Database
from launchlink.kit.territories import bundled_territory_time_zones
from launchlink.models import Artist, Destination, Fan, Link, Presave, Release, ReleaseArtist
from launchlink.models.catalog import ReleaseMode, ReleaseType
from launchlink.models.presave import PresaveState, ServiceMode
from launchlink.presave.timing import fan_release_instant, fan_zone_name, timing_of

TERRITORIES = bundled_territory_time_zones()
PUBLIC_URL = "https://links.example.test"


@dataclass
class World:
    database: Database
    workspace_id: UUID
    release_id: UUID
    link_id: UUID
    fans: dict[str, UUID] = field(default_factory=dict)
    presaves: dict[str, UUID] = field(default_factory=dict)

    async def add_fan(
        self,
        name: str,
        *,
        country: str,
        zone: str | None = None,
        email: bool = True,
        phone: str | None = None,
        sms_confirmed: bool = False,
        region: str | None = None,
        language: str = "en",
        consent_at: datetime,
        service: str = "spotify",
        mode: ServiceMode = ServiceMode.direct_save,
        emit: bool = False,
        reminder_only: bool = False,
    ) -> UUID:
        """A fan and their pre-save; ``emit``: with its ``presave.created`` in the same
        transaction, as the pre-save service does (messaging's planner answers it);
        ``reminder_only``: the address and number were given for this release's messages
        only (on the pre-save), with no marketing consent (on the fan)."""
        marketing_at = None if reminder_only else consent_at
        # Read, then write: on SQLite the write lock from BEGIN, or a server process writing
        # in between makes the upgrade fail at once with "database is locked".
        async with self.database.transaction(write_lock=True) as session:
            release = await session.get(Release, self.release_id)
            assert release is not None
            fan = Fan(
                workspace_id=self.workspace_id,
                email=f"{name}@fans.example.test" if email else None,
                email_consent_at=marketing_at if email else None,
                phone=phone,
                sms_consent_at=marketing_at if phone else None,
                sms_confirmed_at=consent_at if phone and sms_confirmed else None,
                country=country,
                time_zone=zone,
                region=region,
                language=language,
            )
            session.add(fan)
            await session.flush()
            timing = timing_of(release, None)
            presave = Presave(
                workspace_id=self.workspace_id,
                link_id=self.link_id,
                release_id=self.release_id,
                fan_id=fan.id,
                service=service,
                mode=mode,
                state=PresaveState.waiting,
                country=country,
                time_zone=fan_zone_name(timing, country, TERRITORIES, zone),
                due_at=fan_release_instant(timing, country, TERRITORIES, zone),
                actions={"save_release": True},
                email_reminder_at=consent_at if reminder_only and email else None,
                sms_reminder_at=consent_at if reminder_only and phone else None,
            )
            session.add(presave)
            await session.flush()
            if emit:
                await events.emit(
                    session,
                    events.PresaveCreated(
                        occurred_at=consent_at,
                        workspace_id=self.workspace_id,
                        presave_id=presave.id,
                        link_id=self.link_id,
                        release_id=self.release_id,
                        fan_id=fan.id,
                        service=service,
                        mode=mode.value,
                        due_at=presave.due_at,
                    ),
                )
            self.fans[name], self.presaves[name] = fan.id, presave.id
            return fan.id


async def make_world(database: Database, *, release_date: date, slug: str = "tidewater") -> World:
    async with database.transaction() as session:
        workspace = await accounts.create_workspace(session, name="Tide Records")
        artist = Artist(workspace_id=workspace.id, name="Nova Reyes", service_ids={})
        session.add(artist)
        await session.flush()
        release = Release(
            workspace_id=workspace.id,
            title="Tidewater",
            type=ReleaseType.single,
            release_mode=ReleaseMode.local,
            release_date=release_date,
            time_zone="UTC",
        )
        session.add(release)
        await session.flush()
        session.add(ReleaseArtist(release_id=release.id, artist_id=artist.id, position=0))
        link = Link(workspace_id=workspace.id, release_id=release.id, slug=slug)
        session.add(link)
        await session.flush()
        session.add(
            Destination(
                link_id=link.id,
                service="spotify",
                url="https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
                position=0,
            )
        )
        await session.flush()
        return World(database, workspace.id, release.id, link.id)
