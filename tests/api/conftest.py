from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.links.domains import OwnershipProver, PlainHttpProbe
from tests.builders import WorkspaceKey, create_workspace_with_key


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url="https://links.example.test",
        environment="test",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Application]:
    application = create_app(settings)
    yield application
    await application.shutdown()


@pytest.fixture
def app_db(app: Application) -> Database:
    return app.context.database


@pytest.fixture
async def client(app: Application) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://links.example.test") as c:
        yield c


@pytest.fixture
async def owner(app_db: Database) -> WorkspaceKey:
    return await create_workspace_with_key(app_db, name="Owner Records")


@pytest.fixture
async def stranger(app_db: Database) -> WorkspaceKey:
    return await create_workspace_with_key(app_db, name="Stranger Records")


class Api:
    """Terse calls for tests: ``await api.post(owner, "/artists", {...})``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self, method: str, who: WorkspaceKey | None, path: str, body: Any = None
    ) -> httpx.Response:
        headers = who.headers if who is not None else {}
        return await self.client.request(method, f"/api/v1{path}", json=body, headers=headers)

    async def post(self, who: WorkspaceKey, path: str, body: Any) -> httpx.Response:
        return await self.request("POST", who, path, body)

    async def get(self, who: WorkspaceKey, path: str) -> httpx.Response:
        return await self.request("GET", who, path)

    async def patch(self, who: WorkspaceKey, path: str, body: Any) -> httpx.Response:
        return await self.request("PATCH", who, path, body)

    async def put(self, who: WorkspaceKey, path: str, body: Any) -> httpx.Response:
        return await self.request("PUT", who, path, body)

    async def delete(self, who: WorkspaceKey, path: str) -> httpx.Response:
        return await self.request("DELETE", who, path)


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


def artist_body(name: str = "Nova Reyes", **extra: Any) -> dict[str, Any]:
    return {"name": name, **extra}


def release_body(artist_ids: list[str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Midnight Cartography",
        "type": "album",
        "artist_ids": artist_ids,
        "upc": "036000291452",
        "release_mode": "global",
        "release_instant": "2026-03-06T00:00:00Z",
        "tracks": [
            {"title": "North Star", "isrc": "USRC17607839", "duration_ms": 201000},
            {"title": "Paper Maps", "isrc": "USRC17607840", "duration_ms": 185000},
        ],
    }
    body.update(extra)
    return body


async def make_release(api: Api, who: WorkspaceKey, **extra: Any) -> dict[str, Any]:
    artist = (await api.post(who, "/artists", artist_body())).json()
    response = await api.post(who, "/releases", release_body([artist["id"]], **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_link(
    api: Api,
    who: WorkspaceKey,
    *,
    slug: str = "midnight",
    destinations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    release = await make_release(api, who)
    response = await api.post(
        who,
        "/links",
        {
            "release_id": release["id"],
            "slug": slug,
            "destinations": destinations
            if destinations is not None
            else [
                {
                    "service": "spotify",
                    "url": "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
                },
                {"service": "apple_music", "url": "https://music.apple.com/us/album/x/1620500261"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


class FakeDns:
    """An in-memory TXT zone: the DNS port's test double (real DNS cannot run here; the
    real adapter is tested against a local DNS server in tests/links/test_domain_proofs.py)."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}

    async def txt_records(self, name: str) -> list[str]:
        return list(self.records.get(name, []))

    def publish(self, name: str, value: str) -> None:
        self.records.setdefault(name, []).append(value)


async def _resolves_nowhere(hostname: str) -> tuple[str, int]:
    raise LookupError(f"{hostname} does not resolve")


@pytest.fixture
def dns(app: Application) -> FakeDns:
    zone = FakeDns()
    app.context.domain_prover = OwnershipProver(
        txt=zone, http=PlainHttpProbe(resolve=_resolves_nowhere)
    )
    return zone


async def verified_domain(
    api: Api, dns: FakeDns, who: WorkspaceKey, hostname: str = "music.owner.test"
) -> dict[str, Any]:
    """Claim ``hostname`` for ``who``, publish its TXT record and verify it."""
    claim = await api.post(who, "/domains", {"hostname": hostname})
    assert claim.status_code == 201, claim.text
    verification = claim.json()["verification"]
    dns.publish(verification["dns_name"], verification["dns_value"])
    verified = await api.post(who, f"/domains/{claim.json()['id']}/verify", {"method": "dns"})
    assert verified.status_code == 200, verified.text
    return dict(verified.json())
