import json
import re
from html.parser import HTMLParser
from urllib.robotparser import RobotFileParser

from launchlink.app import ROBOTS_TXT
from launchlink.links.snapshot import TrackView
from tests.links.test_public_support import (
    BASE_URL,
    DESKTOP,
    IPHONE,
    client,
    make_harness,
    make_snapshot,
)

TWENTY_SERVICES = (
    "spotify", "apple_music", "youtube_music", "youtube", "amazon_music", "deezer", "tidal",
    "soundcloud", "bandcamp", "audiomack", "pandora", "boomplay", "anghami", "qobuz",
    "beatport", "itunes_store", "napster", "audius", "kkbox", "jiosaavn",
)  # fmt: skip


class PageStructure(HTMLParser):
    """Collects the parts of the page the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.html_lang: str | None = None
        self.links: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.script_bodies: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.images: list[dict[str, str | None]] = []
        self.landmarks: list[str] = []
        self.times: list[str | None] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        elif tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
        elif tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        elif tag == "meta":
            key = attributes.get("property") or attributes.get("name")
            if key:
                self.meta[key] = attributes.get("content") or ""
        elif tag == "link" and attributes.get("rel") == "canonical":
            self.canonical = attributes.get("href")
        elif tag == "img":
            self.images.append(attributes)
        elif tag in ("main", "nav", "footer", "header"):
            self.landmarks.append(tag)
        elif tag == "time":
            self.times.append(attributes.get("datetime"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies.append(data)


def parse(html: str) -> PageStructure:
    structure = PageStructure()
    structure.feed(html)
    return structure


async def test_the_page_is_plain_html_with_real_service_links() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = parse(response.text)
    assert page.links == [
        "/night-drive/spotify",
        "/night-drive/apple_music",
        "/night-drive/youtube_music",
        "/night-drive/deezer",
        "/night-drive/tidal",
        "/night-drive/bandcamp",
    ]
    assert "Spotify" in response.text
    assert "Apple Music" in response.text


async def test_the_page_needs_no_javascript_and_forbids_it() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive")
    page = parse(response.text)
    assert [script.get("type") for script in page.scripts] == ["application/ld+json"]
    assert re.search(r"<[^>]+\son[a-z]+\s*=", response.text) is None  # no inline handlers
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_auditors_may_read_robots_txt_from_inside_the_page_and_may_crawl_it() -> None:
    """Lighthouse fetches /robots.txt from the page, under its CSP (SEO scored 92 while
    ``default-src 'none'`` refused that); robots.txt must not keep crawlers off the link."""
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive")
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    rules = RobotFileParser()
    rules.parse(ROBOTS_TXT.splitlines())
    assert rules.can_fetch("Googlebot", "https://links.example.test/night-drive")


async def test_open_graph_and_twitter_cards_describe_the_release() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        page = parse((await fan.get("/night-drive")).text)
    assert page.meta["og:type"] == "music.album"
    assert page.meta["og:title"] == "Night Drive – Ada Lumen and The Bytes"
    assert page.meta["og:url"] == f"{BASE_URL}/night-drive"
    assert page.meta["og:image"] == f"{BASE_URL}/static/artwork/night-drive.jpg"
    assert page.meta["og:description"] == "Listen to Night Drive by Ada Lumen and The Bytes."
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.meta["twitter:image"] == page.meta["og:image"]
    assert page.canonical == f"{BASE_URL}/night-drive"


async def test_json_ld_describes_an_album_with_its_tracks() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        page = parse((await fan.get("/night-drive")).text)
    data = json.loads(page.script_bodies[0])
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "MusicAlbum"
    assert data["name"] == "Night Drive"
    assert data["byArtist"] == [
        {"@type": "MusicGroup", "name": "Ada Lumen"},
        {"@type": "MusicGroup", "name": "The Bytes"},
    ]
    assert data["datePublished"] == "2027-01-14"  # midnight UTC is the 14th in New York
    assert data["image"] == f"{BASE_URL}/static/artwork/night-drive.jpg"
    assert data["track"] == [
        {"@type": "MusicRecording", "name": "Night Drive", "isrcCode": "GBAYE2400001",
         "duration": "PT3M35S"},
        {"@type": "MusicRecording", "name": "Neon Rain", "isrcCode": "GBAYE2400002",
         "duration": "PT1H2M5S"},
    ]  # fmt: skip


async def test_json_ld_describes_a_single_as_a_recording() -> None:
    single = make_snapshot(
        release_type="single", tracks=(TrackView("Night Drive", "GBAYE2400001", 180_000),)
    )
    harness = make_harness(single)
    async with client(harness) as fan:
        page = parse((await fan.get("/night-drive")).text)
    data = json.loads(page.script_bodies[0])
    assert data["@type"] == "MusicRecording"
    assert data["isrcCode"] == "GBAYE2400001"
    assert data["duration"] == "PT3M"
    assert page.meta["og:type"] == "music.song"


async def test_titles_cannot_break_out_of_the_markup() -> None:
    hostile = make_snapshot(
        title='</script><script>alert(1)</script> "Night"', artists=("<b>A</b>",)
    )
    harness = make_harness(hostile)
    async with client(harness) as fan:
        response = await fan.get("/night-drive")
    page = parse(response.text)
    assert [script.get("type") for script in page.scripts] == ["application/ld+json"]
    assert json.loads(page.script_bodies[0])["name"] == hostile.release_title
    assert "<b>A</b>" not in response.text
    assert page.meta["og:title"].startswith('</script><script>alert(1)</script> "Night"')


async def test_page_with_twenty_destinations_stays_under_50_kb() -> None:
    harness = make_harness(make_snapshot(services=TWENTY_SERVICES))
    async with client(harness) as fan:
        response = await fan.get("/night-drive")
    assert len(parse(response.text).links) == 20
    assert response.text.count("<svg") == 20
    assert len(response.content) < 50_000


async def test_page_is_accessible_by_construction() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive")
    page = parse(response.text)
    assert page.html_lang == "en"
    assert {"main", "nav"} <= set(page.landmarks)
    assert page.images[0]["alt"] == "Cover art of Night Drive by Ada Lumen and The Bytes"
    assert ":focus-visible" in response.text
    assert "prefers-reduced-motion" in response.text
    assert 'aria-hidden="true"' in response.text  # icons are decoration; the text names the service


async def test_page_is_in_the_visitors_language_but_titles_are_not_translated() -> None:
    harness = make_harness(make_snapshot(title="Listen on", artists=("Play",)))
    async with client(harness, accept_language="de-AT,de;q=0.9,en;q=0.5") as fan:
        response = await fan.get("/night-drive")
    page = parse(response.text)
    assert page.html_lang == "de"
    assert '<h2 id="services-title">Anhören auf</h2>' in response.text
    assert "<h1>Listen on</h1>" in response.text
    assert '<p class="artists">Play</p>' in response.text
    assert response.headers["content-language"] == "de"


async def test_devices_reorder_the_buttons() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=IPHONE) as fan:
        page = parse((await fan.get("/night-drive")).text)
    assert page.links[0] == "/night-drive/apple_music"


async def test_the_remembered_service_is_listed_first_with_an_always_option() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=IPHONE, cookie="ll_last=deezer") as fan:
        page = parse((await fan.get("/night-drive")).text)
    assert page.links[:2] == ["/night-drive/deezer", "/night-drive/apple_music"]
    assert "/night-drive/deezer?always=1" in page.links


async def test_a_second_request_is_served_from_the_page_cache() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        first = await fan.get("/night-drive")
        assert len(harness.cache) == 1
        second = await fan.get("/night-drive")
    assert len(harness.cache) == 1
    assert first.content == second.content


async def test_a_new_link_version_is_rendered_afresh() -> None:
    harness = make_harness(make_snapshot(title="Night Drive"))
    async with client(harness) as fan:
        await fan.get("/night-drive")
        harness.source.add(make_snapshot(title="Night Drive (Deluxe)", version=2))
        response = await fan.get("/night-drive")
    assert "<h1>Night Drive (Deluxe)</h1>" in response.text


async def test_head_returns_the_same_headers_without_a_body() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        get = await fan.get("/night-drive")
        head = await fan.head("/night-drive")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers == get.headers


async def test_a_desktop_visitor_keeps_the_configured_order() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=DESKTOP) as fan:
        page = parse((await fan.get("/night-drive")).text)
    assert page.links[0] == "/night-drive/spotify"
