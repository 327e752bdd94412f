"""``GET /api/v1/services`` says, per service and pre-save mode, whether this instance can
offer it and, when not, what to configure — the same decision the pre-save page makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from launchlink.app import create_app
from launchlink.config import Settings
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key


def modes_of(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {mode["mode"]: mode for mode in service["modes"]}


async def test_an_unconfigured_instance_offers_reminders_and_links_and_says_what_to_set(
    api: Api, owner: WorkspaceKey
) -> None:
    services = {s["key"]: s for s in (await api.get(owner, "/services")).json()}
    for key in ("spotify", "apple_music", "deezer", "tidal", "soundcloud", "youtube"):
        modes = modes_of(services[key])
        assert modes["direct_save"]["offered"] is False, key
        assert f"LAUNCHLINK_CONNECTORS__{key.upper()}__" in modes["direct_save"]["reason"]
        assert modes["reminder"]["offered"] is True
        assert modes["link_only"]["offered"] is True
        assert "link" in modes["link_only"]["requires"]
    bandcamp = modes_of(services["bandcamp"])
    assert bandcamp["direct_save"]["offered"] is False
    assert "no API" in bandcamp["direct_save"]["reason"]
    assert bandcamp["link_only"]["offered"] is True
    youtube_music = modes_of(services["youtube_music"])
    assert "made on YouTube" in youtube_music["direct_save"]["reason"]


async def test_a_configured_instance_says_what_each_release_needs(
    database_url: str, tmp_path: Path
) -> None:
    instance = create_app(
        Settings(
            database_url=database_url,
            var_dir=tmp_path / "var",
            public_url="http://demo.test",
            environment="test",
            simulator_embedded=True,
        )
    )
    key = await create_workspace_with_key(instance.context.database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=instance), base_url="http://demo.test"
    ) as c:
        response = await c.get("/api/v1/services", headers=key.headers)
    await instance.shutdown()
    services = {s["key"]: modes_of(s) for s in response.json()}
    spotify = services["spotify"]
    assert spotify["direct_save"]["offered"] is True
    assert spotify["direct_save"]["reason"] is None
    assert "the release's UPC, an ISRC of its tracks" in spotify["direct_save"]["requires"]
    assert spotify["preadd"]["offered"] is False
    assert "no native pre-add" in spotify["preadd"]["reason"]
    assert services["apple_music"]["preadd"]["offered"] is True
    assert "apple_preorder_album_id" in services["apple_music"]["preadd"]["requires"]
    for key, name in (("soundcloud", "SoundCloud"), ("youtube", "YouTube")):
        assert services[key]["direct_save"]["offered"] is True
        assert f"the release's {name} link" in services[key]["direct_save"]["requires"]
