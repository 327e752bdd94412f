from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from launchlink.kit.territories import (
    REFERENCE_ZONE_CHOICES,
    TerritoryTableError,
    TerritoryTimeZones,
    bundled_territory_time_zones,
    generate_bundled_csv,
    iso_country_codes,
    local_midnight_release_instant,
    zone_for,
)

BUNDLED_CSV = Path(__file__).resolve().parents[2] / "src/launchlink/data/territory_timezones.csv"


def _override(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "override.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_us_goes_live_at_midnight_in_new_york() -> None:
    assert zone_for("US").key == "America/New_York"
    instant = local_midnight_release_instant(date(2025, 6, 13), "US", default_zone="UTC")
    assert instant == datetime(2025, 6, 13, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("CA", "America/Toronto"),
        ("AU", "Australia/Sydney"),
        ("BR", "America/Sao_Paulo"),
        ("RU", "Europe/Moscow"),
        ("MX", "America/Mexico_City"),
        ("ID", "Asia/Jakarta"),
        ("GB", "Europe/London"),
        ("JP", "Asia/Tokyo"),
        ("NG", "Africa/Lagos"),
        ("in", "Asia/Kolkata"),
    ],
)
def test_reference_zones_of_common_territories(country: str, zone: str) -> None:
    assert zone_for(country).key == zone


def test_every_multi_zone_country_explains_its_choice_in_the_note() -> None:
    table = bundled_territory_time_zones()
    for code in ("US", "CA", "AU", "BR", "RU", "MX", "ID"):
        assert "multi-zone" in table.entries[code].note


def test_the_bundled_table_covers_every_country_tzdata_gives_a_zone() -> None:
    table = bundled_territory_time_zones()
    assert len(table) >= 245
    assert set(table) <= iso_country_codes()


def test_the_bundled_csv_carries_every_hand_choice_of_the_generator() -> None:
    # Hand edits belong in REFERENCE_ZONE_CHOICES (or an operator override), so that a
    # tzdata upgrade can regenerate the file without losing them. An exact comparison
    # would fail on every tzdata release that touches zone.tab, so only the choices and
    # the shape are pinned here.
    table = bundled_territory_time_zones()
    for country, (zone, note) in REFERENCE_ZONE_CHOICES.items():
        assert (table.entries[country].time_zone, table.entries[country].note) == (zone, note)
    generated = generate_bundled_csv().splitlines()
    bundled = BUNDLED_CSV.read_text("utf-8").splitlines()
    assert bundled[0] == generated[0] == "country,time_zone,note"
    assert abs(len(bundled) - len(generated)) <= 5


def test_unknown_or_missing_countries_fall_back_to_the_default_zone() -> None:
    assert zone_for(None, default_zone="Europe/Paris").key == "Europe/Paris"
    assert zone_for("ZZ", default_zone="Europe/Paris").key == "Europe/Paris"
    assert zone_for("", default_zone="Asia/Tokyo").key == "Asia/Tokyo"


def test_a_bad_default_zone_is_an_error() -> None:
    with pytest.raises(TerritoryTableError, match="Mars/Olympus"):
        zone_for(None, default_zone="Mars/Olympus")


def test_release_instants_are_aware_utc() -> None:
    instant = local_midnight_release_instant(date(2025, 1, 10), "JP", default_zone="UTC")
    assert instant.tzinfo is UTC
    assert instant == datetime(2025, 1, 9, 15, 0, tzinfo=UTC)


def test_new_york_midnight_moves_with_daylight_saving() -> None:
    before = local_midnight_release_instant(date(2025, 3, 9), "US", default_zone="UTC")
    after = local_midnight_release_instant(date(2025, 3, 10), "US", default_zone="UTC")
    assert before == datetime(2025, 3, 9, 5, 0, tzinfo=UTC)
    assert after == datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
    assert after - before == timedelta(hours=23)


def test_a_skipped_midnight_releases_at_the_first_instant_of_the_day() -> None:
    # Chile springs forward at 00:00 on 2024-09-08: local time jumps from 23:59:59 -04 to
    # 01:00 -03, so "midnight" is the transition itself, 04:00 UTC.
    instant = local_midnight_release_instant(date(2024, 9, 8), "CL", default_zone="UTC")
    assert instant == datetime(2024, 9, 8, 4, 0, tzinfo=UTC)
    local = instant.astimezone(zone_for("CL"))
    assert (local.date(), local.hour) == (date(2024, 9, 8), 1)
    one_second_earlier = (instant - timedelta(seconds=1)).astimezone(zone_for("CL"))
    assert one_second_earlier.date() == date(2024, 9, 7)


def test_an_override_file_replaces_and_adds_entries(tmp_path: Path) -> None:
    path = _override(
        tmp_path,
        "country,time_zone,note\n"
        "# our distributor launches the US on Pacific time\n"
        "US,America/Los_Angeles,distributor contract\n"
        "\n"
        "bv,Europe/Oslo,\n",
    )
    table = TerritoryTimeZones.load(path)
    assert table.zone_for("US").key == "America/Los_Angeles"
    assert table.entries["US"].note == "distributor contract"
    assert table.zone_for("BV").key == "Europe/Oslo"
    assert table.zone_for("GB").key == "Europe/London"
    instant = table.local_midnight_release_instant(date(2025, 6, 13), "US", default_zone="UTC")
    assert instant == datetime(2025, 6, 13, 7, 0, tzinfo=UTC)


def test_the_module_shortcuts_accept_a_loaded_table(tmp_path: Path) -> None:
    table = TerritoryTimeZones.load(_override(tmp_path, "country,time_zone\nUS,America/Chicago\n"))
    assert zone_for("US", table=table).key == "America/Chicago"
    assert zone_for("US").key == "America/New_York"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("country,time_zone,note\nGB,Europe/Londn,\n", r"line 2: 'Europe/Londn' is not a known"),
        ("country,time_zone,note\nUK,Europe/London,\n", r"line 2: 'UK' is not .*GB"),
        ("country,time_zone,note\nFR,Europe/Paris,\nXY,Europe/Paris,\n", r"line 3: 'XY'"),
        (
            "country,time_zone,note\nFR,Europe/Paris\nFR,Europe/Berlin\n",
            r"line 3: FR is already set on line 2",
        ),
        ("country,time_zone,note\nFR\n", r"line 2: expected"),
        ("country,time_zone,note\nFR,Europe/Paris,a,b\n", r"line 2: expected"),
        ("FR,Europe/Paris\n", r"line 1: the first row must be the header"),
        ("", r"empty file"),
        ("country,time_zone,note\nFR,../../etc/passwd,\n", r"line 2: '../../etc/passwd'"),
    ],
)
def test_bad_override_lines_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TerritoryTableError, match=message) as raised:
        TerritoryTimeZones.load(_override(tmp_path, text))
    assert "override.csv" in raised.value.message


def test_a_missing_override_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TerritoryTableError, match="cannot read"):
        TerritoryTimeZones.load(tmp_path / "nope.csv")
