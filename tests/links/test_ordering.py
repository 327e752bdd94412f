from launchlink.links.ordering import order_destinations
from launchlink.links.snapshot import DestinationView

CONFIGURED = tuple(
    DestinationView(service=key, url=f"https://example.test/{key}")
    for key in ("deezer", "tidal", "youtube_music", "spotify", "apple_music", "bandcamp")
)


def services(ordered: tuple[DestinationView, ...]) -> list[str]:
    return [destination.service for destination in ordered]


def test_without_any_signal_the_configured_order_is_kept() -> None:
    ordered = order_destinations(CONFIGURED, remembered_service=None, device="desktop")
    assert services(ordered) == [
        "deezer",
        "tidal",
        "youtube_music",
        "spotify",
        "apple_music",
        "bandcamp",
    ]


def test_the_remembered_service_comes_first() -> None:
    ordered = order_destinations(CONFIGURED, remembered_service="bandcamp", device="desktop")
    assert services(ordered) == [
        "bandcamp",
        "deezer",
        "tidal",
        "youtube_music",
        "spotify",
        "apple_music",
    ]


def test_ios_puts_apple_music_first() -> None:
    ordered = order_destinations(CONFIGURED, remembered_service=None, device="ios")
    assert services(ordered) == [
        "apple_music",
        "deezer",
        "tidal",
        "youtube_music",
        "spotify",
        "bandcamp",
    ]


def test_android_puts_spotify_then_youtube_music_first() -> None:
    ordered = order_destinations(CONFIGURED, remembered_service=None, device="android")
    assert services(ordered) == [
        "spotify",
        "youtube_music",
        "deezer",
        "tidal",
        "apple_music",
        "bandcamp",
    ]


def test_the_remembered_service_beats_the_device_preference() -> None:
    ordered = order_destinations(CONFIGURED, remembered_service="tidal", device="ios")
    assert services(ordered) == [
        "tidal",
        "apple_music",
        "deezer",
        "youtube_music",
        "spotify",
        "bandcamp",
    ]


def test_a_remembered_service_the_link_lacks_is_ignored() -> None:
    ordered = order_destinations(CONFIGURED[:3], remembered_service="spotify", device="desktop")
    assert services(ordered) == ["deezer", "tidal", "youtube_music"]


def test_a_device_favourite_the_link_lacks_is_skipped() -> None:
    without_spotify = tuple(d for d in CONFIGURED if d.service != "spotify")
    ordered = order_destinations(without_spotify, remembered_service=None, device="android")
    assert services(ordered)[0] == "youtube_music"


def test_country_overrides_change_urls_not_order() -> None:
    overridden = (
        DestinationView("deezer", "https://www.deezer.com/album/1"),
        DestinationView(
            "spotify",
            "https://open.spotify.com/album/default",
            {"DE": "https://open.spotify.com/album/germany"},
        ),
    )
    ordered = order_destinations(overridden, remembered_service=None, device="desktop")
    assert services(ordered) == ["deezer", "spotify"]
    assert ordered[1].url_for("DE") == "https://open.spotify.com/album/germany"
    assert ordered[1].url_for("FR") == "https://open.spotify.com/album/default"


def test_reordering_keeps_every_destination_exactly_once() -> None:
    ordered = order_destinations(CONFIGURED, remembered_service="spotify", device="android")
    assert sorted(services(ordered)) == sorted(services(CONFIGURED))
    assert len(ordered) == len(CONFIGURED)
