"""The YouTube quota budget: units per Pacific day, refused before a call would exceed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from launchlink.connectors.errors import RateLimited
from launchlink.connectors.youtube import YouTubeQuota, parse_youtube_url
from launchlink.kit.clock import FrozenClock


def test_spending_stops_before_the_daily_budget_and_resets_at_pacific_midnight() -> None:
    # 2026-09-01 06:00 UTC is 23:00 on Aug 31 in Los Angeles (PDT, UTC-7).
    clock = FrozenClock(datetime(2026, 9, 1, 6, 0, tzinfo=UTC))
    quota = YouTubeQuota(clock=clock, daily_units=120, daily_search_calls=1)
    quota.spend(50)
    quota.spend(50)
    with pytest.raises(RateLimited) as refused:
        quota.spend(50)
    assert refused.value.retry_after == 3600.0
    assert quota.remaining() == 20
    clock.advance(timedelta(hours=1))
    quota.spend(50)
    assert quota.remaining() == 70


def test_search_has_its_own_bucket() -> None:
    quota = YouTubeQuota(
        clock=FrozenClock(datetime(2026, 9, 1, tzinfo=UTC)), daily_units=10, daily_search_calls=1
    )
    quota.spend(1, "search")
    with pytest.raises(RateLimited):
        quota.spend(1, "search")
    assert quota.remaining() == 10


def test_youtube_urls_are_parsed_never_fetched() -> None:
    assert parse_youtube_url("https://music.youtube.com/watch?v=dQw4w9WgXcQ&si=x") == (
        "track",
        "dQw4w9WgXcQ",
    )
    assert parse_youtube_url("https://youtu.be/dQw4w9WgXcQ") == ("track", "dQw4w9WgXcQ")
    assert parse_youtube_url(
        "https://music.youtube.com/playlist?list=OLAK5uy_abcdefghijklmnopqrstuvwxyz0123456"
    ) == ("album", "OLAK5uy_abcdefghijklmnopqrstuvwxyz0123456")
    assert parse_youtube_url("https://youtube.com.evil.test/watch?v=dQw4w9WgXcQ") is None
