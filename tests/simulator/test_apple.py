"""Apple Music: developer tokens, Music-User-Tokens, storefront visibility, pre-add."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from launchlink.simulator.catalog import Album, Track
from tests.simulator.conftest import ALBUM_UPC, TRACK_ISRC, Sim, apple_developer_token

API = "/apple/v1"
EP_RELEASE = datetime(2026, 4, 3, tzinfo=UTC)


def headers(sim: Sim, *, user: str = "ana", country: str = "US") -> dict[str, str]:
    developer = apple_developer_token(sim.state)
    mut = sim.state.issue_music_user_token(user, country=country)
    return {"Authorization": f"Bearer {developer}", "Music-User-Token": mut}


def add_preorder_ep(sim: Sim) -> Album:
    return sim.state.upsert_album(
        Album(
            key="ep",
            title="Paper Boats EP",
            artist_keys=("nova",),
            upc="012345678912",
            release_date=date(2026, 4, 3),
            available_from=EP_RELEASE,
            tracks=[
                Track("ep-1", "Paper Boats", "QZABC2600101", 190_000, 1, ("nova",)),
                Track("ep-2", "Harbour", "QZABC2600102", 200_000, 2, ("nova",)),
            ],
            album_type="ep",
            apple_preorder=True,
        )
    )


async def test_upc_lookup_is_empty_before_release_in_that_storefront(sim: Sim) -> None:
    h = headers(sim)
    gb = await sim.client.get(
        f"{API}/catalog/gb/albums", params={"filter[upc]": ALBUM_UPC}, headers=h
    )
    us = await sim.client.get(
        f"{API}/catalog/us/albums", params={"filter[upc]": ALBUM_UPC}, headers=h
    )
    assert gb.json() == {"data": []}
    assert [a["attributes"]["upc"] for a in us.json()["data"]] == [ALBUM_UPC]


async def test_an_album_carries_its_tracks_with_isrcs(sim: Sim) -> None:
    response = await sim.client.get(
        f"{API}/catalog/us/albums/{sim.album.ids['apple']}", headers=headers(sim)
    )
    tracks = response.json()["data"][0]["relationships"]["tracks"]["data"]
    assert [t["attributes"]["isrc"] for t in tracks] == [t.isrc for t in sim.album.tracks]


async def test_isrc_lookup_returns_the_song(sim: Sim) -> None:
    response = await sim.client.get(
        f"{API}/catalog/us/songs", params={"filter[isrc]": TRACK_ISRC}, headers=headers(sim)
    )
    (song,) = response.json()["data"]
    assert song["attributes"]["isrc"] == TRACK_ISRC
    assert song["attributes"]["albumName"] == "Test Record"


async def test_a_preorder_album_is_visible_with_a_future_release_date(sim: Sim) -> None:
    add_preorder_ep(sim)
    response = await sim.client.get(
        f"{API}/catalog/us/albums", params={"filter[upc]": "012345678912"}, headers=headers(sim)
    )
    (album,) = response.json()["data"]
    assert album["attributes"]["releaseDate"] == "2026-04-03"
    assert "playParams" not in album["attributes"]


async def test_library_add_is_202_and_silently_ignores_unknown_ids(sim: Sim) -> None:
    album_id = sim.album.ids["apple"]
    response = await sim.client.post(
        f"{API}/me/library", params={"ids[albums]": f"{album_id},999999999"}, headers=headers(sim)
    )
    assert response.status_code == 202
    assert response.content == b""
    assert [(e.item, e.outcome) for e in sim.state.ledger.query(service="apple")] == [
        (f"albums:{album_id}", "added")
    ]


async def test_a_preadd_is_pending_until_release_then_materialises(sim: Sim) -> None:
    ep = add_preorder_ep(sim)
    h = headers(sim)
    item = f"albums:{ep.ids['apple']}"
    await sim.client.post(f"{API}/me/library", params={"ids[albums]": ep.ids["apple"]}, headers=h)
    assert [e.outcome for e in sim.state.ledger.query(item=item)] == ["pending"]
    sim.clock.set(EP_RELEASE + timedelta(minutes=5))
    entries = sim.state.ledger.query(item=item)
    assert [e.outcome for e in entries] == ["pending", "added"]
    assert entries[1].at == EP_RELEASE
    recent = await sim.client.get(f"{API}/me/library/recently-added", headers=headers(sim))
    assert recent.json()["data"][0]["attributes"]["playParams"]["catalogId"] == ep.ids["apple"]


async def test_a_revoked_music_user_token_gets_40300(sim: Sim) -> None:
    h = headers(sim)
    sim.state.revoke_user("apple", "ana")
    response = await sim.client.get(f"{API}/me/storefront", headers=h)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "40300"


async def test_the_storefront_follows_the_user(sim: Sim) -> None:
    response = await sim.client.get(f"{API}/me/storefront", headers=headers(sim, country="GB"))
    assert response.json()["data"][0]["id"] == "gb"


async def test_a_developer_token_living_longer_than_six_months_is_refused(sim: Sim) -> None:
    token = apple_developer_token(sim.state, lifetime_seconds=15_777_001)
    response = await sim.client.get(
        f"{API}/catalog/us/albums/{sim.album.ids['apple']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


async def test_a_developer_token_from_another_team_is_refused(sim: Sim) -> None:
    token = apple_developer_token(sim.state, issuer="OTHERTEAM1")
    response = await sim.client.get(
        f"{API}/catalog/us/albums/{sim.album.ids['apple']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


async def test_an_expired_developer_token_is_refused(sim: Sim) -> None:
    token = apple_developer_token(sim.state, lifetime_seconds=60)
    sim.clock.advance(61)
    response = await sim.client.get(
        f"{API}/catalog/us/albums/{sim.album.ids['apple']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


async def test_favoriting_an_artist_is_ledgered(sim: Sim) -> None:
    artist_id = sim.state.catalog.artists["nova"].ids["apple"]
    response = await sim.client.post(
        f"{API}/me/favorites", params={"ids[artists]": artist_id}, headers=headers(sim)
    )
    assert response.status_code == 202
    assert sim.state.ledger.query(action="favorite")[0].item == f"artists:{artist_id}"


async def test_tracks_added_to_a_library_playlist_are_ledgered(sim: Sim) -> None:
    h = headers(sim)
    created = await sim.client.post(
        f"{API}/me/library/playlists", json={"attributes": {"name": "Mine"}}, headers=h
    )
    playlist_id = created.json()["data"][0]["id"]
    song_id = sim.album.tracks[0].ids["apple"]
    response = await sim.client.post(
        f"{API}/me/library/playlists/{playlist_id}/tracks",
        json={"data": [{"id": song_id, "type": "songs"}]},
        headers=h,
    )
    assert response.status_code == 204
    assert sim.state.ledger.query(action="playlist_add")[0].item == f"songs:{song_id}"


async def test_the_authorize_page_returns_a_music_user_token(sim: Sim) -> None:
    sim.state.set_consent_mode("apple", "auto_approve", next_user="ana")
    response = await sim.client.get(
        "/apple/authorize", params={"redirect_uri": "http://app.test/apple", "state": "s"}
    )
    location = httpx.URL(response.headers["location"])
    token = location.params["music_user_token"]
    assert sim.state.music_user_tokens[token].user_id == "ana"


async def test_the_429_mode_answers_with_apple_errors(sim: Sim) -> None:
    sim.state.set_faults("apple", burst_429=1)
    h = headers(sim)
    limited = await sim.client.get(f"{API}/me/storefront", headers=h)
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["status"] == "429"
    assert (await sim.client.get(f"{API}/me/storefront", headers=h)).status_code == 200
