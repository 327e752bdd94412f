from __future__ import annotations

import pytest

from launchlink.db import Database
from launchlink.models.accounts import Role
from tests.api.conftest import Api, artist_body
from tests.builders import WorkspaceKey, create_workspace_with_key


async def test_a_request_without_a_key_is_401_with_a_hint(api: Api) -> None:
    response = await api.request("GET", None, "/artists")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]["message"]


async def test_a_wrong_key_is_401(api: Api) -> None:
    response = await api.client.get(
        "/api/v1/artists", headers={"Authorization": "Bearer ll_nope_nope"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_a_viewer_key_can_read_but_not_write(api: Api, app_db: Database) -> None:
    viewer = await create_workspace_with_key(app_db, name="Viewer Co", role=Role.viewer)
    assert (await api.get(viewer, "/artists")).status_code == 200
    response = await api.post(viewer, "/artists", artist_body())
    assert response.status_code == 403
    assert "read-only" in response.json()["error"]["message"]


async def test_api_keys_are_stored_only_as_hashes(owner: WorkspaceKey, app_db: Database) -> None:
    from sqlalchemy import select

    from launchlink.models import ApiKey

    async with app_db.transaction() as session:
        stored = (await session.execute(select(ApiKey.key_hash, ApiKey.prefix))).all()
    assert stored
    for key_hash, prefix in stored:
        assert owner.api_key not in key_hash
        assert len(key_hash) == 64
        assert len(prefix) == 8


async def test_the_openapi_document_and_docs_page_are_served(api: Api) -> None:
    document = await api.client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/releases" in document.json()["paths"]
    docs = await api.client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert '<script src="/static/api-docs/docs.js"' in docs.text  # our offline renderer


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/artists/{artist}"),
        ("PATCH", "/artists/{artist}"),
        ("DELETE", "/artists/{artist}"),
        ("GET", "/releases/{release}"),
        ("PATCH", "/releases/{release}"),
        ("DELETE", "/releases/{release}"),
        ("GET", "/links/{link}"),
        ("PATCH", "/links/{link}"),
        ("DELETE", "/links/{link}"),
        ("GET", "/links/{link}/destinations"),
        ("POST", "/links/{link}/destinations"),
        ("PUT", "/links/{link}/destinations/order"),
        ("GET", "/links/{link}/destinations/spotify"),
        ("PATCH", "/links/{link}/destinations/spotify"),
        ("DELETE", "/links/{link}/destinations/spotify"),
        ("GET", "/domains/{domain}"),
        ("PATCH", "/domains/{domain}"),
        ("DELETE", "/domains/{domain}"),
    ],
)
async def test_another_workspaces_resources_are_404(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, method: str, path: str
) -> None:
    from tests.api.conftest import make_link

    link = await make_link(api, owner)
    release = (await api.get(owner, f"/releases/{link['release_id']}")).json()
    domain = (await api.post(owner, "/domains", {"hostname": "music.owner.test"})).json()
    ids = {
        "artist": release["artists"][0]["id"],
        "release": release["id"],
        "link": link["id"],
        "domain": domain["id"],
    }
    bodies = {
        "POST": {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
        "PATCH": {},
        "PUT": {"services": ["spotify", "apple_music"]},
    }
    body = bodies.get(method)
    if method == "PATCH" and path.startswith("/domains"):
        body = {"root_link_id": None}
    response = await api.request(method, stranger, path.format(**ids), body)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    # ...and the owner's data is untouched.
    assert (await api.get(owner, f"/links/{link['id']}")).json()["destinations"] == link[
        "destinations"
    ]


async def test_lists_only_show_the_callers_workspace(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    from tests.api.conftest import make_link

    await make_link(api, owner)
    await api.post(owner, "/domains", {"hostname": "music.owner.test"})
    for path in ("/artists", "/releases", "/links"):
        assert (await api.get(stranger, path)).json()["items"] == []
    assert (await api.get(stranger, "/domains")).json() == []
