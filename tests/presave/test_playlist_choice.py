"""The campaign adds the release to the fan's chosen playlist: the chooser after sign-in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from launchlink.app import Application
from launchlink.models import ConsentRecord, Presave
from launchlink.simulator.models import Playlist
from launchlink.simulator.state import SimulatorState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    browser_for,
    csrf_of,
    make_presave_link,
    open_page,
    presave_via_spotify,
)

FANS_PLAYLIST = "4roadTripPlaylist00000a"
STRANGERS_PLAYLIST = "4someoneElsesList00000b"
CHOOSE_OWN = {"playlist_action": {"mode": "add_to_fan_playlist", "service": "spotify"}}


def _own_playlists(sim: SimulatorState, username: str) -> None:
    sim.playlists[("spotify", FANS_PLAYLIST)] = Playlist(
        service="spotify", playlist_id=FANS_PLAYLIST, owner_id=username, name="Road trip"
    )
    sim.playlists[("spotify", STRANGERS_PLAYLIST)] = Playlist(
        service="spotify", playlist_id=STRANGERS_PLAYLIST, owner_id="stranger", name="Not yours"
    )


async def _presave(papp: Application) -> Presave:
    async with papp.context.database.sessionmaker() as session:
        return (await session.execute(select(Presave))).scalar_one()


async def _scopes_asked(fan: httpx.AsyncClient) -> list[str]:
    html = await open_page(fan)
    started = await fan.post(
        "/presave/soon/connect", data={"csrf": csrf_of(html), "service": "spotify"}
    )
    assert started.status_code == 303
    query = parse_qs(urlsplit(started.headers["location"]).query)
    return query["scope"][0].split()


async def test_after_sign_in_the_fan_picks_one_of_their_own_playlists(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    sim: SimulatorState,
) -> None:
    await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    _own_playlists(sim, "picker")
    finished = await presave_via_spotify(fan, username="picker")
    assert finished.status_code == 303
    assert finished.headers["location"].startswith("/presave/soon/playlist?t=")

    chooser = await fan.get(finished.headers["location"])
    assert chooser.status_code == 200
    assert "Road trip" in chooser.text
    assert "Not yours" not in chooser.text
    assert re.search(r'value="new" checked', chooser.text)
    assert 'value="Midnight Cartography"' in chooser.text
    token = re.search(r'name="t" value="([^"]+)"', chooser.text)
    assert token is not None
    chosen = await fan.post(
        "/presave/soon/playlist",
        data={"csrf": csrf_of(chooser.text), "t": token.group(1), "playlist": FANS_PLAYLIST},
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"].startswith("/presave/soon/done?t=")

    presave = await _presave(papp)
    assert presave.actions["playlist"] == {
        "mode": "add_to_fan_playlist",
        "id": FANS_PLAYLIST,
        "playlist_id": FANS_PLAYLIST,
        "fan_choice": "chosen",
    }
    confirmation = await fan.get(chosen.headers["location"])
    assert "added to the playlist you chose" in confirmation.text


async def test_a_fan_who_closes_the_chooser_gets_a_new_playlist_named_after_the_release(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    finished = await presave_via_spotify(fan, username="closer")
    assert finished.headers["location"].startswith("/presave/soon/playlist?t=")
    presave = await _presave(papp)
    assert presave.actions["playlist"] == {
        "mode": "add_to_new_playlist",
        "name": "Midnight Cartography",
        "fan_choice": "pending",
    }


async def test_the_fan_may_name_the_new_playlist_instead(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    finished = await presave_via_spotify(fan, username="namer")
    chooser = await fan.get(finished.headers["location"])
    token = parse_qs(urlsplit(finished.headers["location"]).query)["t"][0]
    chosen = await fan.post(
        "/presave/soon/playlist",
        data={
            "csrf": csrf_of(chooser.text),
            "t": token,
            "playlist": "new",
            "new_name": "  Spring   2026 ",
        },
    )
    assert chosen.status_code == 303
    presave = await _presave(papp)
    assert presave.actions["playlist"]["mode"] == "add_to_new_playlist"
    assert presave.actions["playlist"]["name"] == "Spring 2026"
    # Once chosen, the chooser link only leads to the confirmation.
    again = await fan.get(finished.headers["location"])
    assert again.status_code == 303
    assert again.headers["location"].startswith("/presave/soon/done?t=")


async def test_a_choice_without_the_csrf_token_is_refused(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    finished = await presave_via_spotify(fan, username="forged")
    token = parse_qs(urlsplit(finished.headers["location"]).query)["t"][0]
    refused = await fan.post("/presave/soon/playlist", data={"t": token, "playlist": FANS_PLAYLIST})
    assert refused.status_code == 403
    assert (await _presave(papp)).actions["playlist"]["fan_choice"] == "pending"


async def test_the_chooser_lists_the_fans_playlists_in_their_browser_only(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    sim: SimulatorState,
) -> None:
    await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    _own_playlists(sim, "private-lists")
    finished = await presave_via_spotify(fan, username="private-lists")
    chooser = finished.headers["location"]
    token = parse_qs(urlsplit(chooser).query)["t"][0]
    async with browser_for(papp) as other:
        forwarded = await other.get(chooser)
        assert forwarded.status_code == 403
        assert "Road trip" not in forwarded.text
        csrf = csrf_of(await open_page(other))
        chosen = await other.post(
            "/presave/soon/playlist", data={"csrf": csrf, "t": token, "playlist": FANS_PLAYLIST}
        )
        assert chosen.status_code == 403
    assert (await _presave(papp)).actions["playlist"]["fan_choice"] == "pending"
    assert "Road trip" in (await fan.get(chooser)).text


async def test_reading_playlists_is_asked_and_explained_only_for_the_fans_choice(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    created = await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    assert "playlist-read-private" in await _scopes_asked(fan)
    assert "See your playlists" in await open_page(fan)

    new_playlist = {
        "playlist_action": {"mode": "add_to_new_playlist", "service": "spotify", "name": "X"}
    }
    settings = {"follow_artist_ids": [created["artist"]["id"]], **new_playlist}
    put = await admin.put(label, f"/links/{created['link']['id']}/campaign", settings)
    assert put.status_code == 200
    scopes = await _scopes_asked(fan)
    assert "playlist-read-private" not in scopes
    assert "playlist-modify-private" in scopes
    assert "See your playlists" not in await open_page(fan)


async def test_the_scopes_listed_on_the_page_are_the_ones_asked(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    page = await open_page(fan)
    assert "Follow the artist on Spotify." in page
    # Following artists does not need playlist scopes: neither asked nor listed.
    assert "Follow a playlist" not in page
    # user-library-read: the save is checked before it is repeated (and the page says so).
    assert "never saved twice" in page
    assert await _scopes_asked(fan) == [
        "user-library-modify",
        "user-library-read",
        "user-follow-modify",
    ]


async def test_the_granted_scopes_are_recorded_with_the_consent(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign=CHOOSE_OWN)
    await presave_via_spotify(fan, username="recorded")
    async with papp.context.database.sessionmaker() as session:
        consent = (await session.execute(select(ConsentRecord))).scalars().first()
    assert consent is not None
    assert "playlist-read-private" in consent.scopes
