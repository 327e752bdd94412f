"""SMTP settings, nested in the app ``Settings`` as ``mail`` (``LAUNCHLINK_MAIL__HOST``...)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class MailSettings(BaseModel):
    host: str | None = Field(
        default=None,
        description="SMTP server. Empty: in development, emails go to the dev outbox "
        "(/_dev/mail and the console); otherwise they are logged (subject only), not sent.",
    )
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit, port 465) or none (local relays only).",
    )
    from_address: str = Field(
        default="launchlink <no-reply@localhost>", description="The From header of every email."
    )
    timeout_seconds: float = Field(default=10.0, gt=0)
