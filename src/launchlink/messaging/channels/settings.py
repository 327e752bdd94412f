"""Messaging settings, nested in the app ``Settings`` as ``messaging``
(``LAUNCHLINK_MESSAGING__DKIM_DOMAIN``...), plus ``LAUNCHLINK_SMTP_URL``.

Every channel is off until configured; :func:`launchlink.messaging.channels.registry.statuses`
says which are on and, for the others, what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr

from launchlink.mail.settings import MailSettings


class InvalidSmtpUrl(ValueError):
    """``LAUNCHLINK_SMTP_URL`` is not ``smtp://`` or ``smtps://`` with a host."""


def parse_smtp_url(url: str, *, base: MailSettings | None = None) -> MailSettings:
    """``smtp://user:password@host:587?security=starttls`` (``starttls`` by default,
    ``none`` for a local relay) or ``smtps://host:465`` (implicit TLS) as mail settings;
    the sender address and timeout come from ``base``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidSmtpUrl("LAUNCHLINK_SMTP_URL must look like smtp://user:password@host:587")
    query = parse_qs(parts.query)
    security: Literal["starttls", "tls", "none"]
    if parts.scheme == "smtps":
        security = "tls"
    else:
        wanted = (query.get("security") or ["starttls"])[0]
        if wanted not in ("starttls", "none"):
            raise InvalidSmtpUrl("security= must be starttls or none (use smtps:// for TLS)")
        security = "starttls" if wanted == "starttls" else "none"
    try:
        port = parts.port or (465 if security == "tls" else 587)
    except ValueError:
        raise InvalidSmtpUrl("the port of LAUNCHLINK_SMTP_URL is not a number") from None
    base = base or MailSettings()
    return base.model_copy(
        update={
            "host": parts.hostname,
            "port": port,
            "username": unquote(parts.username) if parts.username else None,
            "password": SecretStr(unquote(parts.password)) if parts.password else None,
            "security": security,
        }
    )


class TwilioSettings(BaseModel):
    account_sid: str | None = Field(default=None, description="AC… of the Twilio account.")
    auth_token: SecretStr | None = Field(
        default=None, description="Signs API calls and the callbacks Twilio sends us."
    )
    from_number: str | None = Field(
        default=None, description="E.164 sender, unless a workspace has its own."
    )
    messaging_service_sid: str | None = Field(default=None, description="MG… instead of From.")
    api_url: str = Field(
        default="https://api.twilio.com",
        description="The REST API (the simulator's /_sim/twilio in the demo).",
    )
    timeout_seconds: float = Field(default=10.0, gt=0)


class MessagingSettings(BaseModel):
    dkim_domain: str | None = Field(
        default=None, description="d= of the DKIM signature (the From domain of our email)."
    )
    dkim_selector: str = Field(default="launchlink", description="s= of the DKIM signature.")
    dkim_key_file: Path | None = Field(
        default=None, description="PEM RSA private key that signs every email (DKIM)."
    )
    smtp_connections: int = Field(
        default=4, ge=1, le=64, description="SMTP connections kept open per worker."
    )
    sms_provider: Literal["twilio", "off"] = Field(
        default="off", description="twilio (needs twilio.account_sid and auth_token) or off."
    )
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    email_per_second: float = Field(
        default=50.0, gt=0, description="Emails handed to SMTP per second (all workers)."
    )
    sms_per_second: float = Field(
        default=1.0, gt=0, description="SMS per second (a Twilio long code sends 1/s)."
    )
    rate_margin: float = Field(
        default=0.02,
        ge=0,
        lt=0.5,
        description="Pace this fraction under each provider's limit: a provider counts a "
        "sliding window, and our requests reach it with jitter, so pacing exactly at the "
        "limit earns 429s that cost a retry each.",
    )
    lanes: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Rounds of one channel a worker runs at once: one claims and settles "
        "while another hands over, so the rate limit, not the database, sets the pace.",
    )
    batch: int = Field(default=100, ge=1, le=5000, description="Messages claimed at once.")
    reconciled_in_doubt: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Messages one connection of a provider that can be asked what it "
        "accepted (SMS: Twilio's Messages list) may hand over before their results are "
        "committed: their hand-over marks go in one commit; what a crash leaves is looked "
        "up, never re-sent blind. Email is always 1 (nothing to ask).",
    )
    lease_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, description="Hand-overs before a message fails.")
    retry_base_seconds: float = Field(default=60.0, gt=0)
    retry_cap_seconds: float = Field(default=3600.0, gt=0)
    pause_bounce_rate: float = Field(
        default=0.05, gt=0, le=1, description="A workspace's sends pause past this bounce rate."
    )
    pause_complaint_rate: float = Field(
        default=0.003, gt=0, le=1, description="... or past this complaint rate."
    )
    feedback_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of POST /messaging/email/feedback, where the bounce "
        "mailbox or MTA posts DSNs and complaint reports (unset: not mounted).",
    )
    pause_min_sample: int = Field(
        default=200, ge=1, description="Messages of the last day before a rate counts."
    )
