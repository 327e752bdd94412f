"""The email channel against a real SMTP server: headers, DKIM, refusals by status code."""

from __future__ import annotations

import re
from typing import Any

import dkim
import pytest

from launchlink.kit.ids import uuid7
from launchlink.mail.settings import MailSettings
from launchlink.messaging.channels import Envelope, PermanentFailure, SenderIdentity
from launchlink.messaging.channels.base import TransientFailure
from launchlink.messaging.channels.email import SmtpChannel
from launchlink.messaging.channels.settings import InvalidSmtpUrl, parse_smtp_url
from launchlink.messaging.channels.status import classify, parse_dsn
from launchlink.messaging.dkim import DkimSigner
from tests.messaging.conftest import DKIM_DOMAIN
from tests.messaging.sink import Sink, free_port

SENDER = SenderIdentity(
    email_address=f"nova@{DKIM_DOMAIN}", email_name="Nova Reyes", reply_to="team@example.test"
)
UNSUBSCRIBE = "<https://links.example.test/presave/unsubscribe/abc.def>"


def _envelope(to: str = "fan@example.test") -> Envelope:
    return Envelope(
        message_id=uuid7(),
        to=to,
        subject="Tidewater is out now",
        text="Listen: https://links.example.test/tidewater?c=email-release\n",
        html="<p>Listen</p>",
        sender=SENDER,
        headers={
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _channel(sink: Sink, signer: DkimSigner | None) -> SmtpChannel:
    return SmtpChannel(
        MailSettings(host="127.0.0.1", port=sink.port, security="none"), signer=signer
    )


def _dns(records: dict[str, str]) -> Any:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        found = records.get(name.decode())
        return found.encode() if found else None

    return lookup


async def test_a_sent_email_carries_signed_one_click_unsubscribe_and_a_plain_text_part(
    sink: Sink, signer: DkimSigner, dkim_dns: dict[str, str]
) -> None:
    channel = _channel(sink, signer)
    envelope = _envelope()
    accepted = await channel.send(envelope)
    await channel.close()

    [raw] = sink.raw
    [message] = sink.messages()
    assert message["List-Unsubscribe"] == UNSUBSCRIBE
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] == "team@example.test"
    assert message["Message-ID"] == f"<{envelope.message_id}@{DKIM_DOMAIN}>"
    assert accepted.provider_message_id == message["Message-ID"]
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    assert "c=email-release" in str(plain.get_content())
    # The signature verifies against the published key, and covers the unsubscribe headers.
    assert dkim.verify(raw, dnsfunc=_dns(dkim_dns))
    signed = re.search(rb"h=([^;]+);", re.sub(rb"\r\n\s+", b"", raw)).group(1)  # type: ignore[union-attr]
    assert {b"list-unsubscribe", b"list-unsubscribe-post"} <= {
        h.strip().lower() for h in signed.split(b":")
    }


async def test_a_changed_unsubscribe_header_breaks_the_signature(
    sink: Sink, signer: DkimSigner, dkim_dns: dict[str, str]
) -> None:
    channel = _channel(sink, signer)
    await channel.send(_envelope())
    await channel.close()
    tampered = sink.raw[0].replace(b"abc.def", b"evil.xyz")
    assert tampered != sink.raw[0]
    assert not dkim.verify(tampered, dnsfunc=_dns(dkim_dns))


async def test_refusals_are_classified_by_their_status_codes(sink: Sink) -> None:
    sink.refuse = {
        "gone@example.test": "550 5.1.1 <gone@example.test>: Recipient address rejected",
        "full@example.test": "452 4.2.2 Mailbox full",
        "spam@example.test": "554 5.7.1 Message rejected as spam",
    }
    channel = _channel(sink, None)
    with pytest.raises(PermanentFailure) as hard:
        await channel.send(_envelope("gone@example.test"))
    assert (hard.value.bounce, hard.value.code) == ("hard", "5.1.1")
    with pytest.raises(TransientFailure):
        await channel.send(_envelope("full@example.test"))
    with pytest.raises(PermanentFailure) as blocked:
        await channel.send(_envelope("spam@example.test"))
    assert blocked.value.bounce == "blocked"
    # The connection survives refusals: the next message goes out on it.
    await channel.send(_envelope("fan@example.test"))
    await channel.close()
    assert len(sink.raw) == 1


async def test_an_unreachable_server_is_a_transient_failure() -> None:
    channel = SmtpChannel(
        MailSettings(host="127.0.0.1", port=free_port(), security="none", timeout_seconds=2),
        signer=None,
    )
    with pytest.raises(TransientFailure):
        await channel.send(_envelope())


def test_codes_not_words_decide() -> None:
    assert classify(550, "5.1.1 user unknown").bounce == "hard"
    assert classify(550, "mailbox unavailable").bounce == "hard"
    assert not classify(421, "4.3.2 try later").permanent
    # Wording that says "user unknown" does not make a transient code permanent.
    assert not classify(450, "4.7.1 user unknown (greylisted)").permanent
    assert classify(552, "5.2.2 mailbox full").bounce == "soft"


def test_a_delivery_status_notification_names_the_failed_recipient_and_the_message() -> None:
    dsn = (
        b"From: MAILER-DAEMON@mx.example.test\r\nTo: bounces@mail.example.test\r\n"
        b"Subject: Undelivered\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.test\r\n\r\n"
        b"Final-Recipient: rfc822; Gone@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <0192@mail.example.test>\r\nSubject: x\r\n\r\n"
        b"--B--\r\n"
    )
    [recipient] = parse_dsn(dsn)
    assert recipient.recipient == "gone@example.test"
    assert recipient.action == "failed"
    assert (recipient.status.bounce, recipient.status.permanent) == ("hard", True)
    assert recipient.original_message_id == "<0192@mail.example.test>"


def test_smtp_urls() -> None:
    parsed = parse_smtp_url("smtp://ann%40x:p%2Fw@relay.example.test?security=none")
    assert (parsed.host, parsed.port, parsed.security, parsed.username) == (
        "relay.example.test",
        587,
        "none",
        "ann@x",
    )
    assert parsed.password is not None
    assert parsed.password.get_secret_value() == "p/w"
    assert parse_smtp_url("smtps://relay.example.test").port == 465
    with pytest.raises(InvalidSmtpUrl):
        parse_smtp_url("http://relay.example.test")
