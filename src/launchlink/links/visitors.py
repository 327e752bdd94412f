"""Where a visitor is: their country and their territory's release time zone.

Built once per process from settings and shared by the smart-link front and the
pre-save routes, so the geo-IP data and the territory table are loaded once.
"""

from __future__ import annotations

from dataclasses import dataclass

from launchlink.config import Settings
from launchlink.kit.geo import BundledGeoResolver, CountryDetector, GeoResolver, NullGeoResolver
from launchlink.kit.territories import TerritoryTimeZones


@dataclass(frozen=True)
class VisitorLocation:
    countries: CountryDetector
    territories: TerritoryTimeZones

    @classmethod
    def from_settings(
        cls, settings: Settings, *, territories: TerritoryTimeZones | None = None
    ) -> VisitorLocation:
        resolver: GeoResolver = (
            BundledGeoResolver() if settings.geoip == "bundled" else NullGeoResolver()
        )
        return cls(
            countries=CountryDetector(
                resolver,
                trusted_header=settings.trusted_country_header,
                trusted_proxies=settings.trusted_proxies,
            ),
            territories=territories or TerritoryTimeZones.load(settings.territory_timezones_file),
        )
