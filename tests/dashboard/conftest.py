"""A real app on a real database, browsers as cookie-keeping HTTP clients, a real SMTP
server catching the dashboard's emails."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import FrozenClock
from launchlink.mail import MailSettings
from launchlink.models import ConsentRecord, ConsentText, Fan, Link, Presave
from launchlink.models.presave import ConsentKind, PresaveState, ServiceMode
from tests.dashboard.chromium import served_app
from tests.presave import conftest as _presave
from tests.presave.conftest import Inbox

# A real SMTP server (aiosmtpd) and what it received, shared with the pre-save tests.
smtp = _presave.smtp
inbox = _presave.inbox

PUBLIC_URL = "https://links.example.test"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_WORKSPACE = re.compile(r"/dashboard/w/([0-9a-f-]{36})/")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def served(tmp_path: Path, sqlite_backend: Any, smtp: tuple[Inbox, int]) -> Iterator[Any]:
    """The simulator app on a real port for Chromium (tests/dashboard/chromium.py)."""
    with served_app(sqlite_backend.fresh_url(tmp_path), tmp_path, smtp[1]) as app:
        yield app


@pytest.fixture
def served_on_each_database(
    database_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> Iterator[Any]:
    """The same, once on SQLite and once on PostgreSQL (a test that asks for it runs twice)."""
    with served_app(database_url, tmp_path, smtp[1]) as app:
        yield app


@pytest.fixture
def dashboard_settings(database_url: str, tmp_path: Path, smtp: tuple[Inbox, int]) -> Settings:
    return Settings(
        mail=MailSettings(host="127.0.0.1", port=smtp[1], security="none"),
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url=PUBLIC_URL,
        environment="test",
        geoip="off",
        # The webhook tests' receiver listens on loopback (one test shows the refusal).
        webhooks_allow_private_targets=True,
    )


@pytest.fixture
async def dapp(dashboard_settings: Settings, clock: FrozenClock) -> AsyncIterator[Application]:
    application = create_app(dashboard_settings, clock=clock)
    yield application
    await application.shutdown()


class Browser:
    """One person's browser: its own cookies, the CSRF token of the last page it saw."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""
        self.last: httpx.Response | None = None

    async def get(self, path: str) -> httpx.Response:
        response = await self.client.get(path, headers={"accept": "text/html"})
        self._remember(response)
        return response

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        if csrf and "csrf" not in data:
            if not self.csrf:
                await self.get("/dashboard/login")
            data = {**data, "csrf": self.csrf}
        response = await self.client.post(path, data=data, headers={"accept": "text/html"})
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        self.last = response
        found = _CSRF.search(response.text)
        if found:
            self.csrf = unescape(found.group(1))

    async def sign_up(
        self, *, email: str, name: str = "Ada", workspace: str = "Ada Music", kind: str = "artist"
    ) -> UUID:
        await self.get("/dashboard/signup")
        response = await self.post(
            "/dashboard/signup",
            {
                "name": name,
                "email": email,
                "password": PASSWORD,
                "workspace_name": workspace,
                "kind": kind,
            },
        )
        assert response.status_code == 303, response.text
        return workspace_in(response.headers["location"])

    async def log_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/dashboard/login")
        return await self.post("/dashboard/login", {"email": email, "password": password})


def workspace_in(url: str) -> UUID:
    found = _WORKSPACE.search(url)
    assert found, url
    return UUID(found.group(1))


BrowserFactory = Callable[[], Awaitable[Browser]]


@pytest.fixture
async def browsers(dapp: Application) -> AsyncIterator[BrowserFactory]:
    clients: list[httpx.AsyncClient] = []

    async def new() -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=dapp), base_url=PUBLIC_URL)
        clients.append(client)
        return Browser(client)

    yield new
    for client in clients:
        await client.aclose()


@dataclass
class Team:
    """A workspace with one member of every role, each in their own browser."""

    workspace_id: UUID
    owner: Browser
    admin: Browser
    editor: Browser
    viewer: Browser


def link_in(inbox: Inbox, address: str, path: str) -> str:
    messages = inbox.to(address)
    assert messages, f"no email to {address}"
    text = Inbox.text_of(messages[-1])
    found = re.search(re.escape(PUBLIC_URL) + r"(" + re.escape(path) + r"[^\s]+)", text)
    assert found, text
    return found.group(1)


async def invite_and_join(
    inviter: Browser,
    invitee: Browser,
    inbox: Inbox,
    workspace_id: UUID,
    email: str,
    role: str,
) -> None:
    await inviter.get(f"/dashboard/w/{workspace_id}/members")
    response = await inviter.post(
        f"/dashboard/w/{workspace_id}/members/invite", {"email": email, "role": role}
    )
    assert response.status_code == 303, response.text
    link = link_in(inbox, email, "/dashboard/invite/")
    await invitee.get(link)
    response = await invitee.post(link, {"name": role.title(), "password": PASSWORD})
    assert response.status_code == 303, response.text


@pytest.fixture
async def team(browsers: BrowserFactory, inbox: Inbox) -> Team:
    owner = await browsers()
    workspace_id = await owner.sign_up(email="owner@example.com")
    people = {}
    for role in ("admin", "editor", "viewer"):
        people[role] = await browsers()
        await invite_and_join(owner, people[role], inbox, workspace_id, f"{role}@example.com", role)
    return Team(workspace_id, owner, people["admin"], people["editor"], people["viewer"])


@pytest.fixture
async def sim_app(
    database_url: str, tmp_path: Path, smtp: tuple[Inbox, int], clock: FrozenClock
) -> AsyncIterator[Application]:
    """The app with the embedded simulator, so pastes resolve and fans can sign in."""
    settings = Settings(
        mail=MailSettings(host="127.0.0.1", port=smtp[1], security="none"),
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url=PUBLIC_URL,
        environment="test",
        geoip="off",
        simulator_embedded=True,
    )
    application = create_app(settings, clock=clock)
    yield application
    # Not only the database: a campaign created in the test re-aligns the simulator in the
    # background (DemoSimulatorAligner), and a read cut off by dispose() leaks its session.
    await application.shutdown()


@pytest.fixture
async def artist(sim_app: Application) -> AsyncIterator[tuple[Browser, str]]:
    """A signed-up owner on the simulator app, and the base path of their workspace."""
    transport = httpx.ASGITransport(app=sim_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        browser = Browser(client)
        workspace_id = await browser.sign_up(email="nova@example.com", workspace="Nova Reyes")
        yield browser, f"/dashboard/w/{workspace_id}"


@pytest.fixture
async def browsers_on_sim(sim_app: Application) -> AsyncIterator[BrowserFactory]:
    """More people's browsers on the simulator app (team members of the artist)."""
    clients: list[httpx.AsyncClient] = []

    async def new() -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=PUBLIC_URL)
        clients.append(client)
        return Browser(client)

    yield new
    for client in clients:
        await client.aclose()


SEEDED_AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def seed_fan(
    app: Application,
    link_id: UUID,
    *,
    email: str | None,
    email_consent: bool,
    sms: str | None = None,
    state: PresaveState = PresaveState.done,
    reason: str | None = None,
    reminder_only: bool = False,
) -> UUID:
    """A fan as the pre-save page leaves one: a pre-save, a consent record per agreement
    (``reminder_only``: the address given for this release's reminders only)."""
    async with app.context.database.transaction() as session:
        link = (await session.execute(select(Link).where(Link.id == link_id))).scalar_one()
        text = (
            await session.execute(
                select(ConsentText).where(ConsentText.workspace_id == link.workspace_id)
            )
        ).scalar_one_or_none() or ConsentText(
            workspace_id=link.workspace_id, kind=ConsentKind.email, version=3, text="News by email"
        )
        fan = Fan(
            workspace_id=link.workspace_id,
            email=email,
            phone=sms,
            country="GB",
            email_consent_at=SEEDED_AT - timedelta(days=1) if email_consent else None,
            sms_consent_at=SEEDED_AT - timedelta(days=1) if sms else None,
        )
        session.add_all([text, fan])
        await session.flush()
        presave = Presave(
            workspace_id=link.workspace_id,
            link_id=link.id,
            release_id=link.release_id,
            fan_id=fan.id,
            service="spotify",
            mode=ServiceMode.direct_save,
            state=state,
            final_reason=reason,
            time_zone="Europe/London",
            due_at=SEEDED_AT,
            email_reminder_at=SEEDED_AT - timedelta(days=1) if reminder_only else None,
        )
        session.add(presave)
        await session.flush()
        session.add(
            ConsentRecord(
                workspace_id=link.workspace_id,
                fan_id=fan.id,
                presave_id=presave.id,
                kind=ConsentKind.connect_service,
                service="spotify",
                at=SEEDED_AT - timedelta(days=1),
            )
        )
        if email_consent:
            session.add(
                ConsentRecord(
                    workspace_id=link.workspace_id,
                    fan_id=fan.id,
                    presave_id=presave.id,
                    kind=ConsentKind.email,
                    consent_text_id=text.id,
                    at=SEEDED_AT - timedelta(days=1),
                )
            )
        return fan.id
