"""YouTube Data API quota: units per Pacific-time day, spent before each call.

Google counts every request, failed ones included, and resets at midnight Pacific Time.
The connector reserves the cost before sending and refuses (``RateLimited`` with the
seconds until the reset) when a call would exceed the configured budget, so launchlink never
burns the project's quota into 403 ``quotaExceeded``. The ledger is per process; a deployment
with several workers should give each a share of the budget (or plug in a shared
:class:`QuotaLedger`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from launchlink.connectors.errors import RateLimited
from launchlink.kit.clock import Clock

PACIFIC = ZoneInfo("America/Los_Angeles")

# Unit costs (developers.google.com/youtube/data/determine_quota_cost).
COST_LIST = 1
COST_WRITE = 50


class QuotaLedger(Protocol):
    """Where spent units are counted; in memory by default."""

    def spent(self, bucket: str, day: date) -> int: ...

    def add(self, bucket: str, day: date, units: int) -> None: ...


class MemoryQuotaLedger:
    def __init__(self) -> None:
        self._spent: dict[tuple[str, date], int] = {}

    def spent(self, bucket: str, day: date) -> int:
        return self._spent.get((bucket, day), 0)

    def add(self, bucket: str, day: date, units: int) -> None:
        self._spent[(bucket, day)] = self.spent(bucket, day) + units


class YouTubeQuota:
    """Daily budgets per bucket (``units`` and ``search``), on the Pacific-time day."""

    def __init__(
        self,
        *,
        clock: Clock,
        daily_units: int,
        daily_search_calls: int,
        ledger: QuotaLedger | None = None,
    ) -> None:
        self._clock = clock
        self._budgets = {"units": daily_units, "search": daily_search_calls}
        self._ledger = ledger or MemoryQuotaLedger()

    def _today(self) -> tuple[date, float]:
        now = self._clock.now().astimezone(PACIFIC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
        return now.date(), (midnight - now).total_seconds()

    def remaining(self, bucket: str = "units") -> int:
        day, _ = self._today()
        return self._budgets[bucket] - self._ledger.spent(bucket, day)

    def spend(self, units: int, bucket: str = "units") -> None:
        """Reserve ``units`` or raise ``RateLimited`` until the Pacific midnight reset."""
        day, until_reset = self._today()
        if self._ledger.spent(bucket, day) + units > self._budgets[bucket]:
            raise RateLimited(
                f"daily YouTube {bucket} budget of {self._budgets[bucket]} would be exceeded",
                retry_after=until_reset,
                service="youtube",
            )
        self._ledger.add(bucket, day, units)
