"""Where a fan can follow a release's artists: their profile page on each service whose
artist id we hold (auto-fill stores them with the artists, for follows)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from launchlink.links.snapshot import ArtistPage

ARTIST_PAGES: Mapping[str, str] = {
    "spotify": "https://open.spotify.com/artist/{id}",
    "apple_music": "https://music.apple.com/artist/{id}",
    "deezer": "https://www.deezer.com/artist/{id}",
    "tidal": "https://tidal.com/browse/artist/{id}",
    "youtube_music": "https://music.youtube.com/channel/{id}",
    "soundcloud": "https://soundcloud.com/{id}",
}
# Ids go into a URL path: anything else than these characters is not an id we stored.
_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def artist_pages(artists: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[ArtistPage, ...]:
    """(name, service ids) per artist → their profile pages, in credit then service order."""
    pages: list[ArtistPage] = []
    for name, service_ids in artists:
        for service, template in ARTIST_PAGES.items():
            found = service_ids.get(service)
            if isinstance(found, str) and _ID.fullmatch(found):
                pages.append(ArtistPage(name=name, service=service, url=template.format(id=found)))
    return tuple(pages)
