"""Outbox settings, nested in the app ``Settings`` as ``outbox``.

Reachable from the environment with the ``__`` delimiter, e.g.
``LAUNCHLINK_OUTBOX__MAX_ATTEMPTS=5``. Defaults suit the embedded mode.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class OutboxSettings(BaseModel):
    poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often an idle dispatcher looks for new events (a commit in the same "
        "process, or a NOTIFY on PostgreSQL, wakes it sooner).",
    )
    batch: int = Field(
        default=200, ge=1, le=5000, description="Deliveries a dispatcher claims at once."
    )
    per_aggregate: int = Field(
        default=50,
        ge=1,
        le=5000,
        description="Consecutive events of one aggregate a claim may take together (handled "
        "in order, one after another); the batch still bounds the total.",
    )
    fan_out_batch: int = Field(
        default=1000, ge=1, le=10000, description="New events turned into deliveries at once."
    )
    lease_seconds: float = Field(
        default=60.0, gt=1, description="A claimed delivery returns to the queue after this."
    )
    max_attempts: int = Field(
        default=10, ge=1, description="Failures before a delivery is parked with its error."
    )
    backoff_base_seconds: float = Field(
        default=2.0, gt=0, description="Wait before the first retry; doubles per failure."
    )
    backoff_cap_seconds: float = Field(
        default=600.0, gt=0, description="Longest wait between two retries."
    )
    effect_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="An outside-effect handler (email, webhook) running longer fails.",
    )
    concurrency: int = Field(
        default=16, ge=1, le=1000, description="Outside-effect handlers in flight at once."
    )
    retention_days: float = Field(
        default=7.0,
        gt=0,
        description="Handled deliveries, and events with nothing left to deliver, are deleted "
        "after this (parked ones are kept).",
    )
