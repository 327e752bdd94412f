"""Lighthouse (mobile) on the seeded demo's smart link and pre-save page, when it is
installed: set LAUNCHLINK_LIGHTHOUSE to the path of its CLI, e.g.

    mkdir -p /work/tools/lh && (cd /work/tools/lh && npm install lighthouse)
    export LAUNCHLINK_LIGHTHOUSE=/work/tools/lh/node_modules/.bin/lighthouse
    pytest tests/presave/test_lighthouse.py

Without it the test skips with a message in the summary (also under CI=true: Lighthouse
needs npm, which CI does not install); the audits that once failed are checked without
Lighthouse too (tests/presave/test_fan_pages_browser.py, tests/presave/test_page_quality.py).

Performance is the one score that moves with the machine's load (its total blocking time is
measured on a CPU shared with other work): a page gets up to three runs and its best counts.
The other three categories must be met on every run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.demo import DEMO_SLUG, DEMO_SOON_SLUG, seed_demo
from launchlink.kit.clock import SystemClock
from tests.presave.test_browser import _free_port, _Served
from tests.presave.test_fan_pages_browser import ARTIFACTS

LIGHTHOUSE_ENV = "LAUNCHLINK_LIGHTHOUSE"
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95, "seo": 100}
PERFORMANCE_RUNS = 3


@pytest.fixture
def lighthouse() -> str:
    path = os.environ.get(LIGHTHOUSE_ENV, "")
    if not path or not Path(path).is_file():
        pytest.skip(
            f"LIGHTHOUSE NOT RUN: set {LIGHTHOUSE_ENV} to the lighthouse CLI "
            f"(npm install lighthouse){f'; {path!r} does not exist' if path else ''}"
        )
    return path


@pytest.fixture
def demo_served(tmp_path: Path, lighthouse: str) -> Iterator[_Served]:
    import asyncio

    port = _free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{(tmp_path / 'demo.sqlite3').as_posix()}",
        var_dir=tmp_path / "var",
        public_url=f"http://127.0.0.1:{port}",
        environment="test",
        simulator_embedded=True,
        geoip="off",
    )
    asyncio.run(seed_demo(settings))
    with _Served(create_app(settings, clock=SystemClock()), port) as served_app:
        yield served_app


def _run(lighthouse: str, chromium: str, url: str, report: Path) -> dict[str, Any]:
    subprocess.run(
        [
            lighthouse,
            url,
            "--quiet",
            "--form-factor=mobile",
            "--chrome-flags=--headless=new --no-sandbox",
            "--only-categories=performance,accessibility,best-practices,seo",
            "--output=json",
            f"--output-path={report}",
        ],
        env={**os.environ, "CHROME_PATH": chromium},
        check=True,
        timeout=180,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def _scores(result: dict[str, Any]) -> dict[str, int]:
    return {name: round(category["score"] * 100) for name, category in result["categories"].items()}


def _failing(result: dict[str, Any], category: str) -> list[str]:
    audits = result["audits"]
    return [
        f"{ref['id']} ({audits[ref['id']].get('displayValue') or audits[ref['id']]['score']})"
        for ref in result["categories"][category]["auditRefs"]
        if ref.get("weight", 0) > 0
        and audits[ref["id"]]["score"] is not None
        and audits[ref["id"]]["score"] < 1
    ]


@pytest.mark.browser
@pytest.mark.slow
def test_lighthouse_scores_of_the_demo_smart_link_and_presave_page(
    lighthouse: str, chromium_path: str, demo_served: _Served
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for name, slug in (("smart-link", DEMO_SLUG), ("presave", DEMO_SOON_SLUG)):
        best: dict[str, int] | None = None
        for attempt in range(PERFORMANCE_RUNS):
            report = ARTIFACTS / f"lighthouse-{name}-{attempt}.json"
            result = _run(lighthouse, chromium_path, f"{demo_served.url}/{slug}", report)
            scores = _scores(result)
            for category in ("accessibility", "best-practices", "seo"):
                if scores[category] < TARGETS[category]:
                    problems.append(
                        f"{name} {category} {scores[category]} < {TARGETS[category]}: "
                        + ", ".join(_failing(result, category))
                    )
            if best is None or scores["performance"] > best["performance"]:
                best = scores
            if scores["performance"] >= TARGETS["performance"]:
                break
        assert best is not None
        if best["performance"] < TARGETS["performance"]:
            problems.append(
                f"{name} performance {best['performance']} < {TARGETS['performance']} "
                f"in {PERFORMANCE_RUNS} runs: " + ", ".join(_failing(result, "performance"))
            )
        print(f"lighthouse {name}: {best}")
    assert problems == [], "\n".join(problems)
