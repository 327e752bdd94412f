"""The engine keeps the promises in the shape the pre-save flow stores them."""

from __future__ import annotations

from launchlink.db import Database
from launchlink.models.presave import PresaveState
from tests.fulfilment.harness import RELEASE_AT, drain, make_world

PLAYLIST_SCOPES = [
    "user-library-modify",
    "user-follow-modify",
    "playlist-modify-public",
    "playlist-modify-private",
]


async def test_release_time_follows_and_a_new_playlist_are_fulfilled(db: Database) -> None:
    world = await make_world(db)
    artist_id = world.state.catalog.artists["nova"].ids["spotify"]
    presave_id = await world.add_fan(
        "spotify",
        user="sp-promises",
        scopes=PLAYLIST_SCOPES,
        actions={
            "save_release": True,
            "follow_artists": [artist_id],
            "follow_playlists": [],
            "follow_timing": "release",
            "playlist": {"mode": "add_to_new_playlist", "name": "Night Tide day"},
        },
    )
    world.advance((RELEASE_AT - world.clock.now()).total_seconds() + 1)
    await drain(world.engine())

    presave = await world.presave(presave_id)
    assert presave.state == PresaveState.done, presave.final_reason
    actions = {
        entry.action for entry in world.state.ledger.query(service="spotify", user="sp-promises")
    }
    assert {"follow_artist", "playlist_add"} <= actions
    followed = world.state.ledger.query(
        service="spotify", user="sp-promises", action="follow_artist"
    )
    assert [entry.item for entry in followed] == [f"spotify:artist:{artist_id}"]


async def test_follows_done_at_consent_are_not_repeated_at_release(db: Database) -> None:
    world = await make_world(db)
    artist_id = world.state.catalog.artists["nova"].ids["spotify"]
    presave_id = await world.add_fan(
        "spotify",
        user="sp-consent",
        actions={"save_release": True, "follow_artists": [artist_id], "follow_timing": "consent"},
    )
    world.advance((RELEASE_AT - world.clock.now()).total_seconds() + 1)
    await drain(world.engine())

    presave = await world.presave(presave_id)
    assert presave.state == PresaveState.done, presave.final_reason
    assert (
        world.state.ledger.query(service="spotify", user="sp-consent", action="follow_artist") == []
    )
