"""The shared catalogue every imitated service answers from.

One :class:`Album` carries everything each service needs: its UPC, tracks with ISRCs,
an availability instant per country (plus a default), and a stable id per service.
Ids are derived from the album/track/artist key with a hash, so the same catalogue
always yields the same ids (the demo seed and the simulator agree without talking).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from launchlink.kit.clock import ensure_aware

SERVICES: tuple[str, ...] = ("spotify", "apple", "deezer", "tidal", "soundcloud", "youtube")

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_YT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest(), "big")


def _encode(number: int, alphabet: str, length: int) -> str:
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _numeric(number: int, digits: int) -> str:
    # Leading digit never zero: real numeric ids do not start with 0.
    return str(10 ** (digits - 1) + number % (9 * 10 ** (digits - 1)))


def make_id(service: str, kind: str, key: str) -> str:
    """A stable, realistic-looking id for ``key`` on ``service``."""
    number = _digest(service, kind, key)
    if service == "spotify":
        return _encode(number, _BASE62, 22)
    if service == "youtube":
        if kind == "album":
            return "OLAK5uy_" + _encode(number, _YT_ALPHABET, 33)
        if kind == "artist":
            return "UC" + _encode(number, _YT_ALPHABET, 22)
        return _encode(number, _YT_ALPHABET, 11)
    digits = {
        "apple": {"album": 10, "track": 10, "artist": 9},
        "deezer": {"album": 9, "track": 10, "artist": 7},
        "tidal": {"album": 9, "track": 9, "artist": 8},
        "soundcloud": {"album": 10, "track": 10, "artist": 9},
    }[service][kind]
    return _numeric(number, digits)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def upc_check_digit(first_eleven: str) -> str:
    """The UPC-A check digit for an 11-digit body."""
    digits = [int(c) for c in first_eleven]
    total = sum(digits[0::2]) * 3 + sum(digits[1::2])
    return str((10 - total % 10) % 10)


def is_valid_upc(code: str) -> bool:
    """UPC-A (12) or EAN-13: mod-10 check over the code read right to left."""
    if not code.isdigit() or len(code) not in (12, 13, 14):
        return False
    digits = [int(c) for c in reversed(code)]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return total % 10 == 0


ISRC_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")


@dataclass(slots=True)
class Artist:
    key: str
    name: str
    ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in SERVICES:
            self.ids.setdefault(service, make_id(service, "artist", self.key))

    @property
    def soundcloud_permalink(self) -> str:
        return slugify(self.name)


@dataclass(slots=True)
class Track:
    key: str
    title: str
    isrc: str
    duration_ms: int
    track_number: int
    artist_keys: tuple[str, ...]
    explicit: bool = False
    disc_number: int = 1
    ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in SERVICES:
            self.ids.setdefault(service, make_id(service, "track", self.key))


@dataclass(slots=True)
class Album:
    """A release. ``available_from`` is the default instant; ``availability`` overrides
    it per ISO country code (``None`` there means "never in that country")."""

    key: str
    title: str
    artist_keys: tuple[str, ...]
    upc: str
    release_date: date
    available_from: datetime
    tracks: list[Track]
    album_type: str = "album"  # album | single | ep | compilation
    label: str = "Independent"
    availability: dict[str, datetime | None] = field(default_factory=dict)
    services: frozenset[str] = frozenset(SERVICES)
    apple_preorder: bool = False
    extra_links: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.available_from = ensure_aware(self.available_from)
        self.availability = {
            country.upper(): (ensure_aware(at) if at is not None else None)
            for country, at in self.availability.items()
        }
        for service in SERVICES:
            self.ids.setdefault(service, make_id(service, "album", self.key))

    def available_at(self, country: str | None) -> datetime | None:
        if country is None:
            return self.available_from
        return self.availability.get(country.upper(), self.available_from)

    def is_available(self, country: str | None, now: datetime) -> bool:
        at = self.available_at(country)
        return at is not None and at <= now

    @property
    def duration_ms(self) -> int:
        return sum(track.duration_ms for track in self.tracks)


@dataclass(slots=True)
class Catalog:
    """Artists and albums with lookup indexes per service id, UPC and ISRC."""

    artists: dict[str, Artist] = field(default_factory=dict)
    albums: dict[str, Album] = field(default_factory=dict)
    _album_by_id: dict[tuple[str, str], Album] = field(default_factory=dict)
    _track_by_id: dict[tuple[str, str], tuple[Track, Album]] = field(default_factory=dict)
    _artist_by_id: dict[tuple[str, str], Artist] = field(default_factory=dict)
    _albums_by_upc: dict[str, list[Album]] = field(default_factory=dict)
    _tracks_by_isrc: dict[str, list[tuple[Track, Album]]] = field(default_factory=dict)

    def add_artist(self, artist: Artist) -> Artist:
        self.artists[artist.key] = artist
        for service, service_id in artist.ids.items():
            self._artist_by_id[(service, service_id)] = artist
        return artist

    def upsert_album(self, album: Album) -> Album:
        missing = [key for key in album.artist_keys if key not in self.artists]
        missing += [k for t in album.tracks for k in t.artist_keys if k not in self.artists]
        if missing:
            raise KeyError(f"unknown artist keys: {sorted(set(missing))}")
        if album.key in self.albums:
            self._unindex(self.albums[album.key])
        self.albums[album.key] = album
        for service, service_id in album.ids.items():
            self._album_by_id[(service, service_id)] = album
        self._albums_by_upc.setdefault(album.upc, []).append(album)
        for track in album.tracks:
            for service, service_id in track.ids.items():
                self._track_by_id[(service, service_id)] = (track, album)
            self._tracks_by_isrc.setdefault(track.isrc, []).append((track, album))
        return album

    def _unindex(self, album: Album) -> None:
        for service, service_id in album.ids.items():
            self._album_by_id.pop((service, service_id), None)
        self._albums_by_upc[album.upc] = [
            a for a in self._albums_by_upc.get(album.upc, []) if a.key != album.key
        ]
        for track in album.tracks:
            for service, service_id in track.ids.items():
                self._track_by_id.pop((service, service_id), None)
            self._tracks_by_isrc[track.isrc] = [
                pair for pair in self._tracks_by_isrc.get(track.isrc, []) if pair[1] is not album
            ]

    def album_by_id(self, service: str, service_id: str) -> Album | None:
        album = self._album_by_id.get((service, service_id))
        return album if album is not None and service in album.services else None

    def track_by_id(self, service: str, service_id: str) -> tuple[Track, Album] | None:
        found = self._track_by_id.get((service, service_id))
        return found if found is not None and service in found[1].services else None

    def artist_by_id(self, service: str, service_id: str) -> Artist | None:
        return self._artist_by_id.get((service, service_id))

    def albums_by_upc(
        self, service: str, upc: str, *, normalize_leading_zeros: bool = False
    ) -> list[Album]:
        if normalize_leading_zeros:
            wanted = upc.lstrip("0")
            found = [a for a in self.albums.values() if a.upc.lstrip("0") == wanted]
        else:
            found = self._albums_by_upc.get(upc, [])
        return [album for album in found if service in album.services]

    def tracks_by_isrc(self, service: str, isrc: str) -> list[tuple[Track, Album]]:
        return [
            pair
            for pair in self._tracks_by_isrc.get(isrc.upper(), [])
            if service in pair[1].services
        ]

    def artist_names(self, keys: tuple[str, ...]) -> str:
        return ", ".join(self.artists[key].name for key in keys)

    def search_albums(self, service: str, text: str) -> list[Album]:
        """Albums whose title or artist names contain every word of ``text``."""
        words = [w for w in re.split(r"\s+", text.lower()) if w]
        hits = []
        for album in self.albums.values():
            if service not in album.services:
                continue
            haystack = f"{album.title} {self.artist_names(album.artist_keys)}".lower()
            if all(word in haystack for word in words):
                hits.append(album)
        return hits

    def search_tracks(self, service: str, text: str) -> list[tuple[Track, Album]]:
        words = [w for w in re.split(r"\s+", text.lower()) if w]
        hits = []
        for album in self.albums.values():
            if service not in album.services:
                continue
            for track in album.tracks:
                haystack = f"{track.title} {album.title} {self.artist_names(track.artist_keys)}"
                if all(word in haystack.lower() for word in words):
                    hits.append((track, album))
        return hits

    def search_artists(self, text: str) -> list[Artist]:
        lowered = text.lower().strip()
        return [a for a in self.artists.values() if lowered and lowered in a.name.lower()]


def service_album_url(catalog: Catalog, album: Album, service: str) -> str:
    """The public web URL of ``album`` on ``service`` (what a smart link points at)."""
    album_id = album.ids[service]
    if service == "spotify":
        return f"https://open.spotify.com/album/{album_id}"
    if service == "apple":
        return f"https://music.apple.com/us/album/{slugify(album.title)}/{album_id}"
    if service == "deezer":
        return f"https://www.deezer.com/album/{album_id}"
    if service == "tidal":
        return f"https://tidal.com/album/{album_id}"
    if service == "youtube":
        return f"https://music.youtube.com/playlist?list={album_id}"
    if service == "soundcloud":
        artist = catalog.artists[album.artist_keys[0]]
        return f"https://soundcloud.com/{artist.soundcloud_permalink}/sets/{slugify(album.title)}"
    raise ValueError(f"unknown service {service!r}")


def service_track_url(catalog: Catalog, track: Track, album: Album, service: str) -> str:
    track_id = track.ids[service]
    if service == "spotify":
        return f"https://open.spotify.com/track/{track_id}"
    if service == "apple":
        return (
            f"https://music.apple.com/us/album/{slugify(album.title)}/{album.ids['apple']}"
            f"?i={track_id}"
        )
    if service == "deezer":
        return f"https://www.deezer.com/track/{track_id}"
    if service == "tidal":
        return f"https://tidal.com/track/{track_id}"
    if service == "youtube":
        return f"https://music.youtube.com/watch?v={track_id}"
    if service == "soundcloud":
        artist = catalog.artists[track.artist_keys[0]]
        return f"https://soundcloud.com/{artist.soundcloud_permalink}/{slugify(track.title)}"
    raise ValueError(f"unknown service {service!r}")
