"""Exponential backoff with jitter, shared by the fulfilment engine and the event outbox."""

from __future__ import annotations

import random
from datetime import timedelta


def backoff_delay(attempt: int, *, base_seconds: float, cap_seconds: float) -> timedelta:
    """The wait before retry ``attempt`` (1 = the first retry): uniform in
    [base·2^(n-1)/2, base·2^(n-1)], capped. Half of the window is kept so a retry never
    comes back immediately, and the jitter keeps many failures from retrying in step."""
    ceiling = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter
