"""An iCalendar (RFC 5545) event for the fan's release moment.

Data can never break a line: TEXT values are flattened to one line (titles from streaming
services are not checked at a schema) and escaped (§3.3.11); URI values keep visible
ASCII only (§3.3.13); every line is folded at 75 octets (§3.1).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from launchlink.kit.text import one_line
from launchlink.kit.urls import URL_SAFE

ONE_HOUR = timedelta(hours=1)


def _escape(text: str) -> str:
    text = one_line(text)
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def _uri(url: str) -> str:
    return quote(url, safe=URL_SAFE)


def _fold(line: str) -> str:
    # Lines longer than 75 octets are folded with CRLF + space (RFC 5545 §3.1).
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    while raw:
        cut = 75 if not parts else 74
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:
            cut -= 1  # never split a UTF-8 sequence
        parts.append(raw[:cut].decode("utf-8"))
        raw = raw[cut:]
    return "\r\n ".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def release_event(
    *, title: str, artists: str, url: str, instant: datetime, now: datetime, key: str
) -> bytes:
    uid = hashlib.sha256(f"{key}:{_stamp(instant)}".encode()).hexdigest()[:32]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//launchlink//pre-save//EN",
        "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT",
        f"UID:{uid}@launchlink",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(instant)}",
        f"DTEND:{_stamp(instant + ONE_HOUR)}",
        f"SUMMARY:{_escape(f'{title} – {artists}')}",
        f"DESCRIPTION:{_escape(url)}",
        f"URL:{_uri(url)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")
