from __future__ import annotations

import pytest

from launchlink.platforms import (
    MAX_DESTINATION_URL_LENGTH,
    DestinationUrlError,
    UnknownPlatform,
    validate_destination_url,
)

SPOTIFY_ALBUM = "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"


def test_a_clean_https_link_is_returned_unchanged() -> None:
    assert validate_destination_url("spotify", SPOTIFY_ALBUM) == SPOTIFY_ALBUM


def test_http_on_a_known_host_is_upgraded_to_https() -> None:
    assert validate_destination_url("spotify", SPOTIFY_ALBUM.replace("https", "http")) == (
        SPOTIFY_ALBUM
    )


def test_host_case_trailing_dot_and_default_port_are_normalised() -> None:
    url = "https://OPEN.Spotify.com.:443/album/4aawyAB9vmqN3uQ7FjRGTy?si=Ab"
    assert validate_destination_url("spotify", url) == SPOTIFY_ALBUM + "?si=Ab"


def test_surrounding_whitespace_and_a_missing_scheme_are_tolerated() -> None:
    assert validate_destination_url("spotify", "  open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy\n")


def test_bandcamp_accepts_any_artist_subdomain() -> None:
    url = "https://someartist.bandcamp.com/album/the-record"
    assert validate_destination_url("bandcamp", url) == url


def test_a_destination_on_another_host_is_refused_with_the_allowed_hosts() -> None:
    with pytest.raises(DestinationUrlError) as raised:
        validate_destination_url("spotify", "https://evil.example/album/x")
    assert "open.spotify.com" in raised.value.message
    assert "evil.example" in raised.value.message


def test_another_services_host_is_refused() -> None:
    with pytest.raises(DestinationUrlError, match="Deezer link must point to"):
        validate_destination_url("deezer", SPOTIFY_ALBUM)


@pytest.mark.parametrize(
    "url",
    [
        "https://open.spotify.com.evil.example/album/x",
        "https://open.spotify.com@evil.example/album/x",
        "https://evil.example/?https://open.spotify.com/",
        "https://evil.example\\@open.spotify.com/album/x",
        "https://open.spotify.com\\@evil.example/",
        "https://evilspotify.com/album/x",
    ],
)
def test_lookalike_hosts_are_refused(url: str) -> None:
    with pytest.raises(DestinationUrlError):
        validate_destination_url("spotify", url)


def test_credentials_are_refused_without_being_echoed() -> None:
    with pytest.raises(DestinationUrlError) as raised:
        validate_destination_url("spotify", "https://fan:hunter2@open.spotify.com/album/x")
    assert "hunter2" not in raised.value.message
    assert "user name or password" in raised.value.message


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(document.cookie)", "data:text/html,<script>1</script>", "spotify:album:x"],
)
def test_non_web_schemes_are_refused(url: str) -> None:
    with pytest.raises(DestinationUrlError, match="https://"):
        validate_destination_url("spotify", url)


def test_ftp_is_refused_even_on_a_known_host() -> None:
    with pytest.raises(DestinationUrlError, match="ftp"):
        validate_destination_url("spotify", "ftp://open.spotify.com/album/x")


def test_a_custom_port_is_refused() -> None:
    with pytest.raises(DestinationUrlError, match="port"):
        validate_destination_url("spotify", "https://open.spotify.com:8443/album/x")


def test_an_overlong_link_is_refused() -> None:
    url = SPOTIFY_ALBUM + "?x=" + "a" * MAX_DESTINATION_URL_LENGTH
    with pytest.raises(DestinationUrlError, match="2048"):
        validate_destination_url("spotify", url)


def test_a_link_of_exactly_the_maximum_length_is_accepted() -> None:
    url = SPOTIFY_ALBUM + "?x=" + "a" * (MAX_DESTINATION_URL_LENGTH - len(SPOTIFY_ALBUM) - 3)
    assert len(url) == MAX_DESTINATION_URL_LENGTH
    assert validate_destination_url("spotify", url) == url


@pytest.mark.parametrize("url", ["", "   ", "https://open.spotify.com/al bum", "https://"])
def test_empty_or_malformed_links_are_refused(url: str) -> None:
    with pytest.raises(DestinationUrlError):
        validate_destination_url("spotify", url)


def test_an_unknown_service_key_raises_unknown_platform() -> None:
    with pytest.raises(UnknownPlatform):
        validate_destination_url("myspace", SPOTIFY_ALBUM)


def test_the_error_exposes_a_message_attribute() -> None:
    with pytest.raises(DestinationUrlError) as raised:
        validate_destination_url("tidal", "http://tidal.evil.example/album/1")
    assert raised.value.message == str(raised.value)
