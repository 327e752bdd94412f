"""Messaging fixtures: a real SMTP sink, an operator DKIM key and its DNS record."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from launchlink.messaging.dkim import DkimSigner, dns_record
from tests.messaging.sink import Sink, smtp_sink

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
