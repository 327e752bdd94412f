"""The demo world: a catalogue, apps and an Apple key shared by ``launchlink demo`` and
the simulator, so the seeded database and the imitated services agree.

- ``DEMO_ALBUM``: "Midnight Cartography" by Nova Reyes, 10 tracks, out 2026-03-06
  everywhere, on every service (plus link-only URLs for Amazon Music, Pandora, ...).
- ``DEMO_SINGLE``: "Lantern Light" by The Paper Lanterns feat. Nova Reyes, one track,
  out at ``upcoming_release_at``.
- ``DEMO_PREORDER_EP``: "Tidewater" EP by The Paper Lanterns with an Apple pre-order,
  out ``PREORDER_EP_DELAY`` after ``upcoming_release_at``.
- Five more artists with one album each, so lookups have something to miss.

Service ids are derived from the release keys (see :func:`catalog.make_id`), so the
constants here are valid whatever ``upcoming_release_at`` is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launchlink.kit.clock import Clock
from launchlink.simulator.catalog import (
    SERVICES,
    Album,
    Artist,
    Catalog,
    Track,
    service_album_url,
    service_track_url,
    upc_check_digit,
)
from launchlink.simulator.state import SimulatorState

DEMO_ALBUM_RELEASED_AT = datetime(2026, 3, 6, tzinfo=UTC)
PREORDER_EP_DELAY = timedelta(days=28)

NOVA = Artist(key="nova-reyes", name="Nova Reyes")
LANTERNS = Artist(key="the-paper-lanterns", name="The Paper Lanterns")
_OTHER_ARTISTS = [
    Artist(key="harbor-static", name="Harbor Static"),
    Artist(key="juniper-vale", name="Juniper Vale"),
    Artist(key="the-quiet-atlas", name="The Quiet Atlas"),
    Artist(key="mira-solenne", name="Mira Solenne"),
    Artist(key="copper-lines", name="Copper Lines"),
]

MIDNIGHT_TRACKS = [
    ("Compass Rose", 214_000),
    ("Latitude of Longing", 198_500),
    ("Paper Streets", 231_250),
    ("The Cartographer", 245_000),
    ("Night Ferry", 187_750),
    ("Contour Lines", 203_100),
    ("Terra Incognita", 262_400),
    ("Lighthouse Keeper", 219_900),
    ("Small Hours", 176_300),
    ("Here Be Dragons", 288_600),
]
LINK_ONLY = {
    "amazonMusic": "https://music.amazon.com/albums/B0DMIDNIGHT",
    "pandora": "https://www.pandora.com/artist/nova-reyes/midnight-cartography/ALmidnight",
    "napster": "https://web.napster.com/album/alb.9900001",
    "audiomack": "https://audiomack.com/nova-reyes/album/midnight-cartography",
    "boomplay": "https://www.boomplay.com/albums/99000001",
    "anghami": "https://play.anghami.com/album/99000001",
}


def _upc(body: str) -> str:
    return body + upc_check_digit(body)


def _isrc(registrant: str, number: int) -> str:
    return f"QZ{registrant}26{number:05d}"


@dataclass(frozen=True, slots=True)
class DemoTrack:
    title: str
    isrc: str
    duration_ms: int
    service_ids: dict[str, str]
    service_urls: dict[str, str]


@dataclass(frozen=True, slots=True)
class DemoRelease:
    """What the demo seed needs to describe a release and its destinations."""

    key: str
    title: str
    artist_names: tuple[str, ...]
    upc: str
    release_date: date
    album_type: str
    tracks: tuple[DemoTrack, ...]
    service_ids: dict[str, str]
    service_urls: dict[str, str]  # service -> public URL, incl. link-only services
    apple_preorder: bool


def _albums(upcoming_release_at: datetime) -> list[Album]:
    midnight = Album(
        key="midnight-cartography",
        title="Midnight Cartography",
        artist_keys=(NOVA.key,),
        upc=_upc("19029812345"),
        release_date=date(2026, 3, 6),
        available_from=DEMO_ALBUM_RELEASED_AT,
        tracks=[
            Track(f"midnight-cartography-{n}", title, _isrc("NRY", n), ms, n, (NOVA.key,))
            for n, (title, ms) in enumerate(MIDNIGHT_TRACKS, start=1)
        ],
        label="Lantern House Records",
        extra_links=dict(LINK_ONLY),
    )
    single = Album(
        key="lantern-light",
        title="Lantern Light",
        artist_keys=(LANTERNS.key, NOVA.key),
        upc=_upc("19029812346"),
        release_date=upcoming_release_at.date(),
        available_from=upcoming_release_at,
        tracks=[
            Track(
                "lantern-light-1",
                "Lantern Light (feat. Nova Reyes)",
                _isrc("PLN", 1),
                201_000,
                1,
                (LANTERNS.key, NOVA.key),
            )
        ],
        album_type="single",
        label="Lantern House Records",
    )
    ep_at = upcoming_release_at + PREORDER_EP_DELAY
    ep = Album(
        key="tidewater-ep",
        title="Tidewater",
        artist_keys=(LANTERNS.key,),
        upc=_upc("19029812347"),
        release_date=ep_at.date(),
        available_from=ep_at,
        tracks=[
            Track(f"tidewater-ep-{n}", title, _isrc("PLN", 10 + n), ms, n, (LANTERNS.key,))
            for n, (title, ms) in enumerate(
                [
                    ("Tidewater", 205_000),
                    ("Salt & Signal", 189_000),
                    ("Undertow", 222_000),
                    ("Ebb", 174_000),
                ],
                start=1,
            )
        ],
        album_type="ep",
        label="Lantern House Records",
        apple_preorder=True,
    )
    others = [
        Album(
            key=f"{artist.key}-debut",
            title=title,
            artist_keys=(artist.key,),
            upc=_upc(f"1902981240{index}"),
            release_date=date(2025, 1 + index, 10),
            available_from=datetime(2025, 1 + index, 10, tzinfo=UTC),
            tracks=[
                Track(
                    f"{artist.key}-debut-{n}",
                    f"{title} Part {n}",
                    _isrc("OTH", index * 10 + n),
                    180_000 + n * 7_000,
                    n,
                    (artist.key,),
                )
                for n in range(1, 4)
            ],
        )
        for index, (artist, title) in enumerate(
            zip(
                _OTHER_ARTISTS,
                [
                    "Signal Fires",
                    "Green Hours",
                    "Maps Without Edges",
                    "Glass Orchard",
                    "Wire & Bloom",
                ],
                strict=True,
            )
        )
    ]
    return [midnight, single, ep, *others]


def demo_catalog(*, upcoming_release_at: datetime) -> Catalog:
    """The demo catalogue with the single (and, 28 days later, the EP) at the given instant."""
    catalog = Catalog()
    for artist in (NOVA, LANTERNS, *_OTHER_ARTISTS):
        catalog.add_artist(Artist(key=artist.key, name=artist.name))
    for album in _albums(upcoming_release_at):
        catalog.upsert_album(album)
    return catalog


def _describe(catalog: Catalog, album: Album) -> DemoRelease:
    urls = {s: service_album_url(catalog, album, s) for s in SERVICES}
    urls |= album.extra_links
    return DemoRelease(
        key=album.key,
        title=album.title,
        artist_names=tuple(catalog.artists[k].name for k in album.artist_keys),
        upc=album.upc,
        release_date=album.release_date,
        album_type=album.album_type,
        tracks=tuple(
            DemoTrack(
                title=t.title,
                isrc=t.isrc,
                duration_ms=t.duration_ms,
                service_ids=dict(t.ids),
                service_urls={s: service_track_url(catalog, t, album, s) for s in SERVICES},
            )
            for t in album.tracks
        ),
        service_ids=dict(album.ids),
        service_urls=urls,
        apple_preorder=album.apple_preorder,
    )


# Dates of the single and EP depend on the caller; ids and URLs do not.
_TEMPLATE = demo_catalog(upcoming_release_at=datetime(2026, 9, 4, tzinfo=UTC))
DEMO_ALBUM = _describe(_TEMPLATE, _TEMPLATE.albums["midnight-cartography"])
DEMO_SINGLE = _describe(_TEMPLATE, _TEMPLATE.albums["lantern-light"])
DEMO_PREORDER_EP = _describe(_TEMPLATE, _TEMPLATE.albums["tidewater-ep"])
DEMO_ARTIST_IDS: dict[str, dict[str, str]] = {
    a.name: dict(a.ids) for a in _TEMPLATE.artists.values()
}

# -- demo apps ----------------------------------------------------------------------------

DEMO_REDIRECT_URIS = (
    "http://127.0.0.1:8000/presave/oauth/callback",
    "http://localhost:8000/presave/oauth/callback",
)
# Public demo credentials for the simulator only; no real service accepts them.
DEMO_CLIENTS: dict[str, tuple[str, str]] = {
    "spotify": ("demo-spotify-client", "demo-spotify-secret"),
    "deezer": ("100001", "demo-deezer-secret"),
    "tidal": ("demo-tidal-client", "demo-tidal-secret"),
    "soundcloud": ("demo-soundcloud-client", "demo-soundcloud-secret"),
    "youtube": ("demo-google-client", "demo-google-secret"),
}
DEMO_APPLE_KID = "DEMOKEY001"
DEMO_APPLE_TEAM_ID = "DEMOTEAM01"


def _demo_apple_key() -> ec.EllipticCurvePrivateKey:
    # Derived from a fixed label so every process (app and standalone simulator) agrees.
    secret = int.from_bytes(hashlib.sha256(b"launchlink demo MusicKit key").digest(), "big")
    return ec.derive_private_key(secret % (2**255), ec.SECP256R1())


def demo_apple_private_key_pem() -> str:
    """The demo MusicKit private key (PEM) to sign developer tokens for the simulator."""
    return (
        _demo_apple_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def demo_apple_public_key_pem() -> str:
    return (
        _demo_apple_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def install_demo_apps(
    state: SimulatorState, *, redirect_uris: tuple[str, ...] = DEMO_REDIRECT_URIS
) -> None:
    """Register the demo apps (extended mode, no rate limits except Deezer's) and Apple key."""
    for service, (client_id, secret) in DEMO_CLIENTS.items():
        state.upsert_app(
            service, client_id, client_secret=secret, redirect_uris=list(redirect_uris)
        )
    state.register_apple_key(DEMO_APPLE_KID, DEMO_APPLE_TEAM_ID, demo_apple_public_key_pem())


def demo_state(
    *,
    upcoming_release_at: datetime,
    clock: Clock | None = None,
    redirect_uris: tuple[str, ...] = DEMO_REDIRECT_URIS,
) -> SimulatorState:
    """A simulator world seeded with the demo catalogue and demo apps."""
    state = SimulatorState(clock=clock, seed=demo_catalog(upcoming_release_at=upcoming_release_at))
    install_demo_apps(state, redirect_uris=redirect_uris)
    return state
