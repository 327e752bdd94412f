"""A fan pre-saves in headless Chromium against the real app and the embedded simulator."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import SystemClock
from launchlink.models import ConsentRecord, Presave, ServiceGrant
from launchlink.models.presave import ConsentKind, PendingContact, PresaveState
from launchlink.presave.service import grant_tokens
from tests.api.conftest import Api
from tests.builders import create_workspace_with_key
from tests.presave.conftest import DESKTOP_UA, make_presave_link

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Served:
    def __init__(self, app: Application, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Served:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            threading.Event().wait(0.05)
        raise RuntimeError("the app did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def served(tmp_path: Path, sqlite_backend: object) -> Iterator[_Served]:
    port = _free_port()
    database = tmp_path / "launchlink.sqlite3"
    template = sqlite_backend.template  # type: ignore[attr-defined]
    database.write_bytes(template.read_bytes())
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database.as_posix()}",
        var_dir=tmp_path / "var",
        public_url=f"http://127.0.0.1:{port}",
        environment="test",
        simulator_embedded=True,
        geoip="off",
    )
    app = create_app(settings, clock=SystemClock())
    with _Served(app, port) as served_app:
        yield served_app


@pytest.mark.browser
@pytest.mark.slow
async def test_a_fan_presaves_on_spotify_in_a_real_browser(
    served: _Served, chromium_path: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    app = served.app
    state = app.simulator_state
    assert state is not None
    state.set_consent_mode("spotify", "manual")
    label = await create_workspace_with_key(app.context.database, name="Demo Records")
    release_at = (SystemClock().now() + timedelta(days=14)).replace(microsecond=0)
    async with httpx.AsyncClient(base_url=served.url) as client:
        await make_presave_link(
            Api(client),
            label,
            slug="demo-soon",
            release={"release_instant": release_at.isoformat()},
        )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            # Headless Chromium says "HeadlessChrome": classed as a bot, it would get the card.
            page = await browser.new_page(user_agent=DESKTOP_UA)
            await page.goto(f"{served.url}/demo-soon")
            await page.check("#email_consent")
            await page.fill("#email", "browser-fan@example.com")
            await page.click("#presave-spotify")
            await page.wait_for_selector("#approve")  # the simulator's Spotify consent page
            await page.fill("#username", "browser-fan")
            await page.click("#approve")
            await page.wait_for_selector("#confirmed")
            assert "/presave/demo-soon/done" in page.url
            items = await page.inner_text("#what-happens")
            assert "Spotify" in items
            assert await page.is_visible("#email-pending")  # the address waits for its owner
        finally:
            await browser.close()

    async with app.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        grant = (await session.execute(select(ServiceGrant))).scalar_one()
        consents = list((await session.execute(select(ConsentRecord))).scalars())
        pending = (await session.execute(select(PendingContact))).scalar_one()
    assert presave.state is PresaveState.waiting
    assert {c.kind for c in consents} == {ConsentKind.connect_service}
    assert pending.email == "browser-fan@example.com"
    assert pending.browser_hash == presave.browser_hash
    assert app.context.cipher is not None
    tokens = grant_tokens(grant, app.context.cipher)
    assert tokens.refresh_token is not None
    await asyncio.sleep(0)
    stored = b"".join(
        path.read_bytes() for path in tmp_path.glob("launchlink.sqlite3*") if path.is_file()
    )
    assert b"browser-fan@example.com" in stored  # the file is what we think it is
    assert tokens.access_token.encode() not in stored
    assert tokens.refresh_token.encode() not in stored
