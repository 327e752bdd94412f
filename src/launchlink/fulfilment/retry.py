"""When to try again: transient backoff, Retry-After handling, release polling."""

from __future__ import annotations

from datetime import datetime, timedelta

from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.kit.backoff import backoff_delay


def transient_delay(attempt: int, settings: FulfilmentSettings) -> timedelta:
    """Exponential backoff with jitter (:func:`launchlink.kit.backoff.backoff_delay`)."""
    return backoff_delay(
        attempt,
        base_seconds=settings.backoff_base_seconds,
        cap_seconds=settings.backoff_cap_seconds,
    )


def pause_for(retry_after: float | None, settings: FulfilmentSettings) -> tuple[float, bool]:
    """Seconds to pause a service after a 429, and whether the pause is alarming.

    A missing Retry-After gets the default; a huge one (a day has been observed) is honoured
    in full — the service is paused and an operator is alerted — because hammering a
    service that said "tomorrow" risks the app's access.
    """
    if retry_after is None or retry_after <= 0:
        return settings.default_retry_after_seconds, False
    return retry_after, retry_after > settings.huge_retry_after_seconds


def next_release_poll(
    first_checked_at: datetime, polls: int, now: datetime, settings: FulfilmentSettings
) -> datetime | None:
    """The next lookup of a release that is not live yet, or ``None`` to give up.

    Short polls first (a slipped delivery is usually hours late): the interval doubles from
    30 s up to the fast interval during the first ``resolve_fast_poll_hours``, then hourly
    until ``resolve_give_up_hours`` after the first check.
    """
    age = now - first_checked_at
    if age >= timedelta(hours=settings.resolve_give_up_hours):
        return None
    if age < timedelta(hours=settings.resolve_fast_poll_hours):
        interval = min(settings.resolve_fast_poll_seconds, 30.0 * 2 ** max(0, polls - 1))
    else:
        interval = settings.resolve_slow_poll_seconds
    return now + timedelta(seconds=interval)
