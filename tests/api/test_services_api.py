from __future__ import annotations

from pathlib import Path

import httpx

from launchlink.app import create_app
from launchlink.config import Settings
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key


async def test_every_service_is_listed_with_why_it_cannot_be_used(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.get(owner, "/services")
    assert response.status_code == 200
    services = {service["key"]: service for service in response.json()}
    assert len(services) >= 17
    spotify = services["spotify"]
    assert spotify["connector"] == "spotify"
    assert spotify["available"] is False
    assert "not configured" in spotify["unavailable_reason"]
    bandcamp = services["bandcamp"]
    assert bandcamp["connector"] is None
    assert "link only" in bandcamp["unavailable_reason"]
    assert services["youtube_music"]["connector"] == "youtube"


async def test_configured_services_are_available_with_their_capabilities(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url="http://demo.test",
        environment="test",
        simulator_embedded=True,
    )
    app = create_app(settings)
    owner = await create_workspace_with_key(app.context.database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo.test"
    ) as c:
        response = await c.get("/api/v1/services", headers=owner.headers)
    await app.shutdown()
    services = {service["key"]: service for service in response.json()}
    assert services["spotify"]["available"] is True
    assert services["spotify"]["mode"] in ("development", "extended")
    assert "save_release" in services["spotify"]["capabilities"]
    assert services["apple_music"]["available"] is True
    assert "preadd" in services["apple_music"]["capabilities"]


async def test_the_service_list_needs_an_api_key(api: Api) -> None:
    assert (await api.request("GET", None, "/services")).status_code == 401
