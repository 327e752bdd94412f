"""Pre-launch checks of an upcoming release, before and after it reaches the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from launchlink.simulator.demo import DEMO_PREORDER_EP, PREORDER_EP_DELAY, DemoRelease
from tests.api.conftest import Api, artist_body
from tests.autofill.world import UPCOMING_AT, World
from tests.builders import WorkspaceKey

EP_OUT_AT = UPCOMING_AT + PREORDER_EP_DELAY


async def create(
    api: Api,
    who: WorkspaceKey,
    demo: DemoRelease,
    *,
    type: str = "ep",
    isrcs: list[str] | None = None,
) -> dict[str, Any]:
    artist = (await api.post(who, "/artists", artist_body("The Paper Lanterns"))).json()
    isrcs = isrcs or [track.isrc for track in demo.tracks]
    body: dict[str, Any] = {
        "title": demo.title,
        "type": type,
        "artist_ids": [artist["id"]],
        "upc": demo.upc,
        "release_mode": "global",
        "release_instant": EP_OUT_AT.isoformat(),
        "tracks": [
            {"title": track.title, "isrc": isrc}
            for track, isrc in zip(demo.tracks, isrcs, strict=True)
        ],
    }
    response = await api.post(who, "/releases", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def statuses(checks: dict[str, Any]) -> dict[str, str]:
    return {service["service"]: service["upc_status"] for service in checks["services"]}


async def test_before_release_only_the_apple_pre_order_is_found_and_pre_add_is_possible(
    api: Api, owner: WorkspaceKey
) -> None:
    release = await create(api, owner, DEMO_PREORDER_EP)

    response = await api.get(owner, f"/releases/{release['id']}/checks")

    assert response.status_code == 200, response.text
    checks = response.json()
    assert statuses(checks) == {
        "spotify": "not_yet",
        "apple_music": "found",
        "deezer": "not_yet",
        "tidal": "not_yet",
    }
    apple = next(s for s in checks["services"] if s["service"] == "apple_music")
    assert apple["is_preorder"] is True
    assert checks["apple_preadd"]["eligible"] is True
    assert "spotify: the UPC is not found yet" in checks["issues"]


async def test_after_release_the_upc_is_found_everywhere_and_the_isrcs_match(
    api: Api, owner: WorkspaceKey, world: World
) -> None:
    release = await create(api, owner, DEMO_PREORDER_EP)
    world.state.set_clock(EP_OUT_AT + timedelta(hours=1))

    checks = (await api.get(owner, f"/releases/{release['id']}/checks")).json()

    assert set(statuses(checks).values()) == {"found"}
    for track in checks["tracks"]:
        # Apple and TIDAL list ISRCs with the album's tracks; the others may not.
        assert track["services"]["apple_music"] == "match"
        assert track["services"]["tidal"] == "match"
        assert set(track["services"].values()) <= {"match", "unknown"}
    assert checks["apple_preadd"]["eligible"] is False
    assert checks["issues"] == []


async def test_a_wrong_isrc_is_reported_per_track_and_service(
    api: Api, owner: WorkspaceKey, world: World
) -> None:
    isrcs = [track.isrc for track in DEMO_PREORDER_EP.tracks]
    isrcs[1] = "GBDUW0000053"
    release = await create(api, owner, DEMO_PREORDER_EP, isrcs=isrcs)
    world.state.set_clock(EP_OUT_AT + timedelta(hours=1))

    checks = (await api.get(owner, f"/releases/{release['id']}/checks")).json()

    second = checks["tracks"][1]
    assert second["services"]["apple_music"] == "mismatch"
    assert second["services"]["tidal"] == "mismatch"
    assert set(checks["tracks"][0]["services"].values()) <= {"match", "unknown"}
    assert any(issue.startswith("track 2 (Salt & Signal)") for issue in checks["issues"])


async def test_a_single_is_never_eligible_for_apple_pre_add(api: Api, owner: WorkspaceKey) -> None:
    release = await create(api, owner, DEMO_PREORDER_EP, type="single")

    checks = (await api.get(owner, f"/releases/{release['id']}/checks")).json()

    assert checks["apple_preadd"]["eligible"] is False
    assert "not singles" in checks["apple_preadd"]["detail"]


async def test_a_service_that_fails_is_reported_unavailable(
    api: Api, owner: WorkspaceKey, world: World
) -> None:
    release = await create(api, owner, DEMO_PREORDER_EP)
    world.state.set_faults("tidal", burst_429=5)

    checks = (await api.get(owner, f"/releases/{release['id']}/checks")).json()

    assert statuses(checks)["tidal"] == "unavailable"
    assert statuses(checks)["apple_music"] == "found"


async def test_another_workspace_cannot_check_a_release(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    release = await create(api, owner, DEMO_PREORDER_EP)

    response = await api.get(stranger, f"/releases/{release['id']}/checks")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_checks_need_an_api_key(api: Api, owner: WorkspaceKey) -> None:
    release = await create(api, owner, DEMO_PREORDER_EP)
    response = await api.request("GET", None, f"/releases/{release['id']}/checks")
    assert response.status_code == 401
