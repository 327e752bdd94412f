"""Fulfilment settings, nested in the app ``Settings`` as ``fulfilment``.

Reachable from the environment with the ``__`` delimiter, e.g.
``LAUNCHLINK_FULFILMENT__LEASE_SECONDS=30`` or
``LAUNCHLINK_FULFILMENT__RATE_LIMITS='{"spotify": 50}'``. Defaults suit the embedded mode.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# Requests per second we allow ourselves per service app. Services do not publish their
# limits (platform-apis §1.3, §2.6); these stay well below what is observed, and Deezer's
# ~50 requests / 5 s is met at 90 %. Operators with a known quota raise them.
DEFAULT_RATE_LIMITS: dict[str, float] = {
    "spotify": 20.0,
    "apple_music": 20.0,
    "deezer": 9.0,
    "tidal": 10.0,
    "soundcloud": 5.0,
    "youtube": 0.1,
}


class FulfilmentSettings(BaseModel):
    rate_limits: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="Ceiling in requests/second per service app, shared by every worker; "
        "keep it below the service's own limit.",
    )
    limiter: Literal["auto", "memory", "database", "redis"] = Field(
        default="auto",
        description="Where the shared limiter lives. auto: Redis when LAUNCHLINK_REDIS_URL is "
        "set, in-process on SQLite (one worker), else the database.",
    )
    lease_seconds: float = Field(
        default=60.0, gt=1, description="A claimed job returns to the queue after this."
    )
    claim_batch: int = Field(default=50, ge=1, le=1000, description="Jobs claimed at once.")
    concurrency: int = Field(
        default=16, ge=1, le=1000, description="Jobs in flight per service per worker."
    )
    idle_poll_seconds: float = Field(
        default=1.0, gt=0, description="Pause between claims when nothing is due."
    )
    scheduler_seconds: float = Field(
        default=5.0, gt=0, description="How often due pre-saves are queued."
    )
    max_attempts: int = Field(
        default=8, ge=1, description="Transient failures before an action is given up."
    )
    backoff_base_seconds: float = Field(default=5.0, gt=0)
    backoff_cap_seconds: float = Field(default=900.0, gt=0)
    default_retry_after_seconds: float = Field(
        default=5.0, gt=0, description="Pause after a 429 without Retry-After."
    )
    huge_retry_after_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A Retry-After above this pauses the service and raises an alert.",
    )
    resolve_fast_poll_seconds: float = Field(
        default=300.0, gt=0, description="Poll interval for a release not live yet (first 48 h)."
    )
    resolve_fast_poll_hours: float = Field(default=48.0, ge=0)
    resolve_slow_poll_seconds: float = Field(
        default=3600.0, gt=0, description="Poll interval after the fast period."
    )
    resolve_give_up_hours: float = Field(
        default=48.0 + 7 * 24, gt=0, description="After this the pre-save fails: not released."
    )
    resolution_ttl_seconds: float = Field(
        default=3600.0, gt=0, description="How long a found release is trusted without lookup."
    )
    early_probe_hours: float = Field(
        default=12.0,
        ge=0,
        description="Waiting pre-saves due within this are checked for an early release in "
        "their territory (0: never).",
    )
