"""No request, however crafted, can make the hot path redirect anywhere but to one of the
link's own registered destinations (or back to the link's own page after ?forget=1)."""

import asyncio
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.links.test_public_support import (
    ANDROID,
    DESKTOP,
    IPHONE,
    PREVIEW_BOTS,
    destination_url,
    make_harness,
    make_snapshot,
)

OVERRIDES = {
    "spotify": {"DE": destination_url("spotify", "DE"), "US": destination_url("spotify", "US")}
}
PLATFORM_LINK = make_snapshot(slug="night-drive", country_overrides=OVERRIDES)
DOMAIN_LINK = make_snapshot(
    slug="neon-rain", host="music.adalumen.test", services=("deezer", "tidal")
)
REGISTERED = {
    url
    for snapshot in (PLATFORM_LINK, DOMAIN_LINK)
    for destination in snapshot.destinations
    for url in (destination.url, *destination.country_urls.values())
}
OWN_PAGES = {"/night-drive", "/neon-rain"}

known_segment = st.sampled_from(
    ["night-drive", "neon-rain", "spotify", "deezer", "tidal", "apple_music", "evil", "..", ""]
)
any_segment = st.one_of(known_segment, st.text(max_size=30))
paths = st.one_of(
    st.sampled_from(
        ["/night-drive/spotify", "/night-drive/deezer", "/neon-rain/tidal", "/night-drive", "/"]
    ),
    st.lists(any_segment, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts)),
)
hosts = st.sampled_from(["links.test", "music.adalumen.test", "LINKS.test:443", "evil.example"])
query_pairs = st.lists(
    st.tuples(
        st.sampled_from(
            ["always", "choose", "forget", "url", "next", "redirect", "to", "service", "u"]
        ),
        st.one_of(
            st.sampled_from(["1", "https://evil.example/", "//evil.example", "spotify"]),
            st.text(max_size=20),
        ),
    ),
    max_size=4,
)
header_values = st.one_of(
    st.sampled_from(
        [
            "https://evil.example/",
            "evil.example",
            "music.adalumen.test",
            "links.test",
            "ll_always=evil; ll_last=https://evil.example",
            "ll_always=deezer",
            "ll_always=spotify; ll_last=tidal",
            "DE",
            "US",
            DESKTOP,
            IPHONE,
            ANDROID,
            PREVIEW_BOTS["facebook"],
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
)
headers = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "host",
                "cookie",
                "referer",
                "user-agent",
                "accept-language",
                "cf-ipcountry",
                "x-forwarded-host",
                "location",
                "x-original-url",
            ]
        ),
        header_values,
    ),
    max_size=6,
)


async def call(app: Any, scope: dict[str, Any]) -> tuple[int, dict[str, list[bytes]]]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    collected: dict[str, list[bytes]] = {}
    for name, value in start["headers"]:
        collected.setdefault(name.decode("latin-1").lower(), []).append(value)
    return start["status"], collected


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "GET", "GET", "HEAD", "POST"]),
    path=paths,
    query=query_pairs,
    host=hosts,
    request_headers=headers,
)
def test_location_is_always_a_registered_destination_or_absent(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    host: str,
    request_headers: list[tuple[str, str]],
) -> None:
    harness = make_harness(PLATFORM_LINK)
    harness.source.add(DOMAIN_LINK, domain_root=True)
    query_string = "&".join(f"{name}={value}" for name, value in query)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": query_string.encode("utf-8", "surrogatepass"),
        # A human browser by default (bots never get redirects); the drawn headers come
        # after it and may replace any of these.
        "headers": [
            (b"host", host.encode("latin-1")),
            (b"user-agent", IPHONE.encode("latin-1")),
            *((name.encode("latin-1"), value.encode("latin-1")) for name, value in request_headers),
        ],
        "client": ("203.0.113.7", 50000),
        "server": ("links.test", 443),
    }
    status, response_headers = asyncio.run(call(harness.app, scope))
    assert status != 500
    locations = response_headers.get("location", [])
    assert len(locations) <= 1
    event(f"status {status}")
    if 300 <= status < 400:
        [location] = locations
        assert location.decode("ascii") in REGISTERED | OWN_PAGES
    else:
        assert locations == []
    for click in harness.clicks:
        assert click.service in {
            "spotify",
            "apple_music",
            "youtube_music",
            "deezer",
            "tidal",
            "bandcamp",
        }
