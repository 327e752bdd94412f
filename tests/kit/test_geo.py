from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from launchlink.kit.geo import (
    BundledGeoResolver,
    CountryDetector,
    GeoResolver,
    NullGeoResolver,
    normalise_country_code,
)


class TableResolver:
    """A GeoResolver over a fixed table, to test CountryDetector's choices."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    def country(self, ip: str) -> str | None:
        self.asked.append(ip)
        return self.table.get(ip)


@pytest.fixture(scope="module")
def bundled() -> BundledGeoResolver:
    resolver = BundledGeoResolver()
    resolver.load()
    return resolver


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("81.2.69.142", "GB"),
        ("2001:4860:4860::8888", "US"),
        ("2a00:1450:4001:81b::200e", "DE"),
        ("::ffff:8.8.8.8", "US"),
        (" 8.8.8.8 ", "US"),
    ],
)
def test_bundled_resolver_finds_public_addresses(
    bundled: BundledGeoResolver, ip: str, country: str
) -> None:
    assert bundled.country(ip) == country


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "127.0.0.1",
        "100.64.0.1",
        "169.254.1.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "224.0.0.1",
        "0.0.0.0",  # noqa: S104  (an address to look up, not to bind)
        "",
        "not-an-ip",
        "999.1.1.1",
    ],
)
def test_private_loopback_and_invalid_addresses_have_no_country(
    bundled: BundledGeoResolver, ip: str
) -> None:
    assert bundled.country(ip) is None


def test_repeated_lookups_come_from_the_cache(bundled: BundledGeoResolver) -> None:
    bundled.country("1.1.1.1")
    hits = bundled.cache_info().hits
    bundled.country("1.1.1.1")
    assert bundled.cache_info().hits == hits + 1


def test_concurrent_first_lookups_agree() -> None:
    resolver = BundledGeoResolver()
    ips = ["8.8.8.8", "81.2.69.142", "2001:4860:4860::8888"] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(resolver.country, ips))
    assert answers == ["US", "GB", "US"] * 20


def test_loading_geoip2fast_does_not_change_the_environment() -> None:
    # geoip2fast sets PYTHONWARNINGS on import; our loader must put it back. A fresh
    # interpreter is needed because the module is imported once per process.
    script = (
        "import os\n"
        "from launchlink.kit.geo import BundledGeoResolver\n"
        "assert BundledGeoResolver().country('8.8.8.8') == 'US'\n"
        "print(os.environ.get('PYTHONWARNINGS'), os.environ.get('PYTHONIOENCODING'))\n"
    )
    env_out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "default"},
    ).stdout
    assert env_out.split() == ["default", "None"]


def test_null_resolver_knows_nothing() -> None:
    resolver: GeoResolver = NullGeoResolver()
    assert resolver.country("8.8.8.8") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gb", "GB"),
        (" FR ", "FR"),
        ("XX", None),
        ("T1", None),
        ("EU", None),
        ("ZZ", None),
        ("QZ", None),
        ("USA", None),
        ("", None),
        (None, None),
    ],
)
def test_country_codes_are_normalised_or_refused(value: str | None, expected: str | None) -> None:
    assert normalise_country_code(value) == expected


def test_a_country_header_is_ignored_unless_the_operator_trusts_it() -> None:
    resolver = TableResolver({"203.0.113.9": "DE"})
    detector = CountryDetector(resolver)
    assert detector.country({"CF-IPCountry": "FR"}, "203.0.113.9") == "DE"


def test_a_trusted_header_wins_over_the_ip_address() -> None:
    resolver = TableResolver({"203.0.113.9": "DE"})
    detector = CountryDetector(resolver, trusted_header="CF-IPCountry")
    assert detector.country({"cf-ipcountry": "fr"}, "203.0.113.9") == "FR"
    assert resolver.asked == []


def test_asgi_raw_headers_are_understood() -> None:
    detector = CountryDetector(NullGeoResolver(), trusted_header="X-Country-Code")
    raw = [(b"host", b"example.test"), (b"x-country-code", b"JP")]
    assert detector.country(raw, "203.0.113.9") == "JP"


@pytest.mark.parametrize("header_value", ["XX", "T1", "", "France"])
def test_a_meaningless_header_falls_back_to_the_ip(header_value: str) -> None:
    resolver = TableResolver({"203.0.113.9": "DE"})
    detector = CountryDetector(resolver, trusted_header="CF-IPCountry")
    assert detector.country({"CF-IPCountry": header_value}, "203.0.113.9") == "DE"


def test_with_trusted_proxies_the_header_counts_only_from_them() -> None:
    resolver = TableResolver({"198.51.100.7": "BR"})
    detector = CountryDetector(
        resolver, trusted_header="CF-IPCountry", trusted_proxies=["10.0.0.0/8"]
    )
    assert detector.country({"CF-IPCountry": "FR"}, "198.51.100.7") == "BR"
    assert detector.country({"CF-IPCountry": "FR"}, "10.0.0.2") == "FR"


def test_behind_a_trusted_proxy_the_visitor_is_the_rightmost_untrusted_hop() -> None:
    resolver = TableResolver({"198.51.100.7": "BR", "192.0.2.66": "RU"})
    detector = CountryDetector(resolver, trusted_proxies=["10.0.0.0/8", "2001:db8::/32"])
    headers = {"X-Forwarded-For": "192.0.2.66, 198.51.100.7, 10.1.1.1"}
    assert detector.country(headers, "10.0.0.2") == "BR"


def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    resolver = TableResolver({"198.51.100.7": "BR", "192.0.2.66": "RU"})
    detector = CountryDetector(resolver, trusted_proxies=["10.0.0.0/8"])
    assert detector.country({"X-Forwarded-For": "192.0.2.66"}, "198.51.100.7") == "BR"


def test_no_client_address_means_no_country() -> None:
    detector = CountryDetector(TableResolver({}))
    assert detector.country({}, None) is None


def test_detector_with_the_bundled_resolver_end_to_end(bundled: BundledGeoResolver) -> None:
    detector = CountryDetector(bundled, trusted_header="CF-IPCountry")
    assert detector.country([(b"cf-ipcountry", b"XX")], "81.2.69.142") == "GB"
