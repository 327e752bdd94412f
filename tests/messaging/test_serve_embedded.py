"""The embedded mode end to end: the real ``launchlink serve`` process (SQLite, its
embedded worker: outbox dispatcher + delivery), SMTP pointed at an aiosmtpd server this
test started; a pre-save whose release moment is now is written with its event, and the
release-day email arrives at the server from that process, DKIM-signed, with its
one-click unsubscribe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from launchlink.db import Database
from launchlink.models import Presave
from launchlink.models.presave import ServiceMode
from tests._server import running_server
from tests.conftest import DatabaseBackend
from tests.messaging.conftest import DKIM_DOMAIN
from tests.messaging.sink import Sink
from tests.messaging.world import PUBLIC_URL, make_world


@pytest.fixture
async def sqlite_db(
    sqlite_backend: DatabaseBackend, tmp_path: Path
) -> AsyncIterator[tuple[str, Database]]:
    url = sqlite_backend.fresh_url(tmp_path)
    database = Database(url)
    try:
        yield url, database
    finally:
        await database.dispose()


@pytest.mark.slow
async def test_launchlink_serve_sends_the_release_day_email_from_its_own_process(
    sqlite_db: tuple[str, Database], sink: Sink, tmp_path: Path
) -> None:
    url, db = sqlite_db
    key = tmp_path / "dkim.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    env = {
        # Development: the embedded worker runs (the test environment leaves it out).
        "LAUNCHLINK_ENVIRONMENT": "development",
        "LAUNCHLINK_DATABASE_URL": url,
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
        "LAUNCHLINK_PUBLIC_URL": PUBLIC_URL,
        "LAUNCHLINK_GEOIP": "off",
        "LAUNCHLINK_SMTP_URL": f"smtp://127.0.0.1:{sink.port}?security=none",
        "LAUNCHLINK_MAIL__FROM_ADDRESS": f"Tide Records <news@{DKIM_DOMAIN}>",
        "LAUNCHLINK_MESSAGING__DKIM_DOMAIN": DKIM_DOMAIN,
        "LAUNCHLINK_MESSAGING__DKIM_KEY_FILE": str(key),
        "LAUNCHLINK_OUTBOX__POLL_SECONDS": "0.2",
    }
    with running_server(env):
        now = datetime.now(UTC)
        # The fan lives where it is a few minutes past midnight now: a release at local
        # midnight of their today is out for them this very moment (its countdown's
        # moment is a day gone, so only the release-day message is due).
        offset = (24 - now.hour) % 24
        offset = offset - 24 if offset > 14 else offset
        zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # Etc/GMT-6 is UTC+6
        local = now.astimezone(ZoneInfo(zone))
        assert local.hour == 0
        world = await make_world(db, release_date=local.date())
        await world.add_fan(
            "nova", country="GB", zone=zone, consent_at=now, mode=ServiceMode.reminder,
            emit=True,
        )  # fmt: skip
        async with db.sessionmaker() as session:
            [due] = (await session.execute(select(Presave.due_at))).scalars()
        assert timedelta(0) <= now - due < timedelta(hours=1)
        deadline = time.monotonic() + 120
        while not sink.raw:
            assert time.monotonic() < deadline, "no email reached the SMTP server"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # nothing else follows

    [email] = sink.messages()
    assert email["To"] == "nova@fans.example.test"
    assert email["Subject"] == "Tidewater is out now"
    assert email["Message-ID"].endswith(f"@{DKIM_DOMAIN}>")
    assert email["DKIM-Signature"] is not None
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["List-Unsubscribe"].startswith(f"<{PUBLIC_URL}/presave/unsubscribe/")
    plain = email.get_body(preferencelist=("plain",))
    assert plain is not None
    assert f"{PUBLIC_URL}/tidewater/spotify?c=email-release" in plain.get_content()
