"""Service modes and their honest fallbacks; Apple Music pre-add through MusicKit's stand-in."""

from __future__ import annotations

import re

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from launchlink.app import Application
from launchlink.connectors.settings import SpotifySettings
from launchlink.connectors.spotify import SpotifyConnector
from launchlink.models import Presave, ServiceGrant
from launchlink.models.presave import ServiceMode
from launchlink.presave.modes import ConnectorMap, resolve_options
from launchlink.simulator.state import SimulatorState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    APPLE_PREORDER_ALBUM_ID,
    approve_on_simulator,
    csrf_of,
    make_presave_link,
    open_page,
)


def _spotify(**settings: object) -> SpotifyConnector:
    return SpotifyConnector(SpotifySettings(**settings))  # type: ignore[arg-type]


def _options(connectors: ConnectorMap, *, grants: int = 0, **campaign: object) -> dict[str, object]:
    options = resolve_options(
        ["spotify", "apple_music", "amazon_music", "deezer"],
        campaign_modes=campaign.get("modes", {}),  # type: ignore[arg-type]
        workspace_modes={},
        link_urls={"amazon_music": "https://music.amazon.com/albums/B0X"},
        connectors=connectors,
        has_preorder=bool(campaign.get("preorder")),
        active_spotify_grants=grants,
    )
    return {o.service: (o.mode, o.fallback) for o in options}


def test_a_service_without_credentials_falls_back_to_reminders() -> None:
    options = _options(ConnectorMap(spotify=_spotify()))
    assert options["spotify"] == (ServiceMode.reminder, "unavailable")
    assert options["deezer"] == (ServiceMode.reminder, "unavailable")  # no connector at all
    assert options["amazon_music"] == (ServiceMode.link_only, None)


def test_spotify_in_development_mode_stops_at_five_users() -> None:
    connector = _spotify(
        client_id="id", client_secret=SecretStr("secret"), quota_mode="development"
    )
    below = _options(ConnectorMap(spotify=connector), grants=4)
    at_limit = _options(ConnectorMap(spotify=connector), grants=5)
    assert below["spotify"] == (ServiceMode.direct_save, None)
    assert at_limit["spotify"] == (ServiceMode.reminder, "user_limit")


def test_extended_quota_spotify_has_no_user_limit() -> None:
    connector = _spotify(client_id="id", client_secret=SecretStr("secret"), quota_mode="extended")
    assert _options(ConnectorMap(spotify=connector), grants=500)["spotify"] == (
        ServiceMode.direct_save,
        None,
    )


def test_operator_modes_win_and_off_hides_a_service() -> None:
    connector = _spotify(client_id="id", client_secret=SecretStr("secret"))
    options = _options(
        ConnectorMap(spotify=connector),
        modes={"spotify": "reminder", "amazon_music": "off"},
    )
    assert options["spotify"] == (ServiceMode.reminder, None)
    assert "amazon_music" not in options


async def test_the_page_offers_each_mode_and_explains_fallbacks(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(
        admin,
        label,
        campaign={
            "service_modes": {"deezer": "reminder", "amazon_music": "direct_save"},
            "link_only_urls": {"bandcamp": "https://novareyes.bandcamp.com/album/midnight"},
        },
    )
    html = await open_page(fan)
    assert 'id="presave-spotify"' in html
    assert "Save the release (album and tracks) to your Spotify library." in html
    assert 'id="remind-deezer"' in html
    assert 'id="link-bandcamp"' in html
    assert "novareyes.bandcamp.com" in html
    # Amazon Music cannot save for fans: it falls back to a reminder, and says so.
    assert 'id="remind-amazon_music"' in html
    assert "Saving straight to Amazon Music is not available here" in html


async def test_the_workspace_modes_apply_to_its_campaigns(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    saved = await admin.put(label, "/presave/service-modes", {"modes": {"spotify": "reminder"}})
    assert saved.status_code == 200
    created = await make_presave_link(admin, label)
    spotify = next(s for s in created["campaign"]["services"] if s["service"] == "spotify")
    assert spotify["mode"] == "reminder"
    assert 'id="remind-spotify"' in await open_page(fan)


async def test_apple_music_preadd_runs_through_the_musickit_stand_in(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, sim: SimulatorState
) -> None:
    await make_presave_link(
        admin, label, campaign={"apple_preorder_album_id": APPLE_PREORDER_ALBUM_ID}
    )
    html = await open_page(fan)
    assert 'id="presave-apple_music"' in html
    assert re.search(
        r'id="presave-apple_music".*?<span class="name">Apple Music</span>'
        r'<span class="cta">Pre-add</span>',
        html,
    )
    started = await fan.post(
        "/presave/soon/connect", data={"csrf": csrf_of(html), "service": "apple_music"}
    )
    assert started.status_code == 303
    assert "/_sim/apple/authorize" in started.headers["location"]
    answered = await approve_on_simulator(fan, started.headers["location"], username="apple-fan")
    assert answered.status_code == 302
    finished = await fan.get(httpx.URL(answered.headers["location"]).raw_path.decode())
    assert finished.status_code == 303, finished.text
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        grant = (await session.execute(select(ServiceGrant))).scalar_one()
    assert presave.mode is ServiceMode.preadd
    assert presave.outcome["consent_time"] == [
        {"action": "preadd", "targets": [APPLE_PREORDER_ALBUM_ID], "status": "done"}
    ]
    assert grant.storefront == "gb"
    assert sim.ledger.query(service="apple", user="apple-fan"), "no pre-add reached Apple"


async def _grants(app: Application, *accounts: tuple[str, str, bool]) -> None:
    """(workspace name, Spotify account, revoked) → a fan with a Spotify grant there."""
    from datetime import UTC, datetime

    from launchlink.accounts.service import create_workspace
    from launchlink.models import Fan

    async with app.context.database.transaction() as session:
        workspaces: dict[str, object] = {}
        for name, account, revoked in accounts:
            if name not in workspaces:
                workspaces[name] = await create_workspace(session, name=name)
            workspace = workspaces[name]
            fan_row = Fan(workspace_id=workspace.id)  # type: ignore[attr-defined]
            session.add(fan_row)
            await session.flush()
            session.add(
                ServiceGrant(
                    workspace_id=workspace.id,  # type: ignore[attr-defined]
                    fan_id=fan_row.id,
                    service="spotify",
                    account_id=account,
                    revoked_at=datetime(2026, 2, 1, tzinfo=UTC) if revoked else None,
                )
            )


async def test_the_spotify_user_limit_counts_every_workspace_of_the_instance(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    from uuid import UUID

    from launchlink.models import Campaign, Link
    from launchlink.presave.campaigns import service_options
    from launchlink.presave.repository import PresaveRepository

    created = await make_presave_link(admin, label)
    # Four users in two other workspaces (one pre-saved in both), one revoked: 4 so far.
    await _grants(
        papp,
        ("Label Two", "u1", False),
        ("Label Two", "u2", False),
        ("Label Three", "u2", False),
        ("Label Three", "u3", False),
        ("Label Three", "u4", False),
        ("Label Three", "u5", True),
    )
    connectors = ConnectorMap(
        spotify=_spotify(
            client_id="id", client_secret=SecretStr("secret"), quota_mode="development"
        )
    )

    async def spotify_option() -> tuple[ServiceMode, str | None]:
        async with papp.context.database.sessionmaker() as session:
            link_id = UUID(created["link"]["id"])
            link = await session.get(Link, link_id)
            campaign = await session.get(Campaign, link_id)
            assert link is not None
            assert campaign is not None
            options = await service_options(
                session, connectors, link=link, campaign=campaign, destination_urls={"spotify": "x"}
            )
        spotify = next(o for o in options if o.service == "spotify")
        return spotify.mode, spotify.fallback

    async with papp.context.database.sessionmaker() as session:
        assert await PresaveRepository(session).count_active_accounts("spotify") == 4
    assert await spotify_option() == (ServiceMode.direct_save, None)
    await _grants(papp, ("Label Four", "u6", False))
    assert await spotify_option() == (ServiceMode.reminder, "user_limit")
