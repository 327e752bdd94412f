"""Without SMTP, a development instance keeps every email where its links can be followed."""

from __future__ import annotations

import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import FrozenClock
from launchlink.mail import LoggingMailSender, MailSettings, OutgoingEmail, SmtpMailSender
from launchlink.mail.outbox import KEEP, OutboxMailSender
from launchlink.mail.smtp import mail_sender_from
from tests.api.conftest import Api
from tests.builders import create_workspace_with_key
from tests.presave.conftest import (
    INSTAGRAM_UA,
    NOW,
    PUBLIC_URL,
    csrf_of,
    make_presave_link,
    open_page,
)


def _settings(database_url: str, tmp_path: Path, environment: str) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url=PUBLIC_URL,
        environment=environment,  # type: ignore[arg-type]
        simulator_embedded=True,
        geoip="off",
    )


@pytest.fixture
async def dev_app(database_url: str, tmp_path: Path) -> AsyncIterator[Application]:
    application = create_app(
        _settings(database_url, tmp_path, "development"), clock=FrozenClock(NOW)
    )
    yield application
    await application.shutdown()


def _browser(
    app: Application, *, client: tuple[str, int] = ("127.0.0.1", 50000), **headers: str
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=client),
        base_url=PUBLIC_URL,
        headers=headers,
        follow_redirects=False,
    )


async def test_a_magic_link_email_can_be_followed_from_the_dev_outbox(
    dev_app: Application, capsys: pytest.CaptureFixture[str]
) -> None:
    label = await create_workspace_with_key(dev_app.context.database, name="Label One")
    async with _browser(dev_app) as admin:
        await make_presave_link(Api(admin), label)
    async with _browser(dev_app, **{"User-Agent": INSTAGRAM_UA}) as instagram:
        html = await open_page(instagram)
        sent = await instagram.post(
            "/presave/soon/later", data={"csrf": csrf_of(html), "email": "later@example.com"}
        )
        assert sent.status_code == 200
    printed = capsys.readouterr().err
    assert "[dev outbox]" in printed
    assert "later@example.com" in printed
    async with _browser(dev_app) as developer:
        index = await developer.get("/_dev/mail")
        assert index.status_code == 200
        assert "later@example.com" in index.text
        message_path = re.search(r'href="(/_dev/mail/[^"]+)"', index.text)
        assert message_path is not None
        message = await developer.get(message_path.group(1))
        assert message.status_code == 200
        assert "default-src 'none'" in message.headers["content-security-policy"]
        link = re.search(
            r'<a href="https://links\.example\.test(/presave/magic/[^"]+)"', message.text
        )
        assert link is not None, message.text
        assert link.group(1) in printed  # the console shows the same link
        opened = await developer.get(link.group(1))
    assert opened.status_code == 303
    assert opened.headers["location"] == "/soon"


async def test_the_outbox_escapes_what_it_shows_and_keeps_files_private(
    tmp_path: Path, dev_app: Application
) -> None:
    outbox = dev_app.context.settings.dev_outbox_dir
    assert outbox is not None
    sender = OutboxMailSender(outbox, echo=lambda _line: None)
    await sender.send(
        OutgoingEmail(
            to="fan@example.com",
            subject="<script>alert(1)</script>",
            text='Open https://links.example.test/x?a=1&b="2" now',
            html='<p onclick="steal()">hi</p>',
        )
    )
    async with _browser(dev_app) as developer:
        index = await developer.get("/_dev/mail")
        path = re.search(r'href="(/_dev/mail/[^"]+)"', index.text)
        assert path is not None
        shown = (await developer.get(path.group(1))).text
    assert "<script>" not in index.text + shown
    assert "&lt;script&gt;" in shown
    assert '<a href="https://links.example.test/x?a=1&amp;b=">' in shown
    assert 'sandbox=""' in shown
    assert '<p onclick="steal()">' not in shown
    [stored] = outbox.glob("*.json")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700


async def test_the_outbox_keeps_only_the_latest_messages(tmp_path: Path) -> None:
    sender = OutboxMailSender(tmp_path / "outbox", echo=lambda _line: None)
    for number in range(KEEP + 5):
        await sender.send(OutgoingEmail(to="fan@example.com", subject=f"#{number}", text="t"))
    assert len(list((tmp_path / "outbox").glob("*.json"))) == KEEP


@pytest.mark.parametrize(
    ("client", "headers"),
    [
        (("203.0.113.9", 40000), {}),
        (("127.0.0.1", 40000), {"X-Forwarded-For": "203.0.113.9"}),
        (("127.0.0.1", 40000), {"Forwarded": "for=203.0.113.9"}),
    ],
    ids=["remote-client", "behind-a-proxy", "forwarded"],
)
async def test_the_dev_outbox_is_not_shown_beyond_this_machine(
    dev_app: Application, client: tuple[str, int], headers: dict[str, str]
) -> None:
    async with _browser(dev_app, client=client, **headers) as stranger:
        assert (await stranger.get("/_dev/mail")).status_code == 404
        assert (await stranger.get("/_dev/mail/20261202T000000000000Z-abcdef01")).status_code == 404


@pytest.mark.parametrize("environment", ["production", "test"])
async def test_there_is_no_dev_outbox_outside_development(
    database_url: str, tmp_path: Path, environment: str
) -> None:
    application = create_app(_settings(database_url, tmp_path, environment))
    try:
        async with _browser(application) as developer:
            response = await developer.get("/_dev/mail")
    finally:
        await application.shutdown()
    assert response.status_code == 404
    assert application.context.settings.dev_outbox_dir is None


def test_the_mail_sender_follows_the_settings(tmp_path: Path) -> None:
    smtp = MailSettings(host="smtp.example.test")
    assert isinstance(mail_sender_from(smtp, outbox=tmp_path), SmtpMailSender)
    assert isinstance(mail_sender_from(MailSettings(), outbox=tmp_path), OutboxMailSender)
    assert isinstance(mail_sender_from(MailSettings()), LoggingMailSender)
