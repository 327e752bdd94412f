from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from launchlink.analytics.service import SeenVisitors
from launchlink.analytics.visitors import SALT_LIFETIME, InMemorySaltStore, visitor_hash
from launchlink.kit.clock import FrozenClock
from launchlink.kit.crypto import keyed_hash

WORKSPACE = UUID("0190a0b0-0000-7000-8000-0000000000aa")
DAY = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"


def test_the_hash_is_keyed_by_the_salt_and_never_contains_the_ip() -> None:
    first = visitor_hash("salt-a", WORKSPACE, "203.0.113.9", UA)
    assert first == visitor_hash("salt-a", WORKSPACE, "203.0.113.9", UA)
    assert first != visitor_hash("salt-b", WORKSPACE, "203.0.113.9", UA)
    assert "203.0.113.9" not in first
    assert len(first) == 32


def test_the_hash_is_the_keyed_hash_of_workspace_address_and_agent() -> None:
    # The per-salt HMAC is set up once and copied (visitors._keyed); the value must stay
    # kit.crypto.keyed_hash's, with every salt alive at once (more than its cache holds).
    for salt in ("salt-a", "salt-b", "salt-c", "salt-d", "salt-a"):
        for agent in (UA, None):
            expected = keyed_hash(salt, f"{WORKSPACE}\x1f203.0.113.9\x1f{agent or ''}")[:32]
            assert visitor_hash(salt, WORKSPACE, "203.0.113.9", agent) == expected
            assert visitor_hash(salt, str(WORKSPACE), "203.0.113.9", agent) == expected


def test_one_address_written_two_ways_is_one_visitor() -> None:
    assert visitor_hash("s", WORKSPACE, "::ffff:203.0.113.9", UA) == visitor_hash(
        "s", WORKSPACE, "203.0.113.9", UA
    )


def test_fields_cannot_run_into_each_other() -> None:
    assert visitor_hash("s", WORKSPACE, "1.2.3.4", "5 x") != visitor_hash(
        "s", WORKSPACE, "1.2.3.45", " x"
    )


def test_a_salt_is_required() -> None:
    with pytest.raises(ValueError, match="salt"):
        visitor_hash("", WORKSPACE, "203.0.113.9", UA)


def test_each_day_has_its_own_random_salt_deleted_after_48_hours() -> None:
    clock = FrozenClock(DAY + timedelta(hours=10))
    store = InMemorySaltStore(clock)
    today = store.salt_for(clock.now())
    assert today is not None
    assert store.salt_for(DAY + timedelta(hours=23)) == today
    tomorrow = store.salt_for(DAY + timedelta(days=1, hours=1))
    assert tomorrow not in (None, today)
    # A new store (a restart) does not derive the same salt from the date.
    assert InMemorySaltStore(clock).salt_for(clock.now()) != today
    clock.set(DAY + SALT_LIFETIME)
    assert store.salt_for(DAY + timedelta(hours=10)) is None
    assert store.days_held() == [(DAY + timedelta(days=1)).date()]


def test_naive_times_are_refused() -> None:
    store = InMemorySaltStore(FrozenClock(DAY))
    with pytest.raises(ValueError, match="aware"):
        store.salt_for(datetime(2027, 3, 1))  # noqa: DTZ001 - the bad input


def test_a_sighting_is_known_to_the_process_only_once_its_transaction_committed() -> None:
    seen = SeenVisitors()
    key = (uuid4(), date(2027, 3, 1), "all", "ab" * 16)
    at = datetime(2027, 3, 1, 9, tzinfo=UTC)
    assert seen.unknown({key: at}) == {key: at}
    seen.rolled_back()
    assert seen.unknown({key: at}) == {key: at}  # asked about again: it was never stored
    seen.committed()
    assert seen.unknown({key: at}) == {}
