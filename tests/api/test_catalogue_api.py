from __future__ import annotations

from tests.api.conftest import Api, artist_body, make_release, release_body
from tests.builders import WorkspaceKey


async def test_an_artist_can_be_created_read_updated_and_deleted(
    api: Api, owner: WorkspaceKey
) -> None:
    created = await api.post(
        owner, "/artists", artist_body(service_ids={"spotify": "0TnOYISbd1XYRBk9myaseg"})
    )
    assert created.status_code == 201
    artist_id = created.json()["id"]

    fetched = await api.get(owner, f"/artists/{artist_id}")
    assert fetched.json()["service_ids"] == {"spotify": "0TnOYISbd1XYRBk9myaseg"}

    updated = await api.patch(owner, f"/artists/{artist_id}", {"name": "Nova R."})
    assert updated.status_code == 200
    assert updated.json()["name"] == "Nova R."

    assert (await api.delete(owner, f"/artists/{artist_id}")).status_code == 204
    assert (await api.get(owner, f"/artists/{artist_id}")).status_code == 404


async def test_a_release_keeps_its_artists_tracks_and_instant(
    api: Api, owner: WorkspaceKey
) -> None:
    release = await make_release(api, owner)
    assert release["artists"][0]["name"] == "Nova Reyes"
    assert [track["position"] for track in release["tracks"]] == [1, 2]
    assert release["tracks"][0]["isrc"] == "USRC17607839"
    assert release["release_instant"].startswith("2026-03-06T00:00:00")
    assert release["release_mode"] == "global"


async def test_a_local_release_needs_a_date_and_keeps_its_time_zone(
    api: Api, owner: WorkspaceKey
) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    body = release_body(
        [artist["id"]], release_mode="local", release_instant=None, time_zone="America/Los_Angeles"
    )
    missing_date = await api.post(owner, "/releases", body)
    assert missing_date.status_code == 422
    assert "release_date" in missing_date.json()["error"]["message"]

    body["release_date"] = "2026-12-04"
    created = await api.post(owner, "/releases", body)
    assert created.status_code == 201, created.text
    assert created.json()["release_date"] == "2026-12-04"
    assert created.json()["time_zone"] == "America/Los_Angeles"
    assert created.json()["release_instant"] is None


async def test_a_release_update_replaces_the_track_list(api: Api, owner: WorkspaceKey) -> None:
    release = await make_release(api, owner)
    response = await api.patch(
        owner,
        f"/releases/{release['id']}",
        {"tracks": [{"title": "Only One", "isrc": "GBDUW0000053"}]},
    )
    assert response.status_code == 200, response.text
    assert [(t["position"], t["title"]) for t in response.json()["tracks"]] == [(1, "Only One")]


async def test_a_bad_upc_check_digit_is_refused_with_the_expected_digit(
    api: Api, owner: WorkspaceKey
) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    response = await api.post(owner, "/releases", release_body([artist["id"]], upc="036000291453"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "upc"
    assert "check digit" in error["message"]
    assert "2 expected" in error["message"]


async def test_a_malformed_isrc_is_refused(api: Api, owner: WorkspaceKey) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    body = release_body([artist["id"]], tracks=[{"title": "x", "isrc": "NOT-AN-ISRC"}])
    response = await api.post(owner, "/releases", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "tracks.0.isrc"


async def test_an_unknown_service_in_artist_ids_is_refused(api: Api, owner: WorkspaceKey) -> None:
    response = await api.post(owner, "/artists", artist_body(service_ids={"myspace": "tom"}))
    assert response.status_code == 422
    assert "unknown service 'myspace'" in response.json()["error"]["message"]


async def test_an_oversize_title_is_refused_with_its_field(api: Api, owner: WorkspaceKey) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    response = await api.post(owner, "/releases", release_body([artist["id"]], title="x" * 301))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "title"


async def test_a_naive_release_instant_is_refused(api: Api, owner: WorkspaceKey) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    response = await api.post(
        owner, "/releases", release_body([artist["id"]], release_instant="2026-03-06T00:00:00")
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "release_instant"


async def test_an_unknown_time_zone_is_refused(api: Api, owner: WorkspaceKey) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    response = await api.post(
        owner, "/releases", release_body([artist["id"]], time_zone="Mars/Olympus")
    )
    assert response.status_code == 422
    assert "IANA" in response.json()["error"]["message"]


async def test_a_release_cannot_credit_another_workspaces_artist(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    foreign = (await api.post(stranger, "/artists", artist_body())).json()
    response = await api.post(owner, "/releases", release_body([foreign["id"]]))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "artist_ids"


async def test_an_artist_on_a_release_cannot_be_deleted(api: Api, owner: WorkspaceKey) -> None:
    release = await make_release(api, owner)
    response = await api.delete(owner, f"/artists/{release['artists'][0]['id']}")
    assert response.status_code == 409


async def test_pages_follow_the_cursor_to_the_end(api: Api, owner: WorkspaceKey) -> None:
    names = [f"Artist {n}" for n in range(5)]
    for name in names:
        await api.post(owner, "/artists", artist_body(name))
    seen: list[str] = []
    path = "/artists?limit=2"
    while True:
        page = (await api.get(owner, path)).json()
        seen.extend(item["name"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        path = f"/artists?limit=2&cursor={page['next_cursor']}"
    assert seen == names


async def test_a_forged_cursor_is_a_clear_400(api: Api, owner: WorkspaceKey) -> None:
    response = await api.get(owner, "/artists?cursor=%%%")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "cursor"


async def test_unknown_fields_are_refused_not_ignored(api: Api, owner: WorkspaceKey) -> None:
    response = await api.post(owner, "/artists", {"name": "A", "genre": "pop"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "genre"


async def test_a_body_that_is_not_json_is_a_4xx(api: Api, owner: WorkspaceKey) -> None:
    response = await api.client.post(
        "/api/v1/artists",
        content=b"{not json",
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "error" in response.json()


async def test_an_oversize_body_is_refused_before_parsing(api: Api, owner: WorkspaceKey) -> None:
    response = await api.client.post(
        "/api/v1/artists",
        content=b"[" + b"1," * 600_000 + b"1]",
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_concurrent_writes_and_reads_never_answer_500(api: Api, owner: WorkspaceKey) -> None:
    import asyncio

    async def write(n: int) -> int:
        response = await api.post(owner, "/artists", artist_body(f"Concurrent {n}"))
        return response.status_code

    async def read() -> int:
        return (await api.get(owner, "/artists?limit=5")).status_code

    statuses = await asyncio.gather(*(write(n) if n % 2 else read() for n in range(40)))
    assert sorted(set(statuses)) == [200, 201]
