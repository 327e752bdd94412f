"""A release that moves takes its pre-saves and messages with it, in both directions.

Walked as a label over HTTP (``PATCH /api/v1/releases/{id}``) with fans who pre-saved
through the real pages: one in Britain on Spotify, one in the US who chose Tokyo time on
Spotify, one in the US who asked for an email reminder on Deezer, and (where it matters)
one whose country is unknown. The clock is frozen; the engine is the real one, against
the embedded simulator.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from launchlink.accounts import service as accounts
from launchlink.app import Application
from launchlink.catalog import service as catalog
from launchlink.cli import app as cli
from launchlink.errors import ValidationFailed
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.limiter import MemoryLimiter
from launchlink.fulfilment.service import build_engine
from launchlink.kit.clock import FrozenClock
from launchlink.models import Message, Presave, PresaveEvent
from launchlink.models.accounts import Role
from launchlink.models.fulfilment import FulfilmentJob, ReleaseResolution
from launchlink.models.messaging import MessageChannel, MessageKind
from launchlink.models.presave import PresaveState
from launchlink.presave.modes import RegistrySource
from launchlink.simulator.catalog import Album, Track
from launchlink.simulator.state import SimulatorState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key
from tests.fulfilment.harness import drain
from tests.presave.conftest import (
    Inbox,
    browser_for,
    csrf_of,
    deliver_messages,
    make_presave_link,
    presave_via_spotify,
    sign_up_for_reminder,
)

OLD_DATE = "2026-03-06"
LATER_DATE = "2026-03-13"  # after the US switches to summer time (8 March 2026)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Fans:
    release_id: str
    link_id: str
    gb: UUID
    tokyo: UUID
    reminder: UUID
    unknown: UUID | None
    confirmations: dict[str, str]
    """Fan → the confirmation page address (signed ``?t=``) the flow sent them to."""
    cookies: dict[str, httpx.Cookies]
    """Fan → their browser's cookies (confirmation pages belong to that browser)."""


async def _choose_zone(browser: httpx.AsyncClient, zone: str) -> None:
    page = await browser.get("/presave/soon/timezone")
    assert page.status_code == 200, page.text
    chosen = await browser.post(
        "/presave/soon/timezone", data={"csrf": csrf_of(page.text), "zone": zone}
    )
    assert chosen.status_code == 303


async def _presave_id(papp: Application, **where: Any) -> UUID:
    async with papp.context.database.sessionmaker() as session:
        query = select(Presave.id)
        for name, value in where.items():
            query = query.where(getattr(Presave, name) == value)
        return (await session.execute(query)).scalar_one()


async def three_zones(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    inbox: Inbox,
    *,
    unknown_country: bool = False,
) -> Fans:
    made = await make_presave_link(
        admin,
        label,
        release={"release_mode": "local", "release_date": OLD_DATE, "time_zone": "UTC"},
        campaign={"service_modes": {"deezer": "reminder"}},
    )
    release_id = made["link"]["release_id"]
    confirmations: dict[str, str] = {}
    cookies: dict[str, httpx.Cookies] = {}
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        done = await presave_via_spotify(browser, username="gb-fan")
        assert done.status_code == 303, done.text
        confirmations["gb"] = done.headers["location"]
        cookies["gb"] = httpx.Cookies(browser.cookies)
    async with browser_for(papp, **{"CF-IPCountry": "US"}) as browser:
        await _choose_zone(browser, "Asia/Tokyo")
        done = await presave_via_spotify(browser, username="tokyo-fan")
        assert done.status_code == 303, done.text
        confirmations["tokyo"] = done.headers["location"]
    async with browser_for(papp, **{"CF-IPCountry": "US"}) as browser:
        confirmations["reminder"] = await sign_up_for_reminder(browser, inbox, "east@example.com")
    unknown = None
    if unknown_country:
        async with browser_for(papp) as browser:
            await sign_up_for_reminder(browser, inbox, "nowhere@example.com")
        unknown = await _presave_id(papp, country=None)
    return Fans(
        release_id=release_id,
        link_id=made["link"]["id"],
        gb=await _presave_id(papp, service="spotify", country="GB"),
        tokyo=await _presave_id(papp, service="spotify", country="US"),
        reminder=await _presave_id(papp, service="deezer", country="US"),
        unknown=unknown,
        confirmations=confirmations,
        cookies=cookies,
    )


async def plans(papp: Application) -> dict[UUID, tuple[str, datetime, str]]:
    async with papp.context.database.sessionmaker() as session:
        rows = (await session.execute(select(Presave))).scalars().all()
    return {p.id: (p.time_zone, p.due_at, p.state.value) for p in rows}


async def reminder_times(papp: Application) -> dict[UUID, datetime]:
    """The release-day emails (the reminders) planned, by pre-save."""
    assert papp.context.outbox is not None
    await papp.context.outbox.run_once()  # the planner answers presave.created
    async with papp.context.database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Message).where(
                    Message.channel == MessageChannel.email,
                    Message.kind == MessageKind.release_day,
                )
            )
        ).scalars()
        return {m.presave_id: m.send_at for m in rows if m.presave_id is not None}


async def move(admin: Api, label: WorkspaceKey, fans: Fans, **timing: Any) -> dict[str, Any]:
    response = await admin.patch(label, f"/releases/{fans.release_id}", timing)
    assert response.status_code == 200, response.text
    return dict(response.json())


def release_on_services(sim: SimulatorState, *, available_from: datetime) -> None:
    """The label's release appears on the simulated services at ``available_from``."""
    sim.upsert_album(
        Album(
            key="moving-release",
            title="Midnight Cartography",
            artist_keys=("nova-reyes",),
            upc="036000291452",
            release_date=available_from.date(),
            available_from=available_from,
            tracks=[Track("moving-1", "North Star", "USRC17607839", 201000, 1, ("nova-reyes",))],
        )
    )


def engine_of(papp: Application, clock: FrozenClock) -> FulfilmentEngine:
    connectors = papp.context.connectors
    assert isinstance(connectors, RegistrySource)
    engine, _registry = build_engine(
        papp.context.settings,
        papp.context.database,
        clock,
        registry=connectors.registry,
        limiter=MemoryLimiter(),
    )
    return engine


async def open_jobs(papp: Application) -> int:
    async with papp.context.database.sessionmaker() as session:
        return int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(FulfilmentJob)
                    .where(FulfilmentJob.open.is_(True))
                )
            ).scalar_one()
        )


# -- moved later ---------------------------------------------------------------------------


async def test_a_later_date_replans_every_fan_and_reminder_in_their_own_zone(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    before = await plans(papp)
    assert before[fans.gb][:2] == ("Europe/London", at("2026-03-06T00:00"))
    assert before[fans.tokyo][:2] == ("Asia/Tokyo", at("2026-03-05T15:00"))
    assert before[fans.reminder][:2] == ("America/New_York", at("2026-03-06T05:00"))

    await move(admin, label, fans, release_date=LATER_DATE)

    after = await plans(papp)
    assert after[fans.gb] == ("Europe/London", at("2026-03-13T00:00"), "waiting")
    assert after[fans.tokyo] == ("Asia/Tokyo", at("2026-03-12T15:00"), "waiting")
    # New York is on summer time by then: midnight is 04:00 UTC, not 05:00.
    assert after[fans.reminder] == ("America/New_York", at("2026-03-13T04:00"), "waiting")
    assert (await reminder_times(papp))[fans.reminder] == at("2026-03-13T04:00")


async def test_the_fans_confirmation_page_shows_the_new_date(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        browser.cookies = fans.cookies["gb"]
        page = await browser.get(fans.confirmations["gb"])
        assert page.status_code == 200, page.text
        assert 'datetime="2026-03-06T00:00:00+00:00"' in page.text

        await move(admin, label, fans, release_date=LATER_DATE)

        page = await browser.get(fans.confirmations["gb"])
    assert page.status_code == 200
    assert 'datetime="2026-03-13T00:00:00+00:00"' in page.text
    assert "2026-03-06T00:00" not in page.text


async def test_fulfilment_runs_at_the_new_moment_and_not_at_the_old_one(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    sim: SimulatorState,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    release_on_services(sim, available_from=at("2026-03-12T15:00"))
    await move(admin, label, fans, release_date=LATER_DATE)
    engine = engine_of(papp, clock)

    clock.set(at("2026-03-06T06:00"))  # every old instant has passed
    assert await drain(engine) == 0
    assert await open_jobs(papp) == 0
    assert sim.ledger.query(service="spotify", user="gb-fan", action="save_album") == []

    clock.set(at("2026-03-13T00:00") + timedelta(seconds=1))
    assert await drain(engine) == 2

    after = await plans(papp)
    assert after[fans.gb][2] == "done"
    assert after[fans.tokyo][2] == "done"
    for user in ("gb-fan", "tokyo-fan"):
        saved = sim.ledger.query(service="spotify", user=user, action="save_album")
        assert [e.outcome for e in saved] == ["added"], f"{user}'s library never got it"
        assert saved[0].at >= at("2026-03-12T15:00")


async def test_a_due_presave_not_started_waits_again_when_the_release_moves_later(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    sim: SimulatorState,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    engine = engine_of(papp, clock)
    clock.set(at("2026-03-06T00:00") + timedelta(seconds=5))
    assert await engine.schedule() >= 2  # both Spotify pre-saves are queued...
    assert await open_jobs(papp) == 2  # ...and no worker has claimed them yet

    await move(admin, label, fans, release_date=LATER_DATE)

    after = await plans(papp)
    assert after[fans.gb] == ("Europe/London", at("2026-03-13T00:00"), "waiting")
    assert after[fans.tokyo] == ("Asia/Tokyo", at("2026-03-12T15:00"), "waiting")
    assert await open_jobs(papp) == 0
    async with papp.context.database.sessionmaker() as session:
        reasons = (
            await session.execute(
                select(PresaveEvent.reason).where(
                    PresaveEvent.presave_id == fans.gb, PresaveEvent.state == PresaveState.waiting
                )
            )
        ).scalars()
        assert "the release moved; waiting for its new date" in list(reasons)
    release_on_services(sim, available_from=at("2026-03-12T15:00"))
    assert await drain(engine) == 0  # not before its new moment

    clock.set(at("2026-03-13T00:00"))
    assert await drain(engine) == 2
    assert (await plans(papp))[fans.gb][2] == "done"


async def test_fans_polling_for_a_late_release_wait_for_the_new_date_with_a_fresh_poll_clock(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    sim: SimulatorState,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    engine = engine_of(papp, clock)
    clock.set(at("2026-03-06T00:00") + timedelta(seconds=5))
    await drain(engine)  # not on the services yet: both look it up, then keep polling
    assert {(await plans(papp))[p][2] for p in (fans.gb, fans.tokyo)} == {"resolving"}
    async with papp.context.database.sessionmaker() as session:
        polled = await session.scalar(select(func.count()).select_from(ReleaseResolution))
    assert polled

    await move(admin, label, fans, release_date=LATER_DATE)

    after = await plans(papp)
    assert after[fans.gb] == ("Europe/London", at("2026-03-13T00:00"), "waiting")
    assert after[fans.tokyo] == ("Asia/Tokyo", at("2026-03-12T15:00"), "waiting")
    assert await open_jobs(papp) == 0
    async with papp.context.database.sessionmaker() as session:
        # The old polls' schedule (and give-up deadline) belonged to the old date.
        assert await session.scalar(select(func.count()).select_from(ReleaseResolution)) == 0
    release_on_services(sim, available_from=at("2026-03-12T15:00"))
    clock.set(at("2026-03-13T00:00"))
    assert await drain(engine) == 2
    assert {(await plans(papp))[p][2] for p in (fans.gb, fans.tokyo)} == {"done"}


async def test_a_due_presave_whose_new_date_has_passed_too_stays_queued(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    sim: SimulatorState,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    engine = engine_of(papp, clock)
    clock.set(at("2026-03-06T00:00") + timedelta(seconds=5))
    await engine.schedule()
    assert await open_jobs(papp) == 2

    await move(admin, label, fans, release_date="2026-03-05")

    after = await plans(papp)
    assert after[fans.gb] == ("Europe/London", at("2026-03-05T00:00"), "due")
    assert after[fans.tokyo] == ("Asia/Tokyo", at("2026-03-04T15:00"), "due")
    assert await open_jobs(papp) == 2  # still queued: its moment has passed either way
    release_on_services(sim, available_from=at("2026-03-04T00:00"))
    assert await drain(engine) == 2
    assert (await plans(papp))[fans.gb][2] == "done"


# -- moved earlier -------------------------------------------------------------------------


async def test_an_earlier_date_already_past_makes_everyone_due_at_once(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    sim: SimulatorState,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    assert (await deliver_messages(papp)).sent == 0
    release_on_services(sim, available_from=at("2026-02-28T00:00"))

    # It is 1 March, 12:00 UTC: out today, so past midnight everywhere these fans are.
    await move(admin, label, fans, release_date="2026-03-01")

    after = await plans(papp)
    assert after[fans.gb][1] == at("2026-03-01T00:00")
    assert after[fans.tokyo][1] == at("2026-02-28T15:00")
    assert after[fans.reminder][1] == at("2026-03-01T05:00")
    assert (await reminder_times(papp))[fans.reminder] == at("2026-03-01T05:00")
    assert {after[p][2] for p in (fans.gb, fans.tokyo)} == {"waiting"}
    assert await drain(engine_of(papp, clock)) == 2  # due now, not at the old date
    assert (await plans(papp))[fans.gb][2] == "done"
    # The reminder goes out now too; its countdown, whose moment passed, was cancelled
    # by the move.
    assert (await deliver_messages(papp)).sent == 1


async def test_an_earlier_date_still_ahead_brings_everyone_forward(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    fans = await three_zones(papp, admin, label, inbox)

    await move(admin, label, fans, release_date="2026-03-03")

    after = await plans(papp)
    assert after[fans.gb] == ("Europe/London", at("2026-03-03T00:00"), "waiting")
    assert after[fans.tokyo] == ("Asia/Tokyo", at("2026-03-02T15:00"), "waiting")
    assert after[fans.reminder] == ("America/New_York", at("2026-03-03T05:00"), "waiting")
    engine = engine_of(papp, clock)
    clock.set(at("2026-03-02T15:00"))
    assert await engine.schedule() == 1  # Tokyo first, at its own midnight
    assert (await plans(papp))[fans.gb][2] == "waiting"


# -- the zone, the mode ----------------------------------------------------------------------


async def test_a_new_default_zone_moves_only_fans_whose_country_is_unknown(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox, unknown_country=True)
    assert fans.unknown is not None
    before = await plans(papp)
    assert before[fans.unknown][:2] == ("UTC", at("2026-03-06T00:00"))

    await move(admin, label, fans, time_zone="America/Los_Angeles")

    after = await plans(papp)
    assert after[fans.unknown] == ("America/Los_Angeles", at("2026-03-06T08:00"), "waiting")
    assert (await reminder_times(papp))[fans.unknown] == at("2026-03-06T08:00")
    for fan in (fans.gb, fans.tokyo, fans.reminder):
        assert after[fan] == before[fan]


async def test_switching_to_a_global_instant_and_back_replans_everyone(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)

    await move(admin, label, fans, release_mode="global", release_instant="2026-03-10T12:00:00Z")

    after = await plans(papp)
    for fan in (fans.gb, fans.tokyo, fans.reminder):
        assert after[fan][1] == at("2026-03-10T12:00")
    assert after[fans.tokyo][0] == "Asia/Tokyo"  # still shown in the zone the fan chose
    assert (await reminder_times(papp))[fans.reminder] == at("2026-03-10T12:00")

    await move(admin, label, fans, release_mode="local", release_date="2026-03-09")

    after = await plans(papp)
    assert after[fans.gb][1] == at("2026-03-09T00:00")
    assert after[fans.tokyo][1] == at("2026-03-08T15:00")
    assert after[fans.reminder][1] == at("2026-03-09T04:00")


async def test_a_change_that_does_not_touch_the_timing_plans_nothing_again(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    async with papp.context.database.sessionmaker() as session:
        stamps = {
            row[0]: row[1] for row in await session.execute(select(Presave.id, Presave.updated_at))
        }

    await move(admin, label, fans, title="Midnight Cartography (Deluxe)")

    async with papp.context.database.sessionmaker() as session:
        after = {
            row[0]: row[1] for row in await session.execute(select(Presave.id, Presave.updated_at))
        }
    assert after == stamps


# -- what is not moved ----------------------------------------------------------------------


async def test_started_and_finished_presaves_are_left_alone(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    sim: SimulatorState,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    release_on_services(sim, available_from=at("2026-03-01T00:00"))
    engine = engine_of(papp, clock)
    clock.set(at("2026-03-06T00:00") + timedelta(seconds=5))
    await engine.schedule()
    [held] = await engine.claim("spotify", "busy-worker", 1)  # a worker holds one job
    [other] = await engine.claim("spotify", "fast-worker", 1)
    await engine.process(other, "fast-worker")  # and the other pre-save is done
    before = await plans(papp)
    assert before[other.presave_id][2] == "done"

    await move(admin, label, fans, release_date=LATER_DATE)

    after = await plans(papp)
    assert after[held.presave_id] == before[held.presave_id]  # resolving, old instant
    assert after[other.presave_id] == before[other.presave_id]
    assert await open_jobs(papp) == 1
    await engine.process(held, "busy-worker")  # the holder finishes what it started
    assert (await plans(papp))[held.presave_id][2] == "done"


async def test_another_workspace_can_neither_move_the_release_nor_its_fans(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    stranger = await create_workspace_with_key(papp.context.database, name="Other Label")
    before = await plans(papp)

    response = await admin.patch(
        stranger, f"/releases/{fans.release_id}", {"release_date": LATER_DATE}
    )

    assert response.status_code == 404
    assert await plans(papp) == before


async def test_a_bad_move_is_refused_with_the_field_and_plans_nothing(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    before = await plans(papp)

    for body, field in (
        ({"release_mode": "global"}, "release_instant"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"release_date": "2026-02-30"}, "release_date"),
    ):
        response = await admin.patch(label, f"/releases/{fans.release_id}", body)
        assert response.status_code == 422, response.text
        assert field in response.text
    assert await plans(papp) == before


# -- the territory table changed: `launchlink replan` ----------------------------------------


async def test_the_replan_command_applies_a_changed_territory_table(
    inbox: Inbox,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    tmp_path: Path,
    database_url: str,
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    table = tmp_path / "territories.csv"
    table.write_text("country,time_zone,note\nUS,America/Chicago,central for this label\n")
    settings = papp.context.settings
    env = {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(settings.var_dir),
        "LAUNCHLINK_TERRITORY_TIMEZONES_FILE": str(table),
    }

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["replan"], env=env)

    assert result.exit_code == 0, result.output
    assert "re-planned 1 release(s)" in result.output
    after = await plans(papp)
    assert after[fans.reminder][:2] == ("America/Chicago", at("2026-03-06T06:00"))
    assert after[fans.tokyo][:2] == ("Asia/Tokyo", at("2026-03-05T15:00"))  # chose its zone
    assert after[fans.gb][:2] == ("Europe/London", at("2026-03-06T00:00"))
    assert (await reminder_times(papp))[fans.reminder] == at("2026-03-06T06:00")


async def test_the_replan_command_names_a_broken_territory_table(
    papp: Application, tmp_path: Path, database_url: str
) -> None:
    table = tmp_path / "territories.csv"
    table.write_text("country,time_zone,note\nUK,Europe/London,\n")
    env = {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(papp.context.settings.var_dir),
        "LAUNCHLINK_TERRITORY_TIMEZONES_FILE": str(table),
    }

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["replan"], env=env)

    assert result.exit_code == 2
    assert "line 2" in result.output
    assert "GB" in result.output
    assert "Traceback" not in result.output


async def test_a_read_only_key_cannot_move_the_release(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    async with papp.context.database.transaction() as session:
        issued = await accounts.issue_api_key(
            session, workspace_id=label.workspace_id, name="read only", role=Role.viewer
        )
    reader = WorkspaceKey(label.workspace_id, issued.plaintext)
    before = await plans(papp)

    response = await admin.patch(
        reader, f"/releases/{fans.release_id}", {"release_date": LATER_DATE}
    )

    assert response.status_code == 403
    assert await plans(papp) == before


# -- the same move for scripts (the demo's --release-in) ------------------------------------


async def test_move_release_replans_like_the_api(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    territories = papp.context.territories
    assert territories is not None
    soon = clock.now() + timedelta(minutes=2)

    async with papp.context.database.transaction(write_lock=True) as session:
        change = await catalog.move_release(
            session,
            label.workspace_id,
            UUID(fans.release_id),
            release_mode="global",
            release_instant=soon,
            territories=territories,
            clock=clock,
        )

    assert change.replan is not None
    assert (change.replan.moved, change.replan.messages) == (3, 2)  # release day, countdown
    after = await plans(papp)
    assert {after[fan][1] for fan in (fans.gb, fans.tokyo, fans.reminder)} == {soon}
    assert (await reminder_times(papp))[fans.reminder] == soon


async def test_move_release_names_the_bad_field(
    inbox: Inbox, papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    fans = await three_zones(papp, admin, label, inbox)
    territories = papp.context.territories
    assert territories is not None

    with pytest.raises(ValidationFailed) as refused:
        async with papp.context.database.transaction(write_lock=True) as session:
            await catalog.move_release(
                session,
                label.workspace_id,
                UUID(fans.release_id),
                time_zone="Nowhere/Else",
                territories=territories,
                clock=clock,
            )

    assert refused.value.field == "time_zone"
