"""``GET /api/v1/messaging/channels``: channels are off until configured, and say why."""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.messaging.channels.settings import MessagingSettings, TwilioSettings
from launchlink.messaging.repository import MessagingRepository
from launchlink.models.accounts import Role
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key


async def test_unconfigured_channels_are_off_and_name_what_to_set(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await api.get(owner, "/messaging/channels")
    assert response.status_code == 200
    channels = {c["channel"]: c for c in response.json()}
    assert channels["email"]["available"] is False
    assert "LAUNCHLINK_SMTP_URL" in channels["email"]["reason"]
    assert channels["sms"]["available"] is False
    assert "SMS_PROVIDER" in channels["sms"]["reason"]


async def test_configured_channels_are_on(database_url: str, tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url="https://links.example.test",
        environment="test",
        smtp_url=SecretStr("smtp://relay.example.test:2525?security=none"),
        messaging=MessagingSettings(
            dkim_domain="mail.example.test",
            dkim_key_file=key,
            sms_provider="twilio",
            twilio=TwilioSettings(
                account_sid="AC" + "1" * 32, auth_token=SecretStr("t"), from_number="+15005550006"
            ),
        ),
    )
    app = create_app(settings)
    owner = await create_workspace_with_key(app.context.database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://links.example.test"
    ) as client:
        response = await client.get("/api/v1/messaging/channels", headers=owner.headers)
    await app.shutdown()
    channels = {c["channel"]: c for c in response.json()}
    assert channels["email"] == {
        "channel": "email",
        "available": True,
        "provider": "smtp",
        "reason": None,
        "paused": False,
        "paused_reason": None,
    }
    assert channels["sms"]["available"] is True


async def test_a_half_configured_email_channel_says_the_dkim_key_is_missing(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        environment="test",
        smtp_url=SecretStr("smtp://relay.example.test"),
    )
    from launchlink.messaging.channels.registry import statuses

    [email, _sms] = statuses(settings)
    assert not email.available
    assert email.reason is not None
    assert "DKIM" in email.reason


async def test_a_paused_workspace_sees_its_pause_and_an_admin_lifts_it(
    api: Api, app: Application, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    async with app.context.database.transaction() as session:
        await MessagingRepository(session).pause(
            owner.workspace_id, "12 of 200 messages bounced", app.context.clock.now()
        )
    channels = (await api.get(owner, "/messaging/channels")).json()
    assert {(c["paused"], c["paused_reason"]) for c in channels} == {
        (True, "12 of 200 messages bounced")
    }
    assert {c["paused"] for c in (await api.get(stranger, "/messaging/channels")).json()} == {False}
    viewer = await create_workspace_with_key(app.context.database, name="V", role=Role.viewer)
    assert (await api.post(viewer, "/messaging/sender/resume", {})).status_code == 403
    resumed = await api.post(owner, "/messaging/sender/resume", {})
    assert resumed.status_code == 200
    assert resumed.json()["paused"] is False
    assert {c["paused"] for c in (await api.get(owner, "/messaging/channels")).json()} == {False}
