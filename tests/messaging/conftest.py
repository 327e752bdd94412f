"""Messaging fixtures: a real SMTP sink, an operator DKIM key and its DNS record."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from starlette.applications import Starlette

from launchlink.db import Database
from launchlink.kit.clock import Clock
from launchlink.mail.settings import MailSettings
from launchlink.messaging.channels import Channel, SenderIdentity
from launchlink.messaging.channels.email import SmtpChannel
from launchlink.messaging.channels.settings import MessagingSettings, TwilioSettings
from launchlink.messaging.delivery import Delivery
from launchlink.messaging.dkim import DkimSigner, dns_record
from launchlink.messaging.sms.twilio import TwilioChannel
from launchlink.messaging.sms.web import INBOUND_PATH, SmsWebhooks
from launchlink.models.messaging import MessageChannel
from launchlink.presave.service import signed_unsubscribe_headers
from launchlink.simulator.services.twilio import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, TwilioSim
from launchlink.web.security import Signer
from tests.messaging.sink import Sink, smtp_sink
from tests.messaging.world import PUBLIC_URL

DKIM_DOMAIN = "mail.example.test"
DKIM_SELECTOR = "ll2026"


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="session")
def dkim_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signer(dkim_key: rsa.RSAPrivateKey) -> DkimSigner:
    pem = dkim_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return DkimSigner(domain=DKIM_DOMAIN, selector=DKIM_SELECTOR, private_key_pem=pem)


@pytest.fixture
def dkim_dns(dkim_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The TXT records a verifier would find: ``<selector>._domainkey.<domain>``."""
    der = dkim_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        f"{DKIM_SELECTOR}._domainkey.{DKIM_DOMAIN}.": dns_record(base64.b64encode(der).decode())
    }


SECRET = "messaging-tests-secret"


def make_delivery(
    database: Database,
    clock: Clock,
    channels: dict[MessageChannel, Channel],
    **settings: Any,
) -> Delivery:
    signer = Signer(SECRET)
    return Delivery(
        database=database,
        clock=clock,
        channels=channels,
        settings=MessagingSettings(**({"email_per_second": 10_000.0} | settings)),
        public_url=PUBLIC_URL,
        default_sender=SenderIdentity(
            email_address=f"news@{DKIM_DOMAIN}", email_name="Tide Records", sms_from="+15005550006"
        ),
        unsubscribe=lambda fan_id, link_id: signed_unsubscribe_headers(
            signer, PUBLIC_URL, fan_id, link_id
        ),
    )


def email_channel(sink: Sink, signer: DkimSigner | None, clock: Clock) -> SmtpChannel:
    return SmtpChannel(
        MailSettings(host="127.0.0.1", port=sink.port, security="none"),
        signer=signer,
        clock=clock,
    )


@dataclass
class SmsRig:
    """The Twilio simulator, our channel pointed at it, and our webhooks as Twilio sees
    them (the simulator's callbacks go to our public URL, in-process)."""

    sim: TwilioSim
    channel: TwilioChannel
    webhooks: httpx.AsyncClient

    async def deliver(self) -> list[httpx.Response]:
        return await self.sim.deliver(self.webhooks)


def make_sms_rig(database: Database, clock: Clock) -> SmsRig:
    sim = TwilioSim(clock=clock)
    sim.inbound_url = PUBLIC_URL + INBOUND_PATH
    channel = TwilioChannel(
        TwilioSettings(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token=SecretStr(DEMO_AUTH_TOKEN),
            from_number="+15005550006",
            api_url="http://twilio.sim",
        ),
        transport=httpx.ASGITransport(app=sim.app()),
    )
    hooks = SmsWebhooks(
        database=database, clock=clock, auth_token=DEMO_AUTH_TOKEN, public_url=PUBLIC_URL
    )
    webhooks = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=Starlette(routes=hooks.routes())), base_url=PUBLIC_URL
    )
    return SmsRig(sim, channel, webhooks)
