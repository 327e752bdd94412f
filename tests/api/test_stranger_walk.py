"""A stranger walk: workspace B tries every API route that names an id, with workspace A's
ids, over HTTP. Each answer is a 404 (B cannot even learn the ids exist) and A's data reads
back exactly as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from launchlink.api import API_PREFIX, create_api
from launchlink.app import Application
from launchlink.models import Fan, Message
from tests.api.conftest import Api, FakeDns, make_link, verified_domain
from tests.builders import WorkspaceKey

Body = dict[str, Any] | None

# (method, route as the API declares it, body): every route with an id in its path.
ATTEMPTS: list[tuple[str, str, Body]] = [
    ("GET", "/artists/{artist_id}", None),
    ("PATCH", "/artists/{artist_id}", {"name": "Taken Over"}),
    ("DELETE", "/artists/{artist_id}", None),
    ("GET", "/releases/{release_id}", None),
    ("PATCH", "/releases/{release_id}", {"title": "Taken Over"}),
    ("DELETE", "/releases/{release_id}", None),
    ("GET", "/releases/{release_id}/fulfilment", None),
    ("GET", "/releases/{release_id}/fulfilment/jobs", None),
    ("GET", "/releases/{release_id}/checks", None),
    ("GET", "/links/{link_id}", None),
    ("PATCH", "/links/{link_id}", {"slug": "taken-over"}),
    ("DELETE", "/links/{link_id}", None),
    ("GET", "/links/{link_id}/destinations", None),
    (
        "POST",
        "/links/{link_id}/destinations",
        {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
    ),
    ("PUT", "/links/{link_id}/destinations/order", {"services": ["apple_music", "spotify"]}),
    ("GET", "/links/{link_id}/destinations/{service_key}", None),
    ("PATCH", "/links/{link_id}/destinations/{service_key}", {"hidden": True}),
    ("DELETE", "/links/{link_id}/destinations/{service_key}", None),
    ("GET", "/links/{link_id}/campaign", None),
    ("PUT", "/links/{link_id}/campaign", {"enabled": False}),
    ("DELETE", "/links/{link_id}/campaign", None),
    ("GET", "/links/{link_id}/presaves", None),
    ("GET", "/links/{link_id}/presaves/counts", None),
    ("GET", "/links/{link_id}/contacts.csv", None),
    ("GET", "/links/{link_id}/fulfilment-report", None),
    ("GET", "/analytics/links/{link_id}/summary", None),
    ("GET", "/analytics/links/{link_id}/events", None),
    ("GET", "/domains/{domain_id}", None),
    ("PATCH", "/domains/{domain_id}", {"root_link_id": None}),
    ("DELETE", "/domains/{domain_id}", None),
    ("POST", "/domains/{domain_id}/verify", {"method": "dns"}),
    ("GET", "/messaging/templates/{template_id}", None),
    ("PATCH", "/messaging/templates/{template_id}", {"text": "Taken over {{ title }}"}),
    ("DELETE", "/messaging/templates/{template_id}", None),
    ("GET", "/messaging/announcements/{announcement_id}", None),
    ("GET", "/messaging/messages/{message_id}", None),
]


def _routes_with_ids(app: Application) -> set[tuple[str, str]]:
    """From the API's own OpenAPI document: a route added later joins the walk or fails."""
    paths: dict[str, dict[str, Any]] = create_api(app.context).openapi()["paths"]
    return {
        (method.upper(), path.removeprefix(API_PREFIX))
        for path, operations in paths.items()
        if "{" in path
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_the_walk_tries_every_route_that_names_an_id(app: Application) -> None:
    assert {(method, path) for method, path, _ in ATTEMPTS} == _routes_with_ids(app)


async def _owners_world(
    api: Api, dns: FakeDns, owner: WorkspaceKey, app: Application
) -> dict[str, str]:
    link = await make_link(api, owner)
    async with app.context.database.transaction() as session:
        session.add(
            Fan(
                workspace_id=owner.workspace_id,
                email="fan@fans.example.test",
                email_consent_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    template = await api.post(
        owner,
        "/messaging/templates",
        {"kind": "countdown", "channel": "email", "language": "en", "text": "{{ title }}"},
    )
    assert template.status_code == 201, template.text
    announcement = await api.post(
        owner,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "News", "channels": ["email"]},
    )
    assert announcement.json()["queued"] == 1, announcement.text
    async with app.context.database.sessionmaker() as session:
        [message_id] = (await session.execute(select(Message.id))).scalars()
    release = (await api.get(owner, f"/releases/{link['release_id']}")).json()
    campaign = await api.put(owner, f"/links/{link['id']}/campaign", {})
    assert campaign.status_code == 200, campaign.text
    domain = await verified_domain(api, dns, owner)
    return {
        "artist_id": release["artists"][0]["id"],
        "release_id": release["id"],
        "link_id": link["id"],
        "service_key": "spotify",
        "domain_id": domain["id"],
        "template_id": template.json()["id"],
        "announcement_id": announcement.json()["id"],
        "message_id": str(message_id),
    }


async def _everything_of(api: Api, owner: WorkspaceKey, ids: dict[str, str]) -> list[Any]:
    """What the owner reads of its world; any write by the stranger would show here."""
    paths = [
        "/artists",
        "/releases",
        "/links",
        "/domains",
        f"/artists/{ids['artist_id']}",
        f"/releases/{ids['release_id']}",
        f"/links/{ids['link_id']}",
        f"/links/{ids['link_id']}/destinations",
        f"/links/{ids['link_id']}/campaign",
        f"/domains/{ids['domain_id']}",
        "/messaging/templates",
        f"/messaging/messages/{ids['message_id']}",
        f"/messaging/announcements/{ids['announcement_id']}",
    ]
    seen: list[Any] = []
    for path in paths:
        response = await api.get(owner, path)
        assert response.status_code == 200, (path, response.text)
        seen.append(response.json())
    return seen


async def test_a_stranger_gets_404_on_every_route_with_anothers_ids_and_changes_nothing(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, dns: FakeDns, app: Application
) -> None:
    ids = await _owners_world(api, dns, owner, app)
    before = await _everything_of(api, owner, ids)
    answers: dict[str, int] = {}
    for method, route, body in ATTEMPTS:
        response = await api.request(method, stranger, route.format(**ids), body)
        answers[f"{method} {route}"] = response.status_code
        if response.status_code == 404 and not route.endswith(".csv"):
            assert response.json()["error"]["code"] == "not_found", response.text
    assert answers == {f"{method} {route}": 404 for method, route, _ in ATTEMPTS}
    assert await _everything_of(api, owner, ids) == before


async def test_the_owner_reaches_every_read_the_stranger_was_refused(
    api: Api, owner: WorkspaceKey, dns: FakeDns, app: Application
) -> None:
    ids = await _owners_world(api, dns, owner, app)
    for method, route, _ in ATTEMPTS:
        if method == "GET":
            response = await api.get(owner, route.format(**ids))
            assert response.status_code == 200, (route, response.text)
