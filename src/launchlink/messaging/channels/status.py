"""Classifying a refusal from its status codes (SMTP replies, RFC 3463, DSNs of RFC 3464).

Codes, never wording: a reply's text differs per server and language, its codes do not.
The enhanced status code (``5.1.1``) wins over the basic reply code (``550``) when present:

* class ``4`` is transient (retry with backoff), class ``5`` permanent;
* ``X.1.*`` (address status) and ``5.2.1`` (mailbox disabled) are *hard* bounces: the
  address is dead, so the fan's email channel is stopped;
* ``X.2.2`` (mailbox full) and ``X.4.*``/``X.3.*`` (network, system) are *soft*: a
  permanent one is recorded but the address is kept;
* ``X.7.*`` (security or policy: spam blocks, DMARC) is *blocked*: the sender, not the
  fan, has a problem; it counts towards the workspace's automatic pause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message

from launchlink.messaging.channels.base import BounceKind

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class Classified:
    permanent: bool
    bounce: BounceKind
    code: str
    """The enhanced code when there is one (``5.1.1``), else the reply code (``550``)."""


def enhanced_code(text: str) -> str | None:
    match = _ENHANCED.match(text)
    return ".".join(match.groups()) if match else None


def classify(reply_code: int | None, text: str = "") -> Classified:
    """Classify an SMTP reply (``reply_code`` and its text, which may start with an
    enhanced status code)."""
    enhanced = enhanced_code(text)
    if enhanced is not None:
        return classify_enhanced(enhanced)
    code = reply_code or 0
    permanent = 500 <= code < 600
    # Without an enhanced code only the basic codes that name the mailbox are trusted as
    # hard (RFC 5321 §4.2.3: 550 mailbox unavailable, 551 user not local, 553 bad name).
    bounce: BounceKind = "hard" if code in (550, 551, 553) else ("other" if permanent else "soft")
    return Classified(permanent=permanent, bounce=bounce, code=str(code))


def classify_enhanced(code: str) -> Classified:
    klass, subject, detail = (int(part) for part in code.split("."))
    permanent = klass == 5
    bounce: BounceKind
    if subject == 1 or (subject, detail) == (2, 1):
        bounce = "hard" if permanent else "soft"
    elif subject == 7:
        bounce = "blocked" if permanent else "soft"
    elif subject in (2, 3, 4):
        bounce = "soft"
    else:
        bounce = "other" if permanent else "soft"
    return Classified(permanent=permanent, bounce=bounce, code=code)


@dataclass(frozen=True, slots=True)
class DsnRecipient:
    recipient: str
    action: str
    """``failed``, ``delayed``, ``delivered``, ``relayed``, ``expanded``."""
    status: Classified
    original_message_id: str | None


def parse_dsn(raw: bytes) -> list[DsnRecipient]:
    """The per-recipient results of a delivery status notification (RFC 3464); empty
    when ``raw`` is not one."""
    report = message_from_bytes(raw)
    original = original_message_id(report)
    found: list[DsnRecipient] = []
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # The parser gives the status groups as sub-messages: per-message first, then
        # one per recipient.
        groups = part.get_payload()
        if not isinstance(groups, list):
            continue
        for group in groups[1:]:
            if not isinstance(group, Message):
                continue
            status = (group.get("Status") or "").strip()
            recipient = (group.get("Final-Recipient") or "").partition(";")[2].strip()
            if not enhanced_code(status) or not recipient:
                continue
            found.append(
                DsnRecipient(
                    recipient=recipient.lower(),
                    action=(group.get("Action") or "").strip().lower(),
                    status=classify_enhanced(status.split()[0]),
                    original_message_id=original,
                )
            )
    return found


def original_message_id(report: Message) -> str | None:
    """The Message-ID of the message a report is about (its attached copy or headers)."""
    for part in report.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                value = payload[0].get("Message-ID")
            else:
                text = payload if isinstance(payload, str) else ""
                value = message_from_bytes(text.encode()).get("Message-ID")
            if value:
                return str(value).strip()
    return None
