"""The mail layer is the last line of defence: data can never add a header or a recipient."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from launchlink.mail import MessageRefused, OutgoingEmail
from launchlink.mail.smtp import build_message

FROM = "launchlink <no-reply@links.example.test>"


def _parsed(message: OutgoingEmail) -> object:
    return message_from_bytes(build_message(message, from_address=FROM).as_bytes(), policy=default)


def test_a_subject_with_a_line_break_stays_one_header_line() -> None:
    email = _parsed(
        OutgoingEmail(
            to="fan@example.com",
            subject="Midnight\r\nBcc: everyone@example.com\r\n\r\nspam body",
            text="hello",
        )
    )
    assert email["Subject"] == "Midnight Bcc: everyone@example.com spam body"  # type: ignore[index]
    assert email["Bcc"] is None  # type: ignore[index]
    assert email.get_content().strip() == "hello"  # type: ignore[attr-defined]


def test_a_subject_loses_invisible_direction_overrides() -> None:
    email = _parsed(OutgoingEmail(to="fan@example.com", subject="Lantern \u202eLight", text="x"))
    assert email["Subject"] == "Lantern Light"  # type: ignore[index]


@pytest.mark.parametrize(
    "message",
    [
        OutgoingEmail(to="fan@example.com\r\nBcc: x@example.com", subject="s", text="t"),
        OutgoingEmail(to="fan@example.com\n", subject="s", text="t"),
        OutgoingEmail(
            to="fan@example.com",
            subject="s",
            text="t",
            headers={"List-Unsubscribe": "<https://x.example/u>\r\nBcc: x@example.com"},
        ),
        OutgoingEmail(
            to="fan@example.com", subject="s", text="t", headers={"Bcc": "x@example.com"}
        ),
        OutgoingEmail(to="fan@example.com", subject="s", text="t", headers={"X-A\r\nB": "v"}),
    ],
    ids=["CRLF-in-to", "LF-in-to", "CRLF-in-extra-header", "recipient-header", "bad-name"],
)
def test_a_header_that_could_break_the_message_is_refused(message: OutgoingEmail) -> None:
    with pytest.raises(MessageRefused):
        build_message(message, from_address=FROM)


def test_ordinary_extra_headers_are_kept() -> None:
    email = _parsed(
        OutgoingEmail(
            to="fan@example.com",
            subject="Confirm",
            text="t",
            headers={"List-Unsubscribe": "<https://links.example.test/u/abc>"},
        )
    )
    assert email["List-Unsubscribe"] == "<https://links.example.test/u/abc>"  # type: ignore[index]
