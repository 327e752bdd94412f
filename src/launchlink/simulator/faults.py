"""Failure injection and rate limiting: the unpleasant parts of real services, on demand."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from launchlink.kit.clock import ensure_aware

RetryAfterMode = Literal["normal", "missing", "huge"]
RETRY_AFTER_MODES: tuple[str, ...] = ("normal", "missing", "huge")
HUGE_RETRY_AFTER_SECONDS = 86_400


@dataclass(slots=True)
class FaultPlan:
    """Per-service failure knobs. Applied to the service's API paths (not its OAuth pages).

    ``latency_ms`` delays every request; ``error_rate`` (0..1) answers that share of
    requests with ``error_status``; each outage window answers 503 between its instants;
    ``burst_429`` answers the next N requests with the service's own 429 form;
    ``retry_after_mode`` shapes Spotify's ``Retry-After`` (normal, missing, huge).
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    outages: list[tuple[datetime, datetime]] = field(default_factory=list)
    burst_429: int = 0
    retry_after_mode: RetryAfterMode = "normal"
    retry_after_seconds: int = 5

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.error_rate or self.outages or self.burst_429)

    def in_outage(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self.outages)

    def retry_after(self, natural_seconds: int | None = None) -> int | None:
        """The ``Retry-After`` value to send, or ``None`` to leave the header out."""
        if self.retry_after_mode == "missing":
            return None
        if self.retry_after_mode == "huge":
            return HUGE_RETRY_AFTER_SECONDS
        return natural_seconds if natural_seconds is not None else self.retry_after_seconds

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name == "outages":
                self.outages = [
                    (ensure_aware(_instant(o["start"])), ensure_aware(_instant(o["end"])))
                    for o in value
                ]
            elif name == "retry_after_mode":
                if value not in RETRY_AFTER_MODES:
                    raise ValueError(f"retry_after_mode must be one of {RETRY_AFTER_MODES}")
                self.retry_after_mode = value
            elif name in {"latency_ms", "error_rate"}:
                setattr(self, name, float(value))
            elif name in {"error_status", "burst_429", "retry_after_seconds"}:
                setattr(self, name, int(value))
            else:
                raise ValueError(f"unknown fault knob {name!r}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "outages": [{"start": s.isoformat(), "end": e.isoformat()} for s, e in self.outages],
            "burst_429": self.burst_429,
            "retry_after_mode": self.retry_after_mode,
            "retry_after_seconds": self.retry_after_seconds,
        }


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` requests in any rolling ``window_seconds``."""

    limit: int
    window_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "window_seconds": self.window_seconds}


class SlidingWindow:
    """A rolling-window counter over the simulator's clock (so frozen clocks freeze it)."""

    __slots__ = ("_hits", "rate")

    def __init__(self, rate: RateLimit) -> None:
        self.rate = rate
        self._hits: deque[float] = deque()

    def hit(self, now: float) -> int | None:
        """Count one request; ``None`` if allowed, else whole seconds until a slot frees."""
        horizon = now - self.rate.window_seconds
        hits = self._hits
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.rate.limit:
            return max(1, math.ceil(hits[0] - horizon))
        hits.append(now)
        return None
