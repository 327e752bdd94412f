"""Territory → reference time zone, and the instant a release goes live there.

Product rule: a territory's release instant is local midnight in its reference time zone.
The mapping is data (``launchlink/data/territory_timezones.csv``, columns ``country,
time_zone,note``), generated from the IANA tz database shipped in ``tzdata`` and edited by
hand where a country spans several zones (the US goes live at midnight Eastern, Canada at
Toronto's, Australia at Sydney's…; the ``note`` column says why). Operators correct it
without a launchlink release through an override CSV of the same shape, merged on top by
:meth:`TerritoryTimeZones.load`.

Regenerate the bundled file after a tzdata upgrade with
``python -m launchlink.kit.territories > src/launchlink/data/territory_timezones.csv``
and review the diff: hand choices live in :data:`REFERENCE_ZONE_CHOICES`.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "REFERENCE_ZONE_CHOICES",
    "TerritoryTableError",
    "TerritoryTimeZones",
    "TerritoryZone",
    "bundled_territory_time_zones",
    "iso_country_codes",
    "local_midnight_release_instant",
    "zone_for",
]

COLUMNS = ("country", "time_zone", "note")

# Countries spanning several zones whose reference zone is not the first one tzdata lists,
# or whose choice deserves saying. Used only to (re)generate the bundled CSV.
REFERENCE_ZONE_CHOICES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "US": (
            "America/New_York",
            "multi-zone; US releases are commonly reported to go live at midnight Eastern",
        ),
        "CA": ("America/Toronto", "multi-zone; Eastern, the most populous (Toronto, Ottawa)"),
        "AU": ("Australia/Sydney", "multi-zone; Sydney/Melbourne time, the most populous"),
        "BR": ("America/Sao_Paulo", "multi-zone; Brasília time, the most populous"),
        "RU": ("Europe/Moscow", "multi-zone; Moscow time, the most populous"),
        "MX": ("America/Mexico_City", "multi-zone; central time, the most populous"),
        "ID": ("Asia/Jakarta", "multi-zone; Western Indonesia time (WIB), the most populous"),
        "AR": ("America/Argentina/Buenos_Aires", "zones agree today; Buenos Aires"),
        "KZ": ("Asia/Almaty", "zones agree since 2024; Almaty, the most populous"),
        "CN": ("Asia/Shanghai", "official single time (Beijing) though tzdata lists Urumqi"),
        "UA": ("Europe/Kyiv", "multi-zone in tzdata; Kyiv, the capital"),
        "UZ": ("Asia/Tashkent", "zones agree today; Tashkent, the capital"),
        "ES": ("Europe/Madrid", "multi-zone; peninsular time (Canaries are an hour behind)"),
        "PT": ("Europe/Lisbon", "multi-zone; mainland time (Azores are an hour behind)"),
        "CL": ("America/Santiago", "multi-zone; Santiago, the most populous"),
        "NZ": ("Pacific/Auckland", "multi-zone; Auckland (Chatham Islands differ)"),
        "DE": ("Europe/Berlin", "Busingen is an exclave with Swiss time"),
        "MY": ("Asia/Kuala_Lumpur", "zones agree today; Kuala Lumpur"),
        "CD": ("Africa/Kinshasa", "multi-zone; Kinshasa, the most populous"),
        "EC": ("America/Guayaquil", "multi-zone; mainland (Galápagos differ)"),
    }
)


class TerritoryTableError(ValueError):
    """A territory table line is wrong; ``message`` names the file and line."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class TerritoryZone:
    country: str
    time_zone: str
    note: str = ""


def _tzdata_text(name: str) -> str:
    return files("tzdata").joinpath("zoneinfo", name).read_text("utf-8")


@cache
def iso_country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes tzdata knows (its ``iso3166.tab``)."""
    return frozenset(
        line.split("\t", 1)[0]
        for line in _tzdata_text("iso3166.tab").splitlines()
        if line and not line.startswith("#")
    )


@cache
def zones_by_country() -> Mapping[str, tuple[str, ...]]:
    """Every country code tzdata lists with its time zones (``zone.tab``), for choosers."""
    found: dict[str, list[str]] = {}
    for line in _tzdata_text("zone.tab").splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            found.setdefault(fields[0], []).append(fields[2])
    return MappingProxyType({code: tuple(sorted(zones)) for code, zones in found.items()})


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _valid_zone(name: str) -> ZoneInfo | None:
    if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _normalise_country(country: str | None) -> str | None:
    if not country:
        return None
    code = country.strip().upper()
    return code if code in iso_country_codes() else None


class TerritoryTimeZones:
    """An immutable territory → reference-zone table; use :meth:`load` to build one."""

    def __init__(self, entries: Mapping[str, TerritoryZone]) -> None:
        self._entries = MappingProxyType(dict(entries))

    @classmethod
    def load(cls, override_path: Path | None = None) -> TerritoryTimeZones:
        """The bundled table, with an operator's override CSV (same columns) merged on top.

        Raises :class:`TerritoryTableError` naming the line of any unknown country or
        time-zone name, duplicate, or malformed row in the override.
        """
        bundled = files("launchlink").joinpath("data", "territory_timezones.csv")
        entries = _parse(bundled.read_text("utf-8"), source="territory_timezones.csv")
        if override_path is not None:
            try:
                text = Path(override_path).read_text("utf-8")
            except OSError as error:
                raise TerritoryTableError(
                    f"{override_path}: cannot read the override file ({error.strerror})"
                ) from error
            entries.update(_parse(text, source=str(override_path)))
        return cls(entries)

    @property
    def entries(self) -> Mapping[str, TerritoryZone]:
        return self._entries

    def __contains__(self, country: object) -> bool:
        return isinstance(country, str) and country.strip().upper() in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def zone_for(self, country: str | None, *, default_zone: str = "UTC") -> ZoneInfo:
        """The reference zone of ``country``; ``default_zone`` if unknown or ``None``."""
        code = _normalise_country(country)
        entry = self._entries.get(code) if code else None
        if entry is not None:
            return _zone(entry.time_zone)
        zone = _valid_zone(default_zone)
        if zone is None:
            raise TerritoryTableError(f"default_zone {default_zone!r} is not a known time zone")
        return zone

    def local_midnight_release_instant(
        self, release_date: date, country: str | None, *, default_zone: str
    ) -> datetime:
        """The UTC instant of 00:00 on ``release_date`` in the territory's reference zone.

        Where the clocks skip midnight (a DST change at 00:00, as in Chile or Paraguay) the
        answer is the first instant of that date; where midnight happens twice, the first.
        """
        zone = self.zone_for(country, default_zone=default_zone)
        # fold=0 on a skipped local time uses the offset before the change, which lands
        # exactly on the transition: the first instant of the new day.
        local_midnight = datetime.combine(release_date, time(0, 0), tzinfo=zone)
        return local_midnight.astimezone(UTC)


def _parse(text: str, *, source: str) -> dict[str, TerritoryZone]:
    entries: dict[str, TerritoryZone] = {}
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    header_seen = False
    for row in reader:
        line = reader.line_num
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in row]
        if not header_seen:
            header_seen = True
            if [c.lower() for c in cells[:2]] != ["country", "time_zone"]:
                raise TerritoryTableError(
                    f"{source}, line {line}: the first row must be the header "
                    f"'country,time_zone,note'"
                )
            continue
        if len(cells) < 2 or len(cells) > 3:
            raise TerritoryTableError(
                f"{source}, line {line}: expected 'country,time_zone[,note]', got {len(cells)} "
                "fields (quote a note that contains commas)"
            )
        raw_country, zone_name = cells[0], cells[1]
        note = cells[2] if len(cells) == 3 else ""
        country = raw_country.upper()
        if country not in iso_country_codes():
            hint = " (the United Kingdom is GB)" if country == "UK" else ""
            raise TerritoryTableError(
                f"{source}, line {line}: {raw_country!r} is not an ISO 3166-1 alpha-2 country "
                f"code{hint}"
            )
        if _valid_zone(zone_name) is None:
            raise TerritoryTableError(
                f"{source}, line {line}: {zone_name!r} is not a known IANA time zone name "
                "(e.g. 'Europe/London', 'America/New_York')"
            )
        if country in first_line:
            raise TerritoryTableError(
                f"{source}, line {line}: {country} is already set on line {first_line[country]}"
            )
        first_line[country] = line
        entries[country] = TerritoryZone(country, zone_name, note)
    if not header_seen:
        raise TerritoryTableError(f"{source}: empty file; the first row must be the header")
    return entries


@cache
def bundled_territory_time_zones() -> TerritoryTimeZones:
    """The bundled table without any operator override (loaded once)."""
    return TerritoryTimeZones.load()


def zone_for(
    country: str | None, *, default_zone: str = "UTC", table: TerritoryTimeZones | None = None
) -> ZoneInfo:
    """Shortcut for ``table.zone_for``; ``table`` defaults to the bundled one.

    Apps with an operator override should hold the loaded :class:`TerritoryTimeZones`
    and pass it (or call its methods) rather than rely on the bundled default.
    """
    return (table or bundled_territory_time_zones()).zone_for(country, default_zone=default_zone)


def local_midnight_release_instant(
    release_date: date,
    country: str | None,
    *,
    default_zone: str,
    table: TerritoryTimeZones | None = None,
) -> datetime:
    """Shortcut for ``table.local_midnight_release_instant`` (bundled table by default)."""
    return (table or bundled_territory_time_zones()).local_midnight_release_instant(
        release_date, country, default_zone=default_zone
    )


def generate_bundled_csv() -> str:
    """The bundled CSV as generated from tzdata's ``zone.tab`` + :data:`REFERENCE_ZONE_CHOICES`.

    Single-zone countries take their only zone; multi-zone ones take the hand choice or,
    failing one, the first zone tzdata lists (its most populous where geography allows).
    """
    zones_by_country: dict[str, list[str]] = {}
    for line in _tzdata_text("zone.tab").splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone_name, *_ = line.split("\t")
            zones_by_country.setdefault(country, []).append(zone_name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for country in sorted(iso_country_codes()):
        zones = zones_by_country.get(country, [])
        if country in REFERENCE_ZONE_CHOICES:
            zone_name, note = REFERENCE_ZONE_CHOICES[country]
        elif len(zones) == 1:
            zone_name, note = zones[0], ""
        elif zones:
            zone_name, note = zones[0], f"multi-zone ({len(zones)}); first zone tzdata lists"
        else:
            continue
        writer.writerow((country, zone_name, note))
    return out.getvalue()


if __name__ == "__main__":
    sys.stdout.write(generate_bundled_csv())
