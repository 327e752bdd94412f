"""Raw events of a link as CSV and Parquet, streamed, scoped to the workspace."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq

from launchlink.app import Application
from tests.analytics.test_api import _flush, _visitor, api, app, clock, owner  # noqa: F401
from tests.api.conftest import Api, make_link
from tests.builders import WorkspaceKey, create_workspace_with_key
from tests.links.test_public_support import IPHONE, PREVIEW_BOTS

RANGE = "from=2026-03-05&to=2026-03-07"


async def _traffic(app: Application) -> None:  # noqa: F811
    async with _visitor(app, "203.0.113.9", IPHONE) as fan:
        await fan.get("/midnight?c=ig-story&fbclid=secret-click-id")
        await fan.get("/midnight/spotify")
    async with _visitor(app, "203.0.113.10", '=HYPERLINK("http://evil.example")') as odd:
        await odd.get("/midnight")
    async with _visitor(app, "203.0.113.11", PREVIEW_BOTS["twitter"]) as bot:
        await bot.get("/midnight")
    await _flush(app)


async def test_a_csv_export_holds_every_raw_event_without_ip_or_hash(
    app: Application,  # noqa: F811
    api: Api,  # noqa: F811
    owner: WorkspaceKey,  # noqa: F811
) -> None:
    link = await make_link(api, owner, slug="midnight")
    await _traffic(app)
    response = await api.get(owner, f"/analytics/links/{link['id']}/events?{RANGE}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["kind"], r["bot_class"]) for r in rows] == [
        ("page_view", "human"),
        ("service_click", "human"),
        ("page_view", "bot"),
        ("page_view", "preview"),
    ]
    assert rows[0]["channel"] == "ig-story"
    assert rows[1]["service"] == "spotify"
    assert rows[2]["user_agent"].startswith("'=")  # no formula runs in a spreadsheet
    assert "visitor_hash" not in rows[0]
    assert "203.0.113" not in response.text
    assert "secret-click-id" not in response.text


async def test_a_parquet_export_reads_back_with_the_same_rows(
    app: Application,  # noqa: F811
    api: Api,  # noqa: F811
    owner: WorkspaceKey,  # noqa: F811
) -> None:
    link = await make_link(api, owner, slug="midnight")
    await _traffic(app)
    response = await api.get(owner, f"/analytics/links/{link['id']}/events?{RANGE}&format=parquet")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 4
    assert table.column("kind").to_pylist() == [
        "page_view", "service_click", "page_view", "page_view",
    ]  # fmt: skip
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"


async def test_an_export_outside_the_range_is_empty_and_a_strangers_is_not_found(
    app: Application,  # noqa: F811
    api: Api,  # noqa: F811
    owner: WorkspaceKey,  # noqa: F811
) -> None:
    link = await make_link(api, owner, slug="midnight")
    await _traffic(app)
    response = await api.get(
        owner, f"/analytics/links/{link['id']}/events?from=2026-04-01&to=2026-04-02"
    )
    assert response.status_code == 200
    assert response.text.splitlines()[1:] == []
    stranger = await create_workspace_with_key(app.context.database, name="Stranger")
    assert (await api.get(stranger, f"/analytics/links/{link['id']}/events")).status_code == 404
    bad = await api.get(owner, f"/analytics/links/{link['id']}/events?format=xlsx")
    assert bad.status_code == 422
