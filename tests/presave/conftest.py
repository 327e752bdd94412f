"""Pre-save fixtures: the real app with the embedded simulator, a frozen clock, a link with
a campaign, and a fan's browser (an httpx client keeping cookies)."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import FrozenClock
from launchlink.mail import MailSettings
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.delivery import Round
from launchlink.models import Message
from launchlink.models.messaging import MessageChannel, MessageKind
from launchlink.simulator.state import SimulatorState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key

PUBLIC_URL = "https://links.example.test"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RELEASE_INSTANT = "2026-03-06T00:00:00Z"
SPOTIFY_ARTIST_ID = "31AnIyOYezCzKVI6wL1HZl"  # Nova Reyes in the demo simulator
APPLE_PREORDER_ALBUM_ID = "7079343864"  # the Tidewater EP pre-order


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.inbox.messages.append(
            message_from_bytes(envelope.original_content, _class=EmailMessage, policy=default)
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real local SMTP server (aiosmtpd) collecting what the app sends."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


@pytest.fixture(scope="session")
def dkim_pem() -> bytes:
    """The operator's DKIM key: without one the email channel is off (messages wait)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.fixture
def presave_settings(
    database_url: str, tmp_path: Path, smtp: tuple[Inbox, int], dkim_pem: bytes
) -> Settings:
    key = tmp_path / "dkim.pem"
    key.write_bytes(dkim_pem)
    return Settings(
        mail=MailSettings(
            host="127.0.0.1", port=smtp[1], security="none", from_address="Tide <news@example.test>"
        ),
        messaging=MessagingSettings(
            dkim_domain="example.test", dkim_key_file=key, email_per_second=1000.0
        ),
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url=PUBLIC_URL,
        environment="test",
        simulator_embedded=True,
        geoip="off",
        trusted_country_header="CF-IPCountry",
    )


@pytest.fixture
async def papp(presave_settings: Settings, clock: FrozenClock) -> AsyncIterator[Application]:
    application = create_app(presave_settings, clock=clock)
    yield application
    await application.shutdown()


async def deliver_messages(
    app: Application, channel: MessageChannel = MessageChannel.email
) -> Round:
    """What the app's delivery worker does in a round (its loop is not started in tests):
    the outbox's planners first (a fan's event plans their messages), then every due
    message of ``channel``, round after round until none is left; the totals."""
    assert app.context.outbox is not None
    assert app.messaging is not None
    await app.context.outbox.run_once()
    total = Round()
    while True:
        done = await app.messaging.delivery.run_round(channel)
        if done.claimed == 0:
            return total
        for name in ("claimed", "sent", "deferred", "retrying", "failed", "cancelled"):
            setattr(total, name, getattr(total, name) + getattr(done, name))


async def reminder_messages(app: Application) -> list[Message]:
    """The release-day messages planned (what a "remind me" sign-up asks for), after the
    outbox's planners ran; every channel, oldest first."""
    assert app.context.outbox is not None
    await app.context.outbox.run_once()
    async with app.context.database.sessionmaker() as session:
        rows = await session.execute(
            select(Message).where(Message.kind == MessageKind.release_day).order_by(Message.id)
        )
        return list(rows.scalars())


@pytest.fixture
def sim(papp: Application) -> SimulatorState:
    state = papp.simulator_state
    assert state is not None
    return state


DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
INSTAGRAM_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Instagram 300.0.0.0 (iPhone14,2; iOS 17_0; en_US)"
)


def browser_for(app: Application, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport,
        base_url=PUBLIC_URL,
        headers={"User-Agent": DESKTOP_UA, **headers},
        follow_redirects=False,
    )


@pytest.fixture
async def fan(papp: Application) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as client:
        yield client


@pytest.fixture
async def admin(papp: Application) -> AsyncIterator[Api]:
    async with browser_for(papp) as client:
        yield Api(client)


@pytest.fixture
async def label(papp: Application) -> WorkspaceKey:
    return await create_workspace_with_key(papp.context.database, name="Label One")


async def make_presave_link(
    api: Api,
    who: WorkspaceKey,
    *,
    slug: str = "soon",
    release: dict[str, Any] | None = None,
    campaign: dict[str, Any] | None = None,
) -> dict[str, Any]:
    artist = (
        await api.post(
            who, "/artists", {"name": "Nova Reyes", "service_ids": {"spotify": SPOTIFY_ARTIST_ID}}
        )
    ).json()
    body: dict[str, Any] = {
        "title": "Midnight Cartography",
        "type": "album",
        "artist_ids": [artist["id"]],
        "upc": "036000291452",
        "release_mode": "global",
        "release_instant": RELEASE_INSTANT,
        "tracks": [{"title": "North Star", "isrc": "USRC17607839", "duration_ms": 201000}],
    }
    body.update(release or {})
    created = await api.post(who, "/releases", body)
    assert created.status_code == 201, created.text
    link = await api.post(
        who,
        "/links",
        {
            "release_id": created.json()["id"],
            "slug": slug,
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
    settings = {"follow_artist_ids": [artist["id"]]}
    settings.update(campaign or {})
    put = await api.put(who, f"/links/{link.json()['id']}/campaign", settings)
    assert put.status_code == 200, put.text
    return {"link": link.json(), "campaign": put.json(), "artist": artist}


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


async def open_page(browser: httpx.AsyncClient, slug: str = "soon") -> str:
    response = await browser.get(f"/{slug}")
    assert response.status_code == 200, response.text
    return response.text


async def approve_on_simulator(
    browser: httpx.AsyncClient, authorize_url: str, *, username: str, decision: str = "approve"
) -> httpx.Response:
    """What a fan does on the simulator's consent page (it is served by the same app)."""
    page = await browser.get(authorize_url)
    assert page.status_code == 200, page.text
    consent_id = re.search(r'name="consent_id" value="([^"]+)"', page.text)
    assert consent_id is not None
    action = httpx.URL(authorize_url).path
    return await browser.post(
        action,
        data={
            "consent_id": consent_id.group(1),
            "username": username,
            "country": "GB",
            "decision": decision,
        },
    )


async def presave_via_spotify(
    browser: httpx.AsyncClient,
    *,
    username: str = "fan-one",
    slug: str = "soon",
    form: dict[str, str] | None = None,
) -> httpx.Response:
    """The whole round trip; returns the callback's response (303 to the confirmation)."""
    html = await open_page(browser, slug)
    data = {"csrf": csrf_of(html), "service": "spotify", **(form or {})}
    started = await browser.post(f"/presave/{slug}/connect", data=data)
    assert started.status_code == 303, started.text
    answered = await approve_on_simulator(browser, started.headers["location"], username=username)
    assert answered.status_code == 302, answered.text
    callback = httpx.URL(answered.headers["location"])
    return await browser.get(callback.raw_path.decode())


_OPT_IN_LINK = re.compile(r"https://links\.example\.test(/presave/confirm/\S+)")


def opt_in_path(inbox: Inbox, address: str) -> str:
    """The confirmation link of the newest opt-in email sent to ``address``."""
    sent = [m for m in inbox.to(address) if m["Subject"].startswith("Confirm")]
    assert sent, f"no opt-in email to {address}"
    found = _OPT_IN_LINK.search(Inbox.text_of(sent[-1]))
    assert found is not None, "no confirmation link in the opt-in email"
    return found.group(1)


async def confirm_address(browser: httpx.AsyncClient, inbox: Inbox, address: str) -> httpx.Response:
    """What the owner of ``address`` does with the opt-in email, in ``browser``: open the
    link (a page with a button) and press Confirm."""
    path = opt_in_path(inbox, address)
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    assert 'id="confirm"' in page.text
    return await browser.post(path, data={"csrf": csrf_of(page.text)})


async def ask_for_reminder(
    browser: httpx.AsyncClient,
    *,
    email: str | None = None,
    phone: str | None = None,
    service: str = "",
    slug: str = "soon",
    reminder_only: bool = False,
) -> httpx.Response:
    """Open the page and post "remind me" with the given contact details, boxes ticked:
    the marketing boxes, or with ``reminder_only`` the this-release-only ones."""
    data = {"csrf": csrf_of(await open_page(browser, slug)), "service": service}
    email_box, sms_box = (
        ("email_reminder", "sms_reminder") if reminder_only else ("email_consent", "sms_consent")
    )
    if email is not None:
        data.update({"email": email, email_box: "1"})
    if phone is not None:
        data.update({"phone": phone, sms_box: "1"})
    return await browser.post(f"/presave/{slug}/remind", data=data)


async def sign_up_for_reminder(
    browser: httpx.AsyncClient,
    inbox: Inbox,
    email: str,
    *,
    service: str = "deezer",
    reminder_only: bool = False,
) -> str:
    """A fan with a confirmed email reminder: they ask for it on the page (the marketing
    box ticked, or with ``reminder_only`` the this-release-only one) and confirm the
    address from the opt-in email; returns the page the flow ends on."""
    answer = await ask_for_reminder(
        browser, service=service, email=email, reminder_only=reminder_only
    )
    assert answer.status_code == 200, f"{service}: {answer.text}"
    confirmed = await confirm_address(browser, inbox, email)
    assert confirmed.status_code == 303, f"{service}: {confirmed.text}"
    return str(confirmed.headers["location"])
