"""Operations settings, nested in the app ``Settings`` as ``ops``
(``LAUNCHLINK_OPS__LOG_FORMAT=text`` ...). Defaults suit a production process."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class OpsSettings(BaseModel):
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="json: one JSON object per line with the request id (for log shippers); "
        "text: human-readable lines for a terminal.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log level written."
    )
    access_log: bool = Field(
        default=False,
        description="Log every request (method, route class, status, duration, request id). "
        "Off by default: it costs the smart-link hot path about a third of its speed.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics answers only requests carrying "
        "`Authorization: Bearer <token>`. Empty: /metrics is open (keep it off the public "
        "proxy, as deploy/ does).",
    )
    ready_outbox_lag_seconds: float = Field(
        default=300.0,
        gt=0,
        description="/readyz fails when the oldest due outbox delivery (or event not yet fanned "
        "out) has waited longer than this.",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="On SIGTERM, how long running fulfilment jobs and outbox batches may take "
        "to finish before their leases are handed back.",
    )
