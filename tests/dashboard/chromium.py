"""What the dashboard's Chromium tests share: the served app, the viewports, and the audit
of a page (axe-core in light and dark, a screenshot of each under tests/artifacts/)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.kit.clock import SystemClock
from launchlink.mail import MailSettings
from tests._server import RunningServer, free_port, running_server
from tests.presave.test_browser import CHROMIUM_ARGS, _Served

__all__ = ["CHROMIUM_ARGS", "LAPTOP", "PHONE", "audit", "served_app", "served_like_serve"]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def served_app(database_url: str, tmp_path: Path, smtp_port: int) -> Iterator[_Served]:
    """The app with the embedded simulator on a real port, in this process (its background
    workers off, as in every test app: ``environment="test"``), over ``database_url`` (a
    fresh database: SQLite or PostgreSQL)."""
    port = free_port()
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url=f"http://127.0.0.1:{port}",
        environment="test",
        geoip="off",
        mail=MailSettings(host="127.0.0.1", port=smtp_port, security="none"),
        simulator_embedded=True,
    )
    with _Served(create_app(settings, clock=SystemClock()), port) as served:
        yield served


@contextmanager
def served_like_serve(tmp_path: Path, sqlite_template: Path) -> Iterator[RunningServer]:
    """``launchlink serve`` itself in a subprocess, configured as a one-machine install:
    embedded fulfilment worker, outbox dispatcher, messaging and analytics flusher all
    running in the served process (``environment=development``: the one setting that
    keeps them from starting is ``test``), the simulator embedded, mail to the dev outbox."""
    port = free_port()
    database = tmp_path / "served.sqlite3"
    shutil.copyfile(sqlite_template, database)
    env = {
        "LAUNCHLINK_ENVIRONMENT": "development",
        "LAUNCHLINK_DATABASE_URL": f"sqlite+aiosqlite:///{database.as_posix()}",
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "served-var"),
        "LAUNCHLINK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LAUNCHLINK_GEOIP": "off",
        "LAUNCHLINK_SIMULATOR_EMBEDDED": "true",
        "LAUNCHLINK_EMBEDDED_WORKER": "true",
    }
    with running_server(env, port=port) as server:
        yield server


async def audit(page: Any, name: str, *, folder: str) -> None:
    """axe-core on the page as it is, in both themes; a screenshot of each in
    tests/artifacts/<folder>/."""
    target = ARTIFACTS / folder
    target.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        await page.evaluate(f"document.documentElement.setAttribute('data-theme', '{theme}')")
        await page.wait_for_timeout(400)  # colour transitions settle before contrast is read
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE))
        violations = await page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})); }"
        )
        assert violations == [], f"{name} ({theme}): {json.dumps(violations, indent=1)}"
        await page.screenshot(path=str(target / f"{name}-{theme}.png"), full_page=True)


async def sign_up(page: Any, base: str, *, email: str = "nova@example.com") -> str:
    """Sign up on the dashboard as the first user; the URL of the new workspace."""
    import re

    from tests.dashboard.conftest import PASSWORD

    await page.goto(f"{base}/dashboard/signup")
    await page.fill("#f-name", "Nova Reyes")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.fill("#f-workspace_name", "Nova Reyes")
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/campaigns$"))
    return str(page.url).rsplit("/", 1)[0]


async def launch_campaign(page: Any, paste: str, slug: str) -> str:
    """New campaign → paste → Find → slug → Launch; the campaign page's URL."""
    import re

    await page.click("main >> text=New campaign")
    await page.fill("#f-paste", paste)
    await page.click("text=Find the release")
    await page.wait_for_selector("#found-heading")
    await page.fill("#f-slug", slug)
    await page.click("text=Launch campaign")
    await page.wait_for_url(re.compile(r".*/campaigns/[0-9a-f-]+\?done=launched$"))
    return str(page.url).split("?")[0]
