from __future__ import annotations

import pytest

from launchlink.platforms import (
    PLATFORMS,
    ParsedServiceUrl,
    UnknownPlatform,
    get_platform,
    icon_svg,
    parse_service_url,
    platform_for_host,
)
from launchlink.platforms.colors import WCAG_AA_NORMAL_TEXT, contrast_ratio

REQUIRED_KEYS = {
    "spotify",
    "apple_music",
    "youtube_music",
    "youtube",
    "amazon_music",
    "deezer",
    "tidal",
    "soundcloud",
    "bandcamp",
    "audiomack",
    "pandora",
    "napster",
    "boomplay",
    "anghami",
    "qobuz",
    "beatport",
    "itunes_store",
}


def test_registry_holds_every_required_service() -> None:
    assert set(PLATFORMS) >= REQUIRED_KEYS


def test_default_order_starts_with_the_biggest_services() -> None:
    assert list(PLATFORMS)[:3] == ["spotify", "apple_music", "youtube_music"]


def test_get_platform_returns_the_entry_for_its_key() -> None:
    assert get_platform("deezer").display_name == "Deezer"


def test_get_platform_raises_unknown_platform_for_a_missing_key() -> None:
    with pytest.raises(UnknownPlatform) as raised:
        get_platform("myspace")
    assert raised.value.key == "myspace"
    assert "myspace" in raised.value.message


@pytest.mark.parametrize("key", list(PLATFORMS))
def test_text_on_brand_colour_meets_wcag_aa(key: str) -> None:
    platform = get_platform(key)
    assert contrast_ratio(platform.brand_color, platform.text_color) >= WCAG_AA_NORMAL_TEXT


def test_contrast_ratio_matches_the_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#FF0000", "#FFFFFF") == pytest.approx(4.0, abs=0.01)


@pytest.mark.parametrize("key", list(PLATFORMS))
def test_every_icon_is_a_small_svg_named_after_its_service(key: str) -> None:
    platform = get_platform(key)
    svg = icon_svg(platform.icon)
    assert svg.startswith('<svg role="img" viewBox="0 0 24 24"')
    assert "<title>" in svg
    assert "<script" not in svg
    assert len(svg.encode()) < 2600


def test_all_icons_together_stay_well_inside_the_page_budget() -> None:
    total = sum(len(icon_svg(p.icon).encode()) for p in PLATFORMS.values())
    assert total < 20_000


def test_icon_svg_refuses_paths() -> None:
    with pytest.raises(ValueError, match="not an icon"):
        icon_svg("../templates/page.html")


def test_stores_ask_fans_to_buy() -> None:
    assert {k for k, p in PLATFORMS.items() if p.call_to_action == "buy"} >= {
        "itunes_store",
        "beatport",
        "bandcamp",
    }
    assert get_platform("spotify").call_to_action == "play"


def test_bandcamp_owns_artist_subdomains_but_not_lookalikes() -> None:
    bandcamp = get_platform("bandcamp")
    assert bandcamp.owns_host("artist.bandcamp.com")
    assert not bandcamp.owns_host("bandcamp.com.evil.example")
    assert not bandcamp.owns_host("evilbandcamp.com")


def test_platform_for_host_finds_the_owner() -> None:
    owner = platform_for_host("OPEN.SPOTIFY.COM.")
    assert owner is not None
    assert owner.key == "spotify"
    assert platform_for_host("evil.example") is None


CASES = [
    # url, platform, kind, id, country
    (
        "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
        "spotify",
        "album",
        "4aawyAB9vmqN3uQ7FjRGTy",
        None,
    ),
    (
        "https://open.spotify.com/intl-de/track/0Jcij1eWd5bDMU5iPbxe2i?si=abc",
        "spotify",
        "track",
        "0Jcij1eWd5bDMU5iPbxe2i",
        None,
    ),
    (
        "https://open.spotify.com/artist/0TnOYISbd1XYRBk9myaseg",
        "spotify",
        "artist",
        "0TnOYISbd1XYRBk9myaseg",
        None,
    ),
    (
        "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M",
        "spotify",
        "playlist",
        "37i9dQZF1DXcBWIGoYBM5M",
        None,
    ),
    (
        "https://music.apple.com/us/album/kitchen/1443108737?i=1443109064&uo=4",
        "apple_music",
        "track",
        "1443109064",
        "US",
    ),
    (
        "https://music.apple.com/gb/album/kitchen/1443108737",
        "apple_music",
        "album",
        "1443108737",
        "GB",
    ),
    (
        "https://music.apple.com/de/song/kitchen/1443109064",
        "apple_music",
        "track",
        "1443109064",
        "DE",
    ),
    (
        "https://music.apple.com/us/artist/some-artist/909253",
        "apple_music",
        "artist",
        "909253",
        "US",
    ),
    (
        "https://music.apple.com/us/playlist/todays-hits/pl.f4d106fed2bd41149aaacabb233eb5eb",
        "apple_music",
        "playlist",
        "pl.f4d106fed2bd41149aaacabb233eb5eb",
        "US",
    ),
    (
        "https://music.apple.com/us/music-video/some-video/1234567890",
        "apple_music",
        "video",
        "1234567890",
        "US",
    ),
    (
        "https://music.youtube.com/watch?v=w3LJ2bDvDJs&feature=share",
        "youtube_music",
        "track",
        "w3LJ2bDvDJs",
        None,
    ),
    (
        "https://music.youtube.com/playlist?list=OLAK5uy_kx2yIvKZyGUL9KoFD3x8LmXnKwxf8Zm1Q",
        "youtube_music",
        "album",
        "OLAK5uy_kx2yIvKZyGUL9KoFD3x8LmXnKwxf8Zm1Q",
        None,
    ),
    (
        "https://music.youtube.com/playlist?list=PL4fGSI1pDJn5kI81J1fYWK5eZRl1zJ5kM",
        "youtube_music",
        "playlist",
        "PL4fGSI1pDJn5kI81J1fYWK5eZRl1zJ5kM",
        None,
    ),
    (
        "https://music.youtube.com/channel/UCIaFw5VBEK8qaW6nRpx_qnw",
        "youtube_music",
        "artist",
        "UCIaFw5VBEK8qaW6nRpx_qnw",
        None,
    ),
    ("https://www.youtube.com/watch?v=w3LJ2bDvDJs", "youtube", "video", "w3LJ2bDvDJs", None),
    ("https://youtu.be/w3LJ2bDvDJs?t=10", "youtube", "video", "w3LJ2bDvDJs", None),
    ("https://m.youtube.com/shorts/w3LJ2bDvDJs", "youtube", "video", "w3LJ2bDvDJs", None),
    ("https://www.youtube.com/@someartist", "youtube", "artist", "@someartist", None),
    (
        "https://music.amazon.com/albums/B01N48U32A?trackAsin=B01NAE38YO&do=play",
        "amazon_music",
        "track",
        "B01NAE38YO",
        None,
    ),
    (
        "https://music.amazon.co.uk/albums/B01N48U32A",
        "amazon_music",
        "album",
        "B01N48U32A",
        None,
    ),
    ("https://www.deezer.com/track/138127073", "deezer", "track", "138127073", None),
    ("https://www.deezer.com/fr/album/302127", "deezer", "album", "302127", None),
    ("https://listen.tidal.com/track/67784545", "tidal", "track", "67784545", None),
    ("https://tidal.com/browse/album/67784543", "tidal", "album", "67784543", None),
    (
        "https://tidal.com/browse/playlist/0ecf9f9a-5c1f-4a53-8c39-b3d3d2f5a7cd",
        "tidal",
        "playlist",
        "0ecf9f9a-5c1f-4a53-8c39-b3d3d2f5a7cd",
        None,
    ),
    (
        "https://soundcloud.com/someartist/new-song",
        "soundcloud",
        "track",
        "someartist/new-song",
        None,
    ),
    (
        "https://soundcloud.com/someartist/sets/the-ep",
        "soundcloud",
        "playlist",
        "someartist/sets/the-ep",
        None,
    ),
    ("https://soundcloud.com/someartist", "soundcloud", "artist", "someartist", None),
    (
        "https://someartist.bandcamp.com/album/the-record",
        "bandcamp",
        "album",
        "someartist.bandcamp.com/album/the-record",
        None,
    ),
    ("https://someartist.bandcamp.com/", "bandcamp", "artist", "someartist", None),
    (
        "https://audiomack.com/someartist/song/new-song",
        "audiomack",
        "track",
        "someartist/song/new-song",
        None,
    ),
    (
        "https://www.pandora.com/artist/some-artist/the-record/new-song/TRabc123",
        "pandora",
        "track",
        "TRabc123",
        None,
    ),
    (
        "https://www.pandora.com/artist/some-artist/the-record/ALxyz789",
        "pandora",
        "album",
        "ALxyz789",
        None,
    ),
    ("https://web.napster.com/album/alb.123456789", "napster", "album", "alb.123456789", None),
    ("https://www.boomplay.com/songs/123456", "boomplay", "track", "123456", None),
    ("https://play.anghami.com/album/1029384", "anghami", "album", "1029384", None),
    ("https://open.qobuz.com/album/abc123xyz", "qobuz", "album", "abc123xyz", None),
    (
        "https://www.qobuz.com/fr-fr/album/the-record-some-artist/abc123xyz",
        "qobuz",
        "album",
        "abc123xyz",
        "FR",
    ),
    ("https://www.beatport.com/release/the-record/4567890", "beatport", "album", "4567890", None),
    ("https://www.beatport.com/track/new-song/1234567", "beatport", "track", "1234567", None),
    (
        "https://itunes.apple.com/us/album/the-record/id1443108737?i=1443109064",
        "itunes_store",
        "track",
        "1443109064",
        "US",
    ),
    (
        "https://itunes.apple.com/jp/album/the-record/id1443108737",
        "itunes_store",
        "album",
        "1443108737",
        "JP",
    ),
    (
        "https://audius.co/someartist/new-song-123",
        "audius",
        "track",
        "someartist/new-song-123",
        None,
    ),
    ("https://music.yandex.ru/album/123/track/456", "yandex_music", "track", "456", None),
    ("https://music.yandex.com/artist/789", "yandex_music", "artist", "789", None),
    (
        "https://www.kkbox.com/tw/tc/album/SkpLf3Wzn2Hm3AUdWb",
        "kkbox",
        "album",
        "SkpLf3Wzn2Hm3AUdWb",
        "TW",
    ),
    (
        "https://music.line.me/webapp/album/mb0000000001fbf8b3",
        "line_music",
        "album",
        "mb0000000001fbf8b3",
        None,
    ),
    (
        "https://www.jiosaavn.com/song/new-song/JCcFXx5yDVg",
        "jiosaavn",
        "track",
        "JCcFXx5yDVg",
        None,
    ),
]


@pytest.mark.parametrize(("url", "platform", "kind", "item_id", "country"), CASES)
def test_parse_service_url_recognises_real_url_shapes(
    url: str, platform: str, kind: str, item_id: str, country: str | None
) -> None:
    parsed = parse_service_url(url)
    assert parsed is not None
    assert (parsed.platform, parsed.kind, parsed.id, parsed.country) == (
        platform,
        kind,
        item_id,
        country,
    )


def test_every_service_has_at_least_one_parse_case() -> None:
    assert {case[1] for case in CASES} == set(PLATFORMS)


def test_parse_service_url_upgrades_http_and_accepts_a_missing_scheme() -> None:
    parsed = parse_service_url("open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy")
    assert parsed is not None
    assert parsed.url == "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"
    upgraded = parse_service_url("http://www.deezer.com/album/302127")
    assert upgraded is not None
    assert upgraded.url == "https://www.deezer.com/album/302127"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "https://evil.example/album/4aawyAB9vmqN3uQ7FjRGTy",
        "https://open.spotify.com.evil.example/album/4aawyAB9vmqN3uQ7FjRGTy",
        "https://open.spotify.com/album/short",
        "https://open.spotify.com/search/4aawyAB9vmqN3uQ7FjRGTy",
        "https://user:pw@open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
        "javascript:alert(1)",
        "ftp://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
        "https://soundcloud.com/discover",
        "https://www.youtube.com/watch?v=tooshort",
    ],
)
def test_parse_service_url_returns_none_for_anything_else(url: str) -> None:
    assert parse_service_url(url) is None


def _app_link(url: str) -> str | None:
    parsed = parse_service_url(url)
    assert isinstance(parsed, ParsedServiceUrl)
    return get_platform(parsed.platform).app_link_for(parsed)


def test_spotify_app_link_is_the_spotify_uri() -> None:
    link = _app_link("https://open.spotify.com/intl-fr/album/4aawyAB9vmqN3uQ7FjRGTy?si=x")
    assert link == "spotify:album:4aawyAB9vmqN3uQ7FjRGTy"


def test_apple_music_app_link_uses_the_music_scheme_and_keeps_the_track() -> None:
    link = _app_link("https://music.apple.com/us/album/kitchen/1443108737?i=1443109064")
    assert link == "music://music.apple.com/us/album/kitchen/1443108737?i=1443109064"


def test_itunes_store_app_link_uses_itms() -> None:
    link = _app_link("https://itunes.apple.com/us/album/the-record/id1443108737")
    assert link == "itms://itunes.apple.com/us/album/the-record/id1443108737"


def test_deezer_app_link_drops_the_language_prefix() -> None:
    assert _app_link("https://www.deezer.com/fr/album/302127") == (
        "deezer://www.deezer.com/album/302127"
    )


def test_services_without_a_reliable_scheme_have_no_app_link() -> None:
    assert _app_link("https://music.youtube.com/watch?v=w3LJ2bDvDJs") is None
    assert get_platform("youtube_music").app_link is None
    assert get_platform("amazon_music").app_link is None
