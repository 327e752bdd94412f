"""The ``.ics`` file is a sink: whatever a title holds, every line stays one RFC 5545 line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from launchlink.presave.ics import release_event

INSTANT = datetime(2026, 3, 6, tzinfo=UTC)


def _lines(body: bytes) -> list[str]:
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    # No bare CR or LF anywhere: each one would start a property of the attacker's choosing.
    assert text.replace("\r\n", "").count("\r") == 0
    assert text.replace("\r\n", "").count("\n") == 0
    for raw in text.split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75
    unfolded = text.replace("\r\n ", "")
    return unfolded.split("\r\n")[:-1]


@pytest.mark.parametrize(
    "title",
    [
        "Lantern Light\r\nATTENDEE:mailto:victim@example.com",
        "Lantern Light\nEND:VEVENT\nBEGIN:VEVENT",
        "Lantern Light\rX-INJECTED:1",
        "Lantern \u202eLight\x00",
    ],
)
def test_a_hostile_title_cannot_add_a_property(title: str) -> None:
    lines = _lines(
        release_event(
            title=title,
            artists="Nova Reyes",
            url="https://links.example.test/soon",
            instant=INSTANT,
            now=INSTANT,
            key="k",
        )
    )
    names = [line.split(":", 1)[0].split(";", 1)[0] for line in lines]
    assert names == [
        "BEGIN", "VERSION", "PRODID", "CALSCALE", "BEGIN", "UID", "DTSTAMP", "DTSTART",
        "DTEND", "SUMMARY", "DESCRIPTION", "URL", "END", "END",
    ]  # fmt: skip
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert summary.startswith("SUMMARY:Lantern ")
    assert "\u202e" not in summary
    assert "\x00" not in summary


def test_text_values_are_escaped_and_long_lines_folded_without_splitting_characters() -> None:
    title = "Ünïcødé, sémicolons; and \\ backslashes " * 4
    lines = _lines(
        release_event(
            title=title,
            artists="Nova Reyes",
            url="https://links.example.test/soon?a=1,2",
            instant=INSTANT,
            now=INSTANT,
            key="k",
        )
    )
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert summary == "SUMMARY:" + (
        title.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,") + " – Nova Reyes"
    )
    # URI values are not TEXT: the comma stays as it is.
    assert "URL:https://links.example.test/soon?a=1,2" in lines
