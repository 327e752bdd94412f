"""Offer only what can finish, on release day: services without a UPC/ISRC search are found
from the release's link, and a configuration error is permanent — the pre-save fails at once
with what to configure, one log line, no retries, no tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from launchlink.connectors.settings import ConnectorsSettings
from launchlink.db import Database
from launchlink.fulfilment import report
from launchlink.fulfilment.service import progress
from launchlink.models.fulfilment import FulfilmentJob
from launchlink.models.presave import PresaveState
from launchlink.simulator.catalog import service_album_url
from launchlink.simulator.profile import DEMO_APPLE_KEY_ID, DEMO_APPLE_TEAM_ID
from tests.fulfilment.harness import RELEASE_AT, World, drain, make_world


def until_release(world: World, *, after_seconds: float = 1) -> None:
    world.advance((RELEASE_AT - world.clock.now()).total_seconds() + after_seconds)


async def add_release_links(world: World, *services: str) -> None:
    """The link's destinations on SoundCloud and YouTube Music, as the operator pastes them."""
    album = world.state.catalog.albums["tide"]
    platform = {"soundcloud": "soundcloud", "youtube": "youtube_music"}
    for service in services:
        url = service_album_url(world.state.catalog, album, service)
        await world.add_destination(platform[service], url)


async def test_soundcloud_and_youtube_fans_are_saved_from_the_releases_link(db: Database) -> None:
    world = await make_world(db)
    await add_release_links(world, "soundcloud", "youtube")
    soundcloud = await world.add_fan("soundcloud", user="sc-fan")
    youtube = await world.add_fan("youtube", user="yt-fan")
    until_release(world)
    await drain(world.engine())

    for presave_id in (soundcloud, youtube):
        presave = await world.presave(presave_id)
        assert presave.state is PresaveState.done, presave.final_reason
    album = world.state.catalog.albums["tide"]
    liked = {(e.action, e.item) for e in world.state.ledger.query(service="soundcloud")}
    assert liked == {
        ("like_playlist", f"soundcloud:playlists:{album.ids['soundcloud']}"),
        *(("like_track", f"soundcloud:tracks:{t.ids['soundcloud']}") for t in album.tracks),
    }
    videos = [e.item for e in world.state.ledger.query(service="youtube", action="like_video")]
    assert videos == [t.ids["youtube"] for t in album.tracks]


async def test_a_late_release_is_polled_from_its_link_until_it_is_public(db: Database) -> None:
    world = await make_world(db, available_from=RELEASE_AT.replace(hour=3))
    await add_release_links(world, "soundcloud")
    presave_id = await world.add_fan("soundcloud", user="sc-late")
    until_release(world)
    await drain(world.engine())
    waiting = await world.presave(presave_id)
    assert not waiting.state.is_final  # SoundCloud keeps a scheduled set private: not yet
    assert world.state.ledger.query(service="soundcloud") == []

    world.advance(4 * 3600)
    await drain(world.engine())
    assert (await world.presave(presave_id)).state is PresaveState.done


@dataclass(frozen=True)
class Misconfiguration:
    name: str
    service: str
    change: Callable[[ConnectorsSettings], None] | None
    says: str
    links: tuple[str, ...] = ()


def _unset(service: str, field: str) -> Callable[[ConnectorsSettings], None]:
    def change(settings: ConnectorsSettings) -> None:
        setattr(getattr(settings, service), field, None)

    return change


CASES = [
    Misconfiguration(
        "apple key removed after fans pre-saved",
        "apple_music",
        _unset("apple_music", "private_key_pem"),
        "LAUNCHLINK_CONNECTORS__APPLE_MUSIC__PRIVATE_KEY_PEM",
    ),
    Misconfiguration(
        "spotify secret removed",
        "spotify",
        _unset("spotify", "client_secret"),
        "LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_SECRET",
    ),
    Misconfiguration(
        "youtube api key removed",
        "youtube",
        _unset("youtube", "api_key"),
        "LAUNCHLINK_CONNECTORS__YOUTUBE__API_KEY",
        links=("youtube",),
    ),
    Misconfiguration(
        "soundcloud release without its link",
        "soundcloud",
        None,
        "SoundCloud cannot find this release: it needs the release's SoundCloud link",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_configuration_error_fails_the_presaves_at_once_saying_what_to_configure(
    case: Misconfiguration, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_world(db)
    await add_release_links(world, *case.links)
    fans = [await world.add_fan(case.service, user=f"fan-{n}") for n in range(3)]
    until_release(world)
    registry = world.reconfigured(case.change) if case.change else None
    caplog.set_level(logging.INFO)

    processed = await drain(world.engine(registry=registry))

    assert processed == 3  # one claim each: no retry is scheduled
    for presave_id in fans:
        presave = await world.presave(presave_id)
        assert presave.state is PresaveState.failed
        assert presave.final_reason is not None
        assert presave.final_reason.startswith("configuration: ")
        assert case.says in presave.final_reason
    async with db.transaction() as session:
        open_jobs = await session.scalar(
            select(func.count()).select_from(FulfilmentJob).where(FulfilmentJob.open.is_(True))
        )
        rows = [row async for row in report.report_rows(session, world.link_id)]
        shown = await progress(session, world.release_id, clock=world.clock)
    assert open_jobs == 0
    assert {row["state"] for row in rows} == {"failed"}
    assert all(case.says in (row["reason"] or "") for row in rows)
    assert {s.service: s.failed for s in shown.services} == {case.service: 3}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert case.says in errors[0].getMessage()
    assert all(record.exc_info is None for record in caplog.records)  # no tracebacks
    assert world.state.ledger.query(service=world_service(case.service)) == []


def world_service(service: str) -> str:
    return {"apple_music": "apple"}.get(service, service)


async def test_credentials_the_service_refuses_fail_the_presave_without_retrying(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_world(db)
    # Apple knows another key under our key id now: every developer token is refused.
    other_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    world.state.register_apple_key(DEMO_APPLE_KEY_ID, DEMO_APPLE_TEAM_ID, other_public)
    presave_id = await world.add_fan("apple_music", user="apple-refused")
    until_release(world)
    caplog.set_level(logging.INFO)

    assert await drain(world.engine()) == 1
    presave = await world.presave(presave_id)
    assert presave.state is PresaveState.failed
    assert presave.final_reason is not None
    assert presave.final_reason.startswith("configuration: ")
    assert "developer token refused" in presave.final_reason
    assert all(record.exc_info is None for record in caplog.records)
