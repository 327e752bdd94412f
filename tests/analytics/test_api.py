"""GET /api/v1/analytics/...: every figure from real requests, scoped to the workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import FrozenClock
from tests.api.conftest import Api, make_link
from tests.builders import WorkspaceKey, create_workspace_with_key
from tests.links.test_public_support import ANDROID, IPHONE, PREVIEW_BOTS

RELEASE = datetime(2026, 3, 6, tzinfo=UTC)
BASE = "https://links.example.test"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(RELEASE - timedelta(hours=2, minutes=30))


@pytest.fixture
async def app(database_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Application]:
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url=BASE,
        environment="test",
    )
    application = create_app(settings, clock=clock)
    yield application
    await application.shutdown()


@pytest.fixture
async def api(app: Application) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield Api(client)


@pytest.fixture
async def owner(app: Application) -> WorkspaceKey:
    return await create_workspace_with_key(app.context.database, name="Owner Records")


def _visitor(app: Application, ip: str, user_agent: str, **headers: str) -> httpx.AsyncClient:
    sent = {"user-agent": user_agent, "accept": "text/html"}
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 5000)), base_url=BASE, headers=sent
    )


async def _flush(app: Application) -> None:
    assert app.analytics is not None
    await app.analytics.flush()


async def _summary(api: Api, who: WorkspaceKey, link_id: str, query: str = "") -> Any:
    response = await api.get(who, f"/analytics/links/{link_id}/summary{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_links_summary_counts_people_and_labels_robots(
    app: Application, api: Api, owner: WorkspaceKey, clock: FrozenClock
) -> None:
    link = await make_link(api, owner, slug="midnight")
    # Before the release: one fan from Instagram's story, and a preview bot.
    async with _visitor(app, "203.0.113.9", IPHONE) as fan:
        assert (await fan.get("/midnight?c=ig-story")).status_code == 200
    async with _visitor(app, "203.0.113.99", PREVIEW_BOTS["slack"]) as bot:
        await bot.get("/midnight")
    await _flush(app)
    clock.advance(timedelta(hours=3))  # 30 minutes after the release
    async with _visitor(app, "203.0.113.9", IPHONE) as fan:  # the same fan, back
        await fan.get("/midnight")
        assert (await fan.get("/midnight/spotify")).status_code == 302
    async with _visitor(app, "198.51.100.4", ANDROID, referer="https://t.co/abc") as fan:
        await fan.get("/midnight")
        await fan.get("/midnight/apple_music")
        await fan.head("/midnight")  # counted as a prefetch, not a view
    await _flush(app)

    query = "?from=2026-03-05&to=2026-03-07"
    summary = await _summary(api, owner, link["id"], query)
    assert summary["views"] == 3
    assert summary["visitors"] == 3  # once per UTC day: the returning fan on each day
    assert summary["clicks"] == {"apple_music": 1, "spotify": 1}
    assert summary["click_through"] == round(2 / 3, 4)
    assert summary["bot_views"] == {"preview": 1, "prefetch": 1}
    assert summary["breakdowns"]["source"] == {"direct": 1, "instagram": 1, "x": 1}
    assert summary["breakdowns"]["channel"] == {"unknown": 2, "ig-story": 1}
    assert summary["breakdowns"]["device"] == {"mobile": 3}
    assert summary["breakdowns"]["phase"] == {"live": 2, "presave": 1}
    assert summary["intent_vs_demand"]["pre_release_visitors"] == 1
    assert summary["intent_vs_demand"]["post_release_visitors"] == 2
    assert summary["intent_vs_demand"]["clicks_per_100_post_release_visitors"] == 100.0
    window = summary["launch_window"]
    assert window["release_at"].startswith("2026-03-06T00:00:00")
    assert len(window["hours"]) == 120
    by_offset = {hour["hours_from_release"]: hour for hour in window["hours"]}
    assert by_offset[-3]["views"] == 1
    assert by_offset[0]["views"] == 2
    assert by_offset[0]["clicks"] == 2
    assert sum(hour["views"] for hour in window["hours"]) == 3
    days = {point["start"][:10]: point for point in summary["series"]}
    assert days["2026-03-05"]["views"] == 1
    assert days["2026-03-06"]["views"] == 2

    hourly = await _summary(api, owner, link["id"], f"{query}&interval=hour")
    assert len(hourly["series"]) == 48
    assert sum(point["clicks"] for point in hourly["series"]) == 2

    narrow = await _summary(
        api, owner, link["id"], "?from=2026-03-06T00:00:00Z&to=2026-03-06T01:00:00Z"
    )
    assert narrow["views"] == 2
    assert narrow["bot_views"] == {"prefetch": 1}


async def test_the_workspace_summary_adds_up_its_links(
    app: Application, api: Api, owner: WorkspaceKey
) -> None:
    first = await make_link(api, owner, slug="first")
    await make_link(api, owner, slug="second")
    async with _visitor(app, "203.0.113.9", IPHONE) as fan:
        await fan.get("/first")
        await fan.get("/second")
        await fan.get("/second")
    await _flush(app)
    response = await api.get(owner, "/analytics/summary?from=2026-03-01&to=2026-03-10")
    assert response.status_code == 200, response.text
    workspace = response.json()
    assert workspace["views"] == 3
    assert workspace["visitors"] == 1  # one fan: the workspace counts people, not links
    assert (await _summary(api, owner, first["id"], "?from=2026-03-01"))["views"] == 1


async def test_another_workspaces_link_is_not_found(
    app: Application, api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    stranger = await create_workspace_with_key(app.context.database, name="Stranger")
    response = await api.get(stranger, f"/analytics/links/{link['id']}/summary")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    unauthenticated = await api.client.get(f"/api/v1/analytics/links/{link['id']}/summary")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("query", "field", "fragment"),
    [
        ("?from=2026-03-07&to=2026-03-06", "from", "before"),
        ("?from=2026-03-07T00:00:00", "from", "time zone"),
        ("?from=yesterday", "from", "must be a date"),
        ("?from=2020-01-01&to=2026-03-06", "to", "at most"),
        ("?interval=week", "interval", "hour"),
        ("?from=2026-01-01&to=2026-03-06&interval=hour", "interval", "interval=day"),
    ],
)
async def test_bad_parameters_are_refused_with_a_message(
    api: Api, owner: WorkspaceKey, query: str, field: str, fragment: str
) -> None:
    link = await make_link(api, owner)
    response = await api.get(owner, f"/analytics/links/{link['id']}/summary{query}")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert fragment in error["message"]
