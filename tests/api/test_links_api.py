from __future__ import annotations

from tests.api.conftest import Api, FakeDns, make_link, make_release, verified_domain
from tests.builders import WorkspaceKey

DEEZER = {"service": "deezer", "url": "https://www.deezer.com/album/302127"}


async def test_a_link_is_created_with_its_destinations_in_order(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    assert link["url"] == "https://links.example.test/midnight"
    assert [(d["service"], d["position"]) for d in link["destinations"]] == [
        ("spotify", 0),
        ("apple_music", 1),
    ]


async def test_a_duplicate_slug_on_the_same_host_is_a_409(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    await make_link(api, owner, slug="same")
    release = await make_release(api, stranger)
    response = await api.post(stranger, "/links", {"release_id": release["id"], "slug": "same"})
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "slug"


async def test_the_same_slug_is_free_on_a_custom_domain(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    await make_link(api, owner, slug="same")
    await verified_domain(api, dns, owner)
    release = await make_release(api, owner)
    response = await api.post(
        owner,
        "/links",
        {"release_id": release["id"], "slug": "same", "custom_domain": "music.owner.test"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["url"] == "https://music.owner.test/same"


async def test_a_reserved_or_malformed_slug_is_refused(api: Api, owner: WorkspaceKey) -> None:
    release = await make_release(api, owner)
    for slug, fragment in (("api", "reserved"), ("Hello World", "lower-case"), ("-x", "hyphen")):
        response = await api.post(owner, "/links", {"release_id": release["id"], "slug": slug})
        assert response.status_code == 422, slug
        assert fragment in response.json()["error"]["message"], slug


async def test_an_unknown_service_destination_is_refused(api: Api, owner: WorkspaceKey) -> None:
    link = await make_link(api, owner)
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {"service": "myspace", "url": "https://myspace.com/x"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "service"


async def test_a_destination_on_a_foreign_host_is_refused(api: Api, owner: WorkspaceKey) -> None:
    link = await make_link(api, owner)
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {"service": "deezer", "url": "https://evil.example/album/1"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "url"


async def test_a_malformed_destination_url_is_refused(api: Api, owner: WorkspaceKey) -> None:
    link = await make_link(api, owner)
    for url in ("not a url", "javascript:alert(1)", "https://"):
        response = await api.post(
            owner, f"/links/{link['id']}/destinations", {"service": "deezer", "url": url}
        )
        assert response.status_code == 422, url
        assert response.json()["error"]["message"], url


async def test_a_country_override_must_be_on_the_same_service(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {**DEEZER, "country_urls": {"FR": "https://evil.example/x"}},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "country_urls.FR"
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {**DEEZER, "country_urls": {"france": DEEZER["url"]}},
    )
    assert response.status_code == 422


async def test_destinations_can_be_added_updated_reordered_and_removed(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    base = f"/links/{link['id']}/destinations"
    added = await api.post(
        owner,
        base,
        {**DEEZER, "position": 0, "country_urls": {"FR": "https://www.deezer.com/fr/album/302127"}},
    )
    assert added.status_code == 201, added.text
    listed = (await api.get(owner, base)).json()
    assert [d["service"] for d in listed] == ["deezer", "spotify", "apple_music"]

    hidden = await api.patch(owner, f"{base}/spotify", {"hidden": True})
    assert hidden.json()["hidden"] is True

    order = await api.put(
        owner, f"{base}/order", {"services": ["apple_music", "spotify", "deezer"]}
    )
    assert [d["service"] for d in order.json()] == ["apple_music", "spotify", "deezer"]

    incomplete = await api.put(owner, f"{base}/order", {"services": ["apple_music"]})
    assert incomplete.status_code == 422

    assert (await api.delete(owner, f"{base}/spotify")).status_code == 204
    listed = (await api.get(owner, base)).json()
    assert [(d["service"], d["position"]) for d in listed] == [("apple_music", 0), ("deezer", 1)]


async def test_a_second_destination_for_the_same_service_is_a_409(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {"service": "spotify", "url": "https://open.spotify.com/album/x1"},
    )
    assert response.status_code == 409


async def test_every_change_bumps_the_link_version(api: Api, owner: WorkspaceKey) -> None:
    link = await make_link(api, owner)
    await api.post(owner, f"/links/{link['id']}/destinations", DEEZER)
    await api.patch(owner, f"/releases/{link['release_id']}", {"title": "Renamed"})
    assert (await api.get(owner, f"/links/{link['id']}")).json()["version"] >= link["version"] + 2


async def test_a_release_with_links_cannot_be_deleted(api: Api, owner: WorkspaceKey) -> None:
    link = await make_link(api, owner)
    assert (await api.delete(owner, f"/releases/{link['release_id']}")).status_code == 409
    assert (await api.delete(owner, f"/links/{link['id']}")).status_code == 204
    assert (await api.delete(owner, f"/releases/{link['release_id']}")).status_code == 204


async def test_a_verified_custom_domain_is_unique_across_workspaces(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, dns: FakeDns
) -> None:
    await verified_domain(api, dns, owner, "Music.Owner.test")
    response = await api.post(stranger, "/domains", {"hostname": "music.owner.test"})
    assert response.status_code == 409


async def test_a_link_cannot_use_another_workspaces_domain(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, dns: FakeDns
) -> None:
    await verified_domain(api, dns, owner)
    release = await make_release(api, stranger)
    response = await api.post(
        stranger,
        "/links",
        {"release_id": release["id"], "slug": "x", "custom_domain": "music.owner.test"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "custom_domain"


async def test_a_domain_root_must_be_a_link_on_that_domain(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    domain = await verified_domain(api, dns, owner)
    elsewhere = await make_link(api, owner, slug="elsewhere")
    refused = await api.patch(owner, f"/domains/{domain['id']}", {"root_link_id": elsewhere["id"]})
    assert refused.status_code == 422
    moved = await api.patch(
        owner, f"/links/{elsewhere['id']}", {"custom_domain": "music.owner.test"}
    )
    assert moved.status_code == 200
    accepted = await api.patch(owner, f"/domains/{domain['id']}", {"root_link_id": elsewhere["id"]})
    assert accepted.json()["root_link_id"] == elsewhere["id"]
    assert (await api.delete(owner, f"/domains/{domain['id']}")).status_code == 409
