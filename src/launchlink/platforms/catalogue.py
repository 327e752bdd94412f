"""Every service launchlink knows, in default display order.

Each entry is static knowledge checked by tests against real-world URL shapes. Brand
colours come from simple-icons where it has the brand (see static/icons/
LICENSE-simple-icons.txt); the others are approximations an operator can restyle.
Where ``app_link`` is ``None`` the service documents no custom scheme we trust: the https
URL (a universal link / app link) is what opens the app on phones.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from launchlink.platforms.colors import readable_text_color
from launchlink.platforms.model import (
    AppLinkBuilder,
    CallToAction,
    ParsedServiceUrl,
    Platform,
    UrlPattern,
    pattern,
)

# Ends an id: the next path segment, the query, or the end of the URL.
_END = r"(?=[/?]|$)"
_SLUG = r"[^/?]+"


def _platform(
    key: str,
    display_name: str,
    *,
    icon: str,
    brand_color: str,
    hosts: set[str],
    url_patterns: list[UrlPattern],
    app_link: AppLinkBuilder | None = None,
    call_to_action: CallToAction = "play",
) -> Platform:
    return Platform(
        key=key,
        display_name=display_name,
        icon=icon,
        brand_color=brand_color,
        text_color=readable_text_color(brand_color),
        hosts=frozenset(hosts),
        url_patterns=tuple(url_patterns),
        app_link=app_link,
        call_to_action=call_to_action,
    )


def _spotify_uri(parsed: ParsedServiceUrl) -> str:
    # Spotify URIs are documented and open the desktop and mobile apps alike.
    return f"spotify:{parsed.kind}:{parsed.id}"


def _with_scheme(scheme: str) -> AppLinkBuilder:
    """``https://host/path`` → ``scheme://host/path`` (Apple's music:// and itms://)."""

    def build(parsed: ParsedServiceUrl) -> str:
        parts = urlsplit(parsed.url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{scheme}://{parts.netloc}{parts.path}{query}"

    return build


def _deezer_app_link(parsed: ParsedServiceUrl) -> str:
    return f"deezer://www.deezer.com/{parsed.kind}/{parsed.id}"


_APPLE_COUNTRY = r"(?P<country>[a-z]{2})"
_YOUTUBE_HOST = r"(?:www\.|m\.)?youtube\.com"

PLATFORM_LIST: tuple[Platform, ...] = (
    _platform(
        "spotify",
        "Spotify",
        icon="spotify.svg",
        brand_color="#1ED760",
        hosts={"open.spotify.com", "play.spotify.com", "spotify.link"},
        url_patterns=[
            pattern(
                r"^(?:open|play)\.spotify\.com/(?:intl-[a-z]{2}(?:-[a-z]{2})?/)?"
                r"(?P<kind>album|track|artist|playlist)/(?P<id>[A-Za-z0-9]{22})" + _END
            ),
        ],
        app_link=_spotify_uri,
    ),
    _platform(
        "apple_music",
        "Apple Music",
        icon="applemusic.svg",
        brand_color="#FA243C",
        hosts={"music.apple.com", "geo.music.apple.com", "itunes.apple.com"},
        url_patterns=[
            pattern(
                rf"^(?:geo\.)?music\.apple\.com/{_APPLE_COUNTRY}/album/(?:{_SLUG}/)?(?:id)?\d+"
                r"\?(?:[^#]*&)?i=(?P<id>\d+)",
                "track",
            ),
            pattern(
                rf"^(?:geo\.)?music\.apple\.com/{_APPLE_COUNTRY}/"
                rf"(?P<kind>album|song|artist|music-video)/(?:{_SLUG}/)?(?:id)?(?P<id>\d+)" + _END
            ),
            pattern(
                rf"^(?:geo\.)?music\.apple\.com/{_APPLE_COUNTRY}/playlist/(?:{_SLUG}/)?"
                r"(?P<id>pl\.[A-Za-z0-9._-]+)" + _END,
                "playlist",
            ),
        ],
        app_link=_with_scheme("music"),
    ),
    _platform(
        "youtube_music",
        "YouTube Music",
        icon="youtubemusic.svg",
        brand_color="#FF0000",
        hosts={"music.youtube.com"},
        url_patterns=[
            pattern(r"^music\.youtube\.com/watch\?(?:[^#]*&)?v=(?P<id>[\w-]{11})", "track"),
            pattern(
                r"^music\.youtube\.com/playlist\?(?:[^#]*&)?list=(?P<id>OLAK5uy_[\w-]+)", "album"
            ),
            pattern(r"^music\.youtube\.com/playlist\?(?:[^#]*&)?list=(?P<id>[\w-]+)", "playlist"),
            pattern(r"^music\.youtube\.com/browse/(?P<id>MPREb_[\w-]+)" + _END, "album"),
            pattern(r"^music\.youtube\.com/channel/(?P<id>UC[\w-]{22})" + _END, "artist"),
        ],
    ),
    _platform(
        "youtube",
        "YouTube",
        icon="youtube.svg",
        brand_color="#FF0000",
        hosts={"www.youtube.com", "youtube.com", "m.youtube.com", "youtu.be"},
        url_patterns=[
            pattern(rf"^{_YOUTUBE_HOST}/watch\?(?:[^#]*&)?v=(?P<id>[\w-]{{11}})", "video"),
            pattern(r"^youtu\.be/(?P<id>[\w-]{11})" + _END, "video"),
            pattern(rf"^{_YOUTUBE_HOST}/shorts/(?P<id>[\w-]{{11}})" + _END, "video"),
            pattern(rf"^{_YOUTUBE_HOST}/playlist\?(?:[^#]*&)?list=(?P<id>[\w-]+)", "playlist"),
            pattern(rf"^{_YOUTUBE_HOST}/channel/(?P<id>UC[\w-]{{22}})" + _END, "artist"),
            pattern(rf"^{_YOUTUBE_HOST}/(?P<id>@[\w.-]+)" + _END, "artist"),
        ],
    ),
    _platform(
        "amazon_music",
        "Amazon Music",
        icon="amazonmusic.svg",
        brand_color="#25D1DA",
        hosts={
            "music.amazon.com",
            "music.amazon.ca",
            "music.amazon.com.mx",
            "music.amazon.com.br",
            "music.amazon.co.uk",
            "music.amazon.de",
            "music.amazon.fr",
            "music.amazon.it",
            "music.amazon.es",
            "music.amazon.in",
            "music.amazon.co.jp",
            "music.amazon.com.au",
            "amazon.com",
            "www.amazon.com",
        },
        url_patterns=[
            pattern(
                r"^music\.amazon\.[a-z.]+/albums/B[0-9A-Z]{9}\?(?:[^#]*&)?trackAsin="
                r"(?P<id>B[0-9A-Z]{9})",
                "track",
            ),
            pattern(
                r"^music\.amazon\.[a-z.]+/(?P<kind>albums|tracks|artists|playlists)/"
                r"(?P<id>B[0-9A-Z]{9})" + _END
            ),
        ],
    ),
    _platform(
        "deezer",
        "Deezer",
        icon="deezer.svg",
        brand_color="#A238FF",
        hosts={"www.deezer.com", "deezer.com", "link.deezer.com", "deezer.page.link"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?deezer\.com/(?:[a-z]{2}(?:-[a-z]{2})?/)?"
                r"(?P<kind>album|track|artist|playlist)/(?P<id>\d+)" + _END
            ),
        ],
        app_link=_deezer_app_link,
    ),
    _platform(
        "tidal",
        "TIDAL",
        icon="tidal.svg",
        brand_color="#000000",
        hosts={"tidal.com", "www.tidal.com", "listen.tidal.com"},
        url_patterns=[
            pattern(
                r"^(?:listen\.|www\.)?tidal\.com/(?:browse/)?"
                r"(?P<kind>album|track|artist|video)/(?P<id>\d+)" + _END
            ),
            pattern(
                r"^(?:listen\.|www\.)?tidal\.com/(?:browse/)?playlist/"
                r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})" + _END,
                "playlist",
            ),
        ],
    ),
    _platform(
        "soundcloud",
        "SoundCloud",
        icon="soundcloud.svg",
        brand_color="#FF5500",
        hosts={"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com", "on.soundcloud.com"},
        url_patterns=[
            pattern(
                r"^(?:www\.|m\.)?soundcloud\.com/(?P<id>[\w-]+/sets/[\w-]+)" + _END, "playlist"
            ),
            pattern(
                r"^(?:www\.|m\.)?soundcloud\.com/"
                r"(?!(?:discover|search|stream|you|upload|charts|pages|settings|messages)/)"
                r"(?P<id>[\w-]+/(?!(?:tracks|albums|sets|likes|reposts|followers|following"
                r"|popular-tracks|comments)" + _END + r")[\w-]+)" + _END,
                "track",
            ),
            pattern(
                r"^(?:www\.|m\.)?soundcloud\.com/"
                r"(?!(?:discover|search|stream|you|upload|charts|pages|settings|messages)"
                + _END
                + r")(?P<id>[\w-]+)/?(?:\?|$)",
                "artist",
            ),
        ],
    ),
    _platform(
        "bandcamp",
        "Bandcamp",
        icon="bandcamp.svg",
        brand_color="#408294",
        hosts={".bandcamp.com"},
        url_patterns=[
            pattern(
                r"^(?P<id>(?!www\.|daily\.)[a-z0-9-]+\.bandcamp\.com/(?P<kind>album|track)/"
                r"[\w-]+)" + _END
            ),
            pattern(
                r"^(?!www\.|daily\.)(?P<id>[a-z0-9-]+)\.bandcamp\.com/?(?:music/?)?(?:\?|$)",
                "artist",
            ),
        ],
        call_to_action="buy",
    ),
    _platform(
        "audiomack",
        "Audiomack",
        icon="audiomack.svg",
        brand_color="#FFA200",
        hosts={"audiomack.com", "www.audiomack.com"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?audiomack\.com/(?P<id>[\w-]+/(?P<kind>album|song|playlist)/[\w-]+)"
                + _END
            ),
            pattern(
                r"^(?:www\.)?audiomack\.com/"
                r"(?!(?:search|trending-now|top-songs|top-albums|playlists|world|about)"
                + _END
                + r")(?P<id>[\w-]+)/?(?:\?|$)",
                "artist",
            ),
        ],
    ),
    _platform(
        "pandora",
        "Pandora",
        icon="pandora.svg",
        brand_color="#224099",
        hosts={"www.pandora.com", "pandora.com", "pandora.app.link"},
        url_patterns=[
            pattern(
                rf"^(?:www\.)?pandora\.com/artist/{_SLUG}/{_SLUG}/{_SLUG}/(?P<id>TR\w+)" + _END,
                "track",
            ),
            pattern(
                rf"^(?:www\.)?pandora\.com/artist/{_SLUG}/{_SLUG}/(?P<id>AL\w+)" + _END, "album"
            ),
            pattern(rf"^(?:www\.)?pandora\.com/artist/{_SLUG}/(?P<id>AR\w+)" + _END, "artist"),
            pattern(r"^(?:www\.)?pandora\.com/playlist/(?P<id>PL:[\w:]+)" + _END, "playlist"),
        ],
    ),
    _platform(
        "napster",
        "Napster",
        icon="napster.svg",
        brand_color="#2259FF",
        hosts={"napster.com", "www.napster.com", "web.napster.com", "app.napster.com"},
        url_patterns=[
            pattern(
                r"^(?:web|app)\.napster\.com/(?P<kind>album|track|artist|playlist)/"
                r"(?P<id>(?:alb|tra|art|pp|mp)\.\d+)" + _END
            ),
        ],
    ),
    _platform(
        "boomplay",
        "Boomplay",
        icon="boomplay.svg",
        brand_color="#0D47A1",
        hosts={"www.boomplay.com", "boomplay.com", "boomplay.page.link"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?boomplay\.com/(?P<kind>albums|songs|artists|playlists)/(?P<id>\d+)"
                + _END
            ),
        ],
    ),
    _platform(
        "anghami",
        "Anghami",
        icon="anghami.svg",
        brand_color="#8C1AFF",
        hosts={"anghami.com", "www.anghami.com", "play.anghami.com", "open.anghami.com"},
        url_patterns=[
            pattern(
                r"^(?:play|open)\.anghami\.com/(?P<kind>album|song|artist|playlist)/(?P<id>\d+)"
                + _END
            ),
        ],
    ),
    _platform(
        "qobuz",
        "Qobuz",
        icon="qobuz.svg",
        brand_color="#000000",
        hosts={"www.qobuz.com", "qobuz.com", "open.qobuz.com", "play.qobuz.com"},
        url_patterns=[
            pattern(
                r"^(?:open|play)\.qobuz\.com/(?P<kind>album|track|artist|playlist)/(?P<id>\w+)"
                + _END
            ),
            pattern(
                r"^(?:www\.)?qobuz\.com/(?P<country>[a-z]{2})-[a-z]{2}/(?P<kind>album|interpreter)/"
                rf"{_SLUG}/(?P<id>\w+)" + _END
            ),
        ],
    ),
    _platform(
        "beatport",
        "Beatport",
        icon="beatport.svg",
        brand_color="#01FF95",
        hosts={"www.beatport.com", "beatport.com"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?beatport\.com/(?:[a-z]{2}/)?(?P<kind>release|track|artist|chart)/"
                rf"{_SLUG}/(?P<id>\d+)" + _END
            ),
        ],
        call_to_action="buy",
    ),
    _platform(
        "itunes_store",
        "iTunes Store",
        icon="itunes.svg",
        brand_color="#FB5BC5",
        hosts={"itunes.apple.com"},
        url_patterns=[
            pattern(
                rf"^itunes\.apple\.com/{_APPLE_COUNTRY}/album/(?:{_SLUG}/)?id\d+"
                r"\?(?:[^#]*&)?i=(?P<id>\d+)",
                "track",
            ),
            pattern(
                rf"^itunes\.apple\.com/{_APPLE_COUNTRY}/(?P<kind>album|artist|music-video)/"
                rf"(?:{_SLUG}/)?id(?P<id>\d+)" + _END
            ),
        ],
        app_link=_with_scheme("itms"),
        call_to_action="buy",
    ),
    _platform(
        "audius",
        "Audius",
        icon="audius.svg",
        brand_color="#CC0FE0",
        hosts={"audius.co", "www.audius.co"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?audius\.co/(?P<id>[\w.-]+/(?P<kind>album|playlist)/[\w-]+)" + _END
            ),
            pattern(
                r"^(?:www\.)?audius\.co/(?!(?:trending|explore|search|feed|library|signin|signup)/)"
                r"(?P<id>[\w.-]+/[\w-]+)" + _END,
                "track",
            ),
            pattern(
                r"^(?:www\.)?audius\.co/(?!(?:trending|explore|search|feed|library|signin|signup)"
                + _END
                + r")(?P<id>[\w.-]+)/?(?:\?|$)",
                "artist",
            ),
        ],
    ),
    _platform(
        "yandex_music",
        "Yandex Music",
        icon="yandexmusic.svg",
        brand_color="#FFCC00",
        hosts={"music.yandex.ru", "music.yandex.com", "music.yandex.by", "music.yandex.kz"},
        url_patterns=[
            pattern(r"^music\.yandex\.[a-z]+/album/\d+/track/(?P<id>\d+)" + _END, "track"),
            pattern(r"^music\.yandex\.[a-z]+/(?P<kind>album|track|artist)/(?P<id>\d+)" + _END),
            pattern(
                r"^music\.yandex\.[a-z]+/users/(?P<id>[\w.-]+/playlists/\d+)" + _END, "playlist"
            ),
        ],
    ),
    _platform(
        "kkbox",
        "KKBOX",
        icon="kkbox.svg",
        brand_color="#09CEF6",
        hosts={"www.kkbox.com", "kkbox.com", "play.kkbox.com"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?kkbox\.com/(?P<country>[a-z]{2})/[a-z]{2}/"
                r"(?P<kind>album|song|artist|playlist)/(?P<id>[\w-]+)" + _END
            ),
        ],
    ),
    _platform(
        "line_music",
        "LINE MUSIC",
        icon="linemusic.svg",
        brand_color="#06C755",
        hosts={"music.line.me"},
        url_patterns=[
            pattern(
                r"^music\.line\.me/webapp/(?P<kind>album|track|artist|playlist)/(?P<id>[\w-]+)"
                + _END
            ),
        ],
    ),
    _platform(
        "jiosaavn",
        "JioSaavn",
        icon="jiosaavn.svg",
        brand_color="#2BC5B4",
        hosts={"www.jiosaavn.com", "jiosaavn.com"},
        url_patterns=[
            pattern(
                r"^(?:www\.)?jiosaavn\.com/(?P<kind>album|song|artist|featured)/"
                rf"{_SLUG}/(?P<id>[\w-]+)" + _END
            ),
        ],
    ),
)
