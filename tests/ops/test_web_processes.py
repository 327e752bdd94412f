"""`launchlink web --workers 2`: /metrics adds up every worker process's counters."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from launchlink.migrate import upgrade_to_head
from tests._server import running_web

pytestmark = pytest.mark.slow


def _count(text_format: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text_format.splitlines()
        if line.startswith(prefix)
    )


def test_metrics_of_two_web_processes_are_summed_whichever_answers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}"
    upgrade_to_head(url)
    env = {"LAUNCHLINK_DATABASE_URL": url, "LAUNCHLINK_VAR_DIR": str(tmp_path / "var")}
    requests = 60
    with running_web(env, workers=2) as server:
        # A new connection per request, so the kernel spreads them over both processes.
        for _ in range(requests):
            response = httpx.get(f"{server.base_url}/healthz", timeout=10)
            assert response.status_code == 200
        scrapes = [httpx.get(f"{server.base_url}/metrics", timeout=10).text for _ in range(4)]
    healthz = 'launchlink_http_requests_total{route="ops",status="200"}'
    # Every scrape sees at least all the /healthz requests, whichever process answers it.
    assert all(_count(text_format, healthz) >= requests for text_format in scrapes), scrapes[0]
    assert "launchlink_fulfilment_open_jobs" in scrapes[0]
