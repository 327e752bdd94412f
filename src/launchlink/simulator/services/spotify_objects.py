"""Spotify Web API object shapes (per the OpenAPI document), built from the catalogue.

``dev`` drops the fields Spotify stopped sending to Development-Mode apps in Feb 2026
(album ``label``/``popularity``/``available_markets``, track ``popularity``/markets,
artist ``followers``/``genres``/``popularity``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from launchlink.simulator.catalog import Album, Artist, Catalog, Track

# Markets the simulator knows; ``available_markets`` lists those open at request time.
MARKETS: tuple[str, ...] = (
    "US", "CA", "MX", "BR", "AR", "GB", "IE", "FR", "DE", "ES", "IT", "NL", "SE", "NO",
    "DK", "FI", "PL", "PT", "JP", "KR", "AU", "NZ", "ZA", "IN",
)  # fmt: skip

ALBUM_TYPES = {"album": "album", "single": "single", "ep": "single", "compilation": "compilation"}


def image(key: str, size: int = 640) -> dict[str, Any]:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return {
        "url": f"https://i.scdn.co/image/ab67616d0000b273{digest}",
        "height": size,
        "width": size,
    }


def markets_open(album: Album, now: datetime) -> list[str]:
    return [m for m in MARKETS if album.is_available(m, now)]


def artist_simple(artist: Artist, base: str) -> dict[str, Any]:
    artist_id = artist.ids["spotify"]
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "href": f"{base}/artists/{artist_id}",
        "id": artist_id,
        "name": artist.name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def artist_full(artist: Artist, base: str, *, dev: bool) -> dict[str, Any]:
    body = artist_simple(artist, base)
    body["images"] = [image(artist.key)]
    if not dev:
        body["followers"] = {"href": None, "total": 1000}
        body["genres"] = []
        body["popularity"] = 42
    return body


def album_simple(
    catalog: Catalog, album: Album, base: str, *, dev: bool, now: datetime
) -> dict[str, Any]:
    album_id = album.ids["spotify"]
    body: dict[str, Any] = {
        "album_type": ALBUM_TYPES.get(album.album_type, "album"),
        "total_tracks": len(album.tracks),
        "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
        "href": f"{base}/albums/{album_id}",
        "id": album_id,
        "images": [image(album.key), image(album.key, 300), image(album.key, 64)],
        "name": album.title,
        "release_date": album.release_date.isoformat(),
        "release_date_precision": "day",
        "type": "album",
        "uri": f"spotify:album:{album_id}",
        "artists": [artist_simple(catalog.artists[k], base) for k in album.artist_keys],
    }
    if not dev:
        body["available_markets"] = markets_open(album, now)
    return body


def track_simple(
    catalog: Catalog, track: Track, album: Album, base: str, *, dev: bool, now: datetime
) -> dict[str, Any]:
    track_id = track.ids["spotify"]
    body: dict[str, Any] = {
        "artists": [artist_simple(catalog.artists[k], base) for k in track.artist_keys],
        "disc_number": track.disc_number,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "href": f"{base}/tracks/{track_id}",
        "id": track_id,
        "is_local": False,
        "name": track.title,
        "track_number": track.track_number,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
    }
    if not dev:
        body["available_markets"] = markets_open(album, now)
    return body


def track_full(
    catalog: Catalog, track: Track, album: Album, base: str, *, dev: bool, now: datetime
) -> dict[str, Any]:
    body = track_simple(catalog, track, album, base, dev=dev, now=now)
    body["album"] = album_simple(catalog, album, base, dev=dev, now=now)
    body["external_ids"] = {"isrc": track.isrc}
    if not dev:
        body["popularity"] = 30
    return body


def paging(items: list[Any], *, href: str, limit: int, offset: int, total: int) -> dict[str, Any]:
    def page(at: int) -> str:
        joiner = "&" if "?" in href else "?"
        return f"{href}{joiner}offset={at}&limit={limit}"

    return {
        "href": page(offset),
        "items": items,
        "limit": limit,
        "next": page(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": page(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def album_full(
    catalog: Catalog, album: Album, base: str, *, dev: bool, now: datetime
) -> dict[str, Any]:
    body = album_simple(catalog, album, base, dev=dev, now=now)
    tracks = [track_simple(catalog, t, album, base, dev=dev, now=now) for t in album.tracks[:50]]
    body["tracks"] = paging(
        tracks,
        href=f"{base}/albums/{album.ids['spotify']}/tracks",
        limit=50,
        offset=0,
        total=len(album.tracks),
    )
    body["copyrights"] = [
        {"text": f"(C) {album.release_date.year} {album.label}", "type": "C"},
        {"text": f"(P) {album.release_date.year} {album.label}", "type": "P"},
    ]
    body["external_ids"] = {"upc": album.upc}
    body["genres"] = []
    if not dev:
        body["label"] = album.label
        body["popularity"] = 50
    return body
