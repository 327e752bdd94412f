"""`launchlink simulate-traffic` against a real server: every figure the API reports
equals the generator's ground truth — exact for people, every robot labelled and left out.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from launchlink.db import Database
from tests._server import running_server
from tests.builders import WorkspaceKey, create_workspace_with_key

SERVICES = ["spotify", "apple_music", "deezer"]


async def _workspace(database_url: str) -> WorkspaceKey:
    database = Database(database_url)
    try:
        return await create_workspace_with_key(database, name="Simulated Records")
    finally:
        await database.dispose()


def _create_link(api: httpx.Client, released: datetime) -> dict[str, Any]:
    artist = api.post("/api/v1/artists", json={"name": "Sim Ulated"})
    assert artist.status_code == 201, artist.text
    release = api.post(
        "/api/v1/releases",
        json={
            "title": "Known Mix",
            "type": "single",
            "artist_ids": [artist.json()["id"]],
            "release_mode": "global",
            "release_instant": released.isoformat(),
        },
    )
    assert release.status_code == 201, release.text
    link = api.post(
        "/api/v1/links",
        json={
            "release_id": release.json()["id"],
            "slug": "known-mix",
            "destinations": [
                {
                    "service": "spotify",
                    "url": "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
                },
                {"service": "apple_music", "url": "https://music.apple.com/us/album/x/1620500261"},
                {"service": "deezer", "url": "https://www.deezer.com/album/302127"},
            ],
        },
    )
    assert link.status_code == 201, link.text
    return dict(link.json())


def _summary_when_flushed(api: httpx.Client, path: str, requests: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = api.get(path)
        assert response.status_code == 200, response.text
        summary: dict[str, Any] = response.json()
        seen = summary["views"] + sum(summary["bot_views"].values())
        if seen >= requests or time.monotonic() > deadline:
            return summary
        time.sleep(0.3)


def test_every_reported_figure_matches_the_simulated_truth(
    database_url: str, tmp_path: Path
) -> None:
    key = asyncio.run(_workspace(database_url))
    env = {
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_TRUSTED_PROXIES": "127.0.0.1",
        "LAUNCHLINK_TRUSTED_COUNTRY_HEADER": "cf-ipcountry",
    }
    released = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    truth_file = tmp_path / "truth.json"
    with (
        running_server(env) as server,
        httpx.Client(base_url=server.base_url, headers=key.headers, timeout=10) as api,
    ):
        link = _create_link(api, released)
        launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
        run = subprocess.run(
            [
                launchlink,
                "simulate-traffic",
                "--base-url",
                server.base_url,
                "--slug",
                "known-mix",
                "--services",
                ",".join(SERVICES),
                "--people",
                "160",
                "--robots",
                "70",
                "--seed",
                "11",
                "--truth",
                str(truth_file),
            ],
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr.decode()
        truth = json.loads(truth_file.read_text())
        first = datetime.fromisoformat(truth["first"])
        last = datetime.fromisoformat(truth["last"])
        query = f"?from={first.date().isoformat()}&to={(last + timedelta(days=1)).date()}"
        summary = _summary_when_flushed(
            api, f"/api/v1/analytics/links/{link['id']}/summary{query}", truth["requests"]
        )
        hourly = api.get(
            f"/api/v1/analytics/links/{link['id']}/summary{query}&interval=hour"
        ).json()

    assert truth["views"] > 100  # the mix is not trivial
    assert truth["clicks_total"] > 30
    assert set(truth["bot_views"]) == {"preview", "bot", "ai_agent", "monitor", "prefetch"}
    for name in ("views", "visitors", "clicks", "clicks_total", "automatic_clicks",
                 "click_through", "bot_views", "qr_scans", "message_clicks"):  # fmt: skip
        assert summary[name] == truth[name], name
    for name, expected in truth["breakdowns"].items():
        assert summary["breakdowns"][name] == expected, name
    for name, expected in truth["click_breakdowns"].items():
        assert summary["click_breakdowns"][name] == expected, name
    best = {
        source: {entry["service"]: entry["clicks"] for entry in services}
        for source, services in summary["best_services_by_source"].items()
    }
    assert best == truth["source_service"]
    assert summary["intent_vs_demand"]["post_release_visitors"] == truth["visitors"]
    assert summary["intent_vs_demand"]["clicks"] == truth["clicks_total"]
    hours = {p["start"]: p for p in hourly["series"]}
    views_per_hour = {k: v["views"] for k, v in hours.items() if v["views"]}
    clicks_per_hour = {k: v["clicks"] for k, v in hours.items() if v["clicks"]}
    straddled = truth["straddled_hours"]
    _assert_same_hours(views_per_hour, truth["views_per_hour"], straddled)
    _assert_same_hours(clicks_per_hour, truth["clicks_per_hour"], straddled)
    window = {p["start"]: p["views"] for p in summary["launch_window"]["hours"] if p["views"]}
    assert window == views_per_hour
    assert sum(p["views"] for p in summary["series"]) == truth["views"]


def _assert_same_hours(reported: dict[str, int], truth: dict[str, int], straddled: int) -> None:
    """Exact, except that a request sent in one hour and answered in the next may be in
    either (the generator only knows it was stamped in between)."""
    expected = {_api_time(k): v for k, v in truth.items()}
    if not straddled:
        assert reported == expected
        return
    assert sum(reported.values()) == sum(expected.values())
    for hour in reported.keys() | expected.keys():
        assert abs(reported.get(hour, 0) - expected.get(hour, 0)) <= straddled, hour


def _api_time(iso: str) -> str:
    return datetime.fromisoformat(iso).isoformat().replace("+00:00", "Z")
