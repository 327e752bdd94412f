"""Offer only what can finish: every service × mode of the registry, through the simulator.

For each mode, one campaign puts every connector service of the registry in that mode. A fan
per offered service goes through the real pre-save page and sign-in (the simulator's consent
pages, MusicKit's stand-in for Apple), the clock moves to the release, fulfilment and the
release-day messages go out, and every offered combination must reach its end — the pre-save
``done`` with the promised writes in the simulator's ledger, the reminder emailed, the link
served — while nothing that is not offered can be started. Then each piece of configuration
is removed in turn: the page, the campaign API and ``GET /api/v1/services`` stop offering
exactly what it breaks, each saying what to configure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from launchlink.app import Application
from launchlink.bootstrap import simulator_transport
from launchlink.connectors.base import SERVICES, Capability
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.demo import SINGLE_LEAD_TIME
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.limiter import MemoryLimiter
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.kit.clock import FrozenClock
from launchlink.models import Message, Presave
from launchlink.models.messaging import MessageKind, MessageState
from launchlink.models.presave import PresaveState, ServiceMode
from launchlink.platforms import parse_service_url
from launchlink.presave.modes import (
    CampaignPromise,
    Refusal,
    RegistrySource,
    ReleaseKeys,
    can_finish,
)
from launchlink.simulator.demo import (
    DEMO_ARTIST_IDS,
    DEMO_PREORDER_EP,
    DEMO_SINGLE,
    PREORDER_EP_DELAY,
    DemoRelease,
    demo_apple_private_key_pem,
)
from launchlink.simulator.profile import simulator_connectors
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    NOW,
    Inbox,
    approve_on_simulator,
    browser_for,
    csrf_of,
    deliver_messages,
    open_page,
    sign_up_for_reminder,
)

MODES = (ServiceMode.direct_save, ServiceMode.preadd, ServiceMode.reminder, ServiceMode.link_only)
SIM = {"apple_music": "apple"}  # the simulator's name where it differs from ours
# What each service writes to keep the promise: the release saved, the artist followed.
SAVES = {
    "spotify": "save_album",
    "apple_music": "save_album",
    "deezer": "save_album",
    "tidal": "save_album",
    "soundcloud": "like_playlist",
    "youtube": "like_video",
}
FOLLOWS = {
    "spotify": "follow_artist",
    "apple_music": "favorite",
    "deezer": "follow_artist",
    "tidal": "follow_artist",
    "soundcloud": "follow_artist",
    "youtube": "subscribe",
}
SINGLE_AT = NOW + SINGLE_LEAD_TIME  # when the embedded simulator releases the demo single
EP_AT = SINGLE_AT + PREORDER_EP_DELAY  # ... and the EP with an Apple pre-order
LANTERNS = "The Paper Lanterns"


def sim_name(service: str) -> str:
    return SIM.get(service, service)


def artist_ids() -> dict[str, str]:
    ids = DEMO_ARTIST_IDS[LANTERNS]
    return {service: ids[sim_name(service)] for service in SERVICES}


def destinations(release: DemoRelease) -> list[dict[str, str]]:
    found = []
    for url in release.service_urls.values():
        parsed = parse_service_url(url)
        if parsed is not None:
            found.append({"service": parsed.platform, "url": parsed.url})
    return found


async def make_campaign(
    admin: Api,
    label: WorkspaceKey,
    *,
    modes: dict[str, str],
    release: DemoRelease = DEMO_SINGLE,
    release_at: datetime = SINGLE_AT,
    drop_destinations: tuple[str, ...] = (),
    **campaign: Any,
) -> dict[str, Any]:
    """The demo release (as the simulator has it) with a link and a pre-save campaign."""
    artist = await admin.post(label, "/artists", {"name": LANTERNS, "service_ids": artist_ids()})
    assert artist.status_code == 201, artist.text
    created = await admin.post(
        label,
        "/releases",
        {
            "title": release.title,
            "type": "single" if release.album_type == "single" else "ep",
            "artist_ids": [artist.json()["id"]],
            "upc": release.upc,
            "release_mode": "global",
            "release_instant": release_at.isoformat(),
            "tracks": [
                {"title": t.title, "isrc": t.isrc, "duration_ms": t.duration_ms}
                for t in release.tracks
            ],
        },
    )
    assert created.status_code == 201, created.text
    link = await admin.post(
        label,
        "/links",
        {
            "release_id": created.json()["id"],
            "slug": "soon",
            "destinations": [
                d for d in destinations(release) if d["service"] not in drop_destinations
            ],
        },
    )
    assert link.status_code == 201, link.text
    settings = {
        "service_modes": modes,
        "follow_artist_ids": [artist.json()["id"]],
        "follow_timing": "release",
        # YouTube Music's link is the release's destination; link-only YouTube needs its own.
        "link_only_urls": {"youtube": youtube_web_url(release)},
        **campaign,
    }
    put = await admin.put(label, f"/links/{link.json()['id']}/campaign", settings)
    assert put.status_code == 200, put.text
    return put.json()


def youtube_web_url(release: DemoRelease) -> str:
    playlist = release.service_ids["youtube"]
    return f"https://www.youtube.com/playlist?list={playlist}"


async def page_html(papp: Application) -> str:
    """The pre-save page as a fan in Great Britain gets it."""
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        return await open_page(browser)


async def sign_in(papp: Application, service: str, username: str) -> None:
    """A fan pre-saves on ``service`` through the page: connect, consent, callback."""
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        html = await open_page(browser)
        started = await browser.post(
            "/presave/soon/connect", data={"csrf": csrf_of(html), "service": service}
        )
        assert started.status_code == 303, f"{service}: {started.text}"
        answered = await approve_on_simulator(
            browser, started.headers["location"], username=username
        )
        assert answered.status_code == 302, f"{service}: {answered.text}"
        callback = httpx.URL(answered.headers["location"])
        finished = await browser.get(callback.raw_path.decode())
        assert finished.status_code == 303, f"{service}: {finished.text}"
        assert "/presave/soon/done" in finished.headers["location"], service


async def ask_for_a_reminder(papp: Application, inbox: Inbox, service: str, email: str) -> None:
    """The fan asks for a reminder and confirms the address from the opt-in email."""
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        await sign_up_for_reminder(browser, inbox, email, service=service)


def engine_of(papp: Application, clock: FrozenClock) -> FulfilmentEngine:
    """A fulfilment engine on the app's own database, cipher and connectors."""
    source = papp.context.connectors
    assert isinstance(source, RegistrySource)
    assert papp.context.cipher is not None
    return FulfilmentEngine(
        database=papp.context.database,
        connectors=source.registry.get,
        limiter=MemoryLimiter(),
        cipher=papp.context.cipher,
        settings=FulfilmentSettings(
            rate_limits=dict.fromkeys(SERVICES, 1000.0), early_probe_hours=0
        ),
        clock=clock,
    )


async def fulfil_everything(engine: FulfilmentEngine) -> None:
    await engine.schedule()
    for _ in range(10):
        jobs = [job for s in SERVICES for job in await engine.claim(s, "matrix", 100)]
        if not jobs:
            return
        for job in jobs:
            await engine.process(job, "matrix")


async def presaves_by_service(papp: Application) -> dict[str, Presave]:
    async with papp.context.database.sessionmaker() as session:
        rows = (await session.execute(select(Presave))).scalars().all()
    return {row.service: row for row in rows}


# -- every offered service × mode reaches its end ---------------------------------------------


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
async def test_every_offered_service_and_mode_of_the_registry_reaches_its_end(
    mode: ServiceMode,
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    clock: FrozenClock,
    inbox: Inbox,
) -> None:
    preadd = mode is ServiceMode.preadd
    release, release_at = (DEMO_PREORDER_EP, EP_AT) if preadd else (DEMO_SINGLE, SINGLE_AT)
    campaign = await make_campaign(
        admin,
        label,
        modes=dict.fromkeys(SERVICES, mode.value),
        release=release,
        release_at=release_at,
        apple_preorder_album_id=release.service_ids["apple"] if preadd else None,
    )
    offered = {s["service"]: s for s in campaign["services"] if s["service"] in SERVICES}
    # With the whole simulator configured, every service offers the mode, or an honest
    # substitute: pre-add exists on Apple Music only, elsewhere it is a direct save.
    expected = {s: mode for s in SERVICES}
    if preadd:
        expected = {s: ServiceMode.direct_save for s in SERVICES} | {
            "apple_music": ServiceMode.preadd
        }
    assert {s: ServiceMode(o["mode"]) for s, o in offered.items()} == expected
    assert all(o["fallback"] is None and o["reason"] is None for o in offered.values())
    html = await page_html(papp)
    for service, effective in expected.items():
        marker = {
            ServiceMode.direct_save: "presave",
            ServiceMode.preadd: "presave",
            ServiceMode.reminder: "remind",
            ServiceMode.link_only: "link",
        }[effective]
        assert f'id="{marker}-{service}"' in html, f"{service} is not offered as {effective}"

    for service, effective in expected.items():
        if effective in (ServiceMode.direct_save, ServiceMode.preadd):
            await sign_in(papp, service, f"matrix-{service}")
        elif effective is ServiceMode.reminder:
            await ask_for_a_reminder(papp, inbox, service, f"{service}@fans.example")
    state = papp.simulator_state
    assert state is not None
    if preadd:
        # Apple's native pre-add happened at sign-in; Apple completes it at release.
        [pending] = state.ledger.query(service="apple", user="matrix-apple_music")
        assert (pending.action, pending.outcome) == ("save_album", "pending")

    clock.set(release_at + timedelta(seconds=1))
    await fulfil_everything(engine_of(papp, clock))
    await deliver_messages(papp)

    presaves = await presaves_by_service(papp)
    for service, effective in expected.items():
        if effective in (ServiceMode.direct_save, ServiceMode.preadd):
            presave = presaves[service]
            assert presave.mode is effective
            assert presave.state is PresaveState.done, (service, presave.final_reason)
            written = {
                (entry.action, entry.outcome)
                for entry in state.ledger.query(service=sim_name(service), user=f"matrix-{service}")
            }
            assert {a for a, outcome in written if outcome in ("added", "already")} >= {
                SAVES[service],
                FOLLOWS[service],
            }, (service, written)
        elif effective is ServiceMode.reminder:
            assert presaves[service].mode is ServiceMode.reminder
            [email] = inbox.to(f"{service}@fans.example")[-1:]
            assert "is out now" in email["Subject"], service
            # Deep-linked to the service where the link has a destination for it (YouTube's
            # is the YouTube Music one, so that fan gets the link itself).
            listen = "/soon" if service == "youtube" else f"/soon/{service}"
            assert f"https://links.example.test{listen}?c=email-release" in Inbox.text_of(email), (
                service
            )
        else:
            assert service not in presaves  # a link is followed, nothing is stored
    if mode is ServiceMode.reminder:
        async with papp.context.database.sessionmaker() as session:
            messages = (
                await session.execute(
                    select(Message).where(Message.kind == MessageKind.release_day)
                )
            ).scalars()
            assert {m.state for m in messages} == {MessageState.sent}
    if mode is ServiceMode.link_only:
        # After the release the same link sends each fan straight to the service.
        async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
            for service in ("spotify", "deezer", "tidal", "soundcloud", "apple_music"):
                response = await browser.get(f"/soon/{service}")
                assert response.status_code in (302, 303, 307), service
                parsed = parse_service_url(response.headers["location"])
                assert parsed is not None
                assert parsed.platform == service


# -- removing one piece of configuration stops offering what it breaks ------------------------


@dataclass(frozen=True)
class Removal:
    name: str
    service: str
    change: Callable[[ConnectorsSettings], None]
    says: str
    """A fragment of the reason the API gives (what to configure)."""


def _unset(service: str, field: str) -> Callable[[ConnectorsSettings], None]:
    def change(settings: ConnectorsSettings) -> None:
        setattr(getattr(settings, service), field, None)

    return change


def _development_mode(settings: ConnectorsSettings) -> None:
    settings.spotify.quota_mode = "development"


def _not_a_musickit_key(settings: ConnectorsSettings) -> None:
    settings.apple_music.private_key_pem = SecretStr("-----BEGIN PRIVATE KEY-----\nnope\n")


REMOVALS = [
    Removal("spotify client id", "spotify", _unset("spotify", "client_id"), "SPOTIFY__CLIENT_ID"),
    Removal(
        "spotify secret", "spotify", _unset("spotify", "client_secret"), "SPOTIFY__CLIENT_SECRET"
    ),
    Removal(
        "apple private key",
        "apple_music",
        _unset("apple_music", "private_key_pem"),
        "APPLE_MUSIC__PRIVATE_KEY_PEM",
    ),
    Removal("apple key id", "apple_music", _unset("apple_music", "key_id"), "APPLE_MUSIC__KEY_ID"),
    Removal(
        "apple team id", "apple_music", _unset("apple_music", "team_id"), "APPLE_MUSIC__TEAM_ID"
    ),
    Removal("apple key not a key", "apple_music", _not_a_musickit_key, "not a MusicKit key"),
    Removal("deezer secret", "deezer", _unset("deezer", "secret"), "DEEZER__SECRET"),
    Removal("tidal secret", "tidal", _unset("tidal", "client_secret"), "TIDAL__CLIENT_SECRET"),
    Removal(
        "soundcloud secret",
        "soundcloud",
        _unset("soundcloud", "client_secret"),
        "SOUNDCLOUD__CLIENT_SECRET",
    ),
    Removal(
        "youtube secret", "youtube", _unset("youtube", "client_secret"), "YOUTUBE__CLIENT_SECRET"
    ),
    Removal("youtube api key", "youtube", _unset("youtube", "api_key"), "YOUTUBE__API_KEY"),
]


def reconfigure(papp: Application, change: Callable[[ConnectorsSettings], None]) -> None:
    """Restart the instance's connectors with one setting changed (as an operator would)."""
    settings = simulator_connectors(
        papp.context.settings.simulator_url, apple_private_key_pem=demo_apple_private_key_pem()
    )
    change(settings)
    state = papp.simulator_state
    assert state is not None
    source = papp.context.connectors
    assert isinstance(source, RegistrySource)
    source.registry = ConnectorRegistry(
        settings,
        clock=papp.context.clock,
        transport=simulator_transport(papp.context.settings, state),
    )


async def offered_everywhere(
    papp: Application, admin: Api, label: WorkspaceKey, campaign_id: str, service: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(page HTML, the campaign API's entry, GET /services' direct_save entry) for a service."""
    html = await page_html(papp)
    campaign = (await admin.get(label, f"/links/{campaign_id}/campaign")).json()
    entry = next(s for s in campaign["services"] if s["service"] == service)
    services = {s["key"]: s for s in (await admin.get(label, "/services")).json()}
    direct = next(m for m in services[service]["modes"] if m["mode"] == "direct_save")
    return html, entry, direct


@pytest.mark.parametrize("removal", REMOVALS, ids=[r.name for r in REMOVALS])
async def test_without_one_piece_of_configuration_the_mode_is_never_offered(
    removal: Removal, papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    service = removal.service
    campaign = await make_campaign(admin, label, modes=dict.fromkeys(SERVICES, "direct_save"))
    link_id = campaign["link_id"]
    html, entry, direct = await offered_everywhere(papp, admin, label, link_id, service)
    assert f'id="presave-{service}"' in html  # fully configured: offered
    assert entry["mode"] == "direct_save"
    assert direct["offered"] is True

    reconfigure(papp, removal.change)
    html, entry, direct = await offered_everywhere(papp, admin, label, link_id, service)
    assert f'id="presave-{service}"' not in html
    assert f'id="remind-{service}"' in html  # the honest substitute, explained
    assert "is not available here" in html
    assert (entry["mode"], entry["fallback"]) == ("reminder", "unavailable")
    assert removal.says in entry["reason"]
    assert direct["offered"] is False
    assert removal.says in direct["reason"]
    now = (await admin.get(label, f"/links/{link_id}/campaign")).json()["services"]
    untouched = {s["service"]: s["mode"] for s in now if s["service"] in SERVICES}
    del untouched[service]
    assert set(untouched.values()) == {"direct_save"}, untouched
    # Posting the form anyway (an old page, a hand-made request) starts nothing.
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        page = await open_page(browser)
        refused = await browser.post(
            "/presave/soon/connect", data={"csrf": csrf_of(page), "service": service}
        )
    assert refused.status_code == 400


async def test_spotify_at_its_development_mode_cap_is_not_offered(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    campaign = await make_campaign(admin, label, modes={"spotify": "direct_save"})
    reconfigure(papp, _development_mode)
    for n in range(5):
        await sign_in(papp, "spotify", f"allowed-{n}")
    html, entry, direct = await offered_everywhere(
        papp, admin, label, campaign["link_id"], "spotify"
    )
    assert 'id="presave-spotify"' not in html
    assert (entry["mode"], entry["fallback"]) == ("reminder", "user_limit")
    assert "development mode" in entry["reason"]
    assert direct["offered"] is False


async def test_soundcloud_and_youtube_need_the_releases_own_link(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    campaign = await make_campaign(
        admin,
        label,
        modes=dict.fromkeys(SERVICES, "direct_save"),
        drop_destinations=("soundcloud", "youtube_music"),
    )
    by_service = {s["service"]: s for s in campaign["services"]}
    for service, name in (("soundcloud", "SoundCloud"), ("youtube", "YouTube")):
        assert by_service[service]["mode"] == "reminder"
        assert f"{name} cannot find this release" in by_service[service]["reason"]
        assert f"the release's {name} link" in by_service[service]["reason"]
    assert by_service["spotify"]["mode"] == "direct_save"  # found by UPC
    html = await page_html(papp)
    assert 'id="presave-soundcloud"' not in html
    assert 'id="presave-youtube"' not in html


async def test_a_promise_a_service_cannot_keep_takes_it_off_the_page(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    campaign = await make_campaign(
        admin,
        label,
        modes=dict.fromkeys(SERVICES, "direct_save"),
        playlist_action={"mode": "add_to_new_playlist", "service": "soundcloud", "name": "Mine"},
        extra_follows=[{"service": "youtube", "kind": "playlist", "id": "PLsomething123"}],
    )
    by_service = {s["service"]: s for s in campaign["services"]}
    assert by_service["soundcloud"]["mode"] == "reminder"
    assert "cannot add tracks to playlists" in by_service["soundcloud"]["reason"]
    assert by_service["youtube"]["mode"] == "reminder"
    assert "cannot follow playlists" in by_service["youtube"]["reason"]
    assert by_service["deezer"]["mode"] == "direct_save"
    html = await page_html(papp)
    assert 'id="presave-soundcloud"' not in html
    assert 'id="presave-youtube"' not in html
    assert 'id="presave-deezer"' in html


# -- the decision itself ------------------------------------------------------------------------


async def test_every_refusal_names_its_cause() -> None:
    settings = simulator_connectors(
        "http://sim", apple_private_key_pem=demo_apple_private_key_pem()
    )
    async with ConnectorRegistry(settings) as registry:
        check_refusals(registry)


def check_refusals(registry: ConnectorRegistry) -> None:
    full = ReleaseKeys(upc=DEMO_SINGLE.upc, isrcs=("QZPLN2600001",))

    def verdict(service: str, mode: ServiceMode = ServiceMode.direct_save, **kw: Any) -> Any:
        return can_finish(service, mode, connector=registry.get(service), **kw)

    assert verdict("spotify", release=full).ok
    no_keys = verdict("spotify", release=ReleaseKeys())
    assert no_keys.refusal is Refusal.no_lookup_path
    assert "the release's UPC, an ISRC of its tracks" in (no_keys.reason or "")
    assert verdict("deezer", ServiceMode.preadd, has_preorder=True).refusal is Refusal.not_capable
    assert verdict("apple_music", ServiceMode.preadd).refusal is Refusal.no_preorder
    assert verdict("apple_music", ServiceMode.preadd, has_preorder=True).ok
    assert can_finish("bandcamp", ServiceMode.direct_save, connector=None).refusal is (
        Refusal.no_connector
    )
    assert can_finish("bandcamp", ServiceMode.reminder, connector=None).ok
    promise = CampaignPromise(playlist_action={"service": "soundcloud", "mode": "follow"})
    assert Capability.PLAYLIST_FOLLOW in promise.needs("soundcloud")
    assert promise.needs("spotify") == {Capability.SAVE_RELEASE}
    assert verdict("soundcloud", needs=promise.needs("soundcloud")).ok  # likes the playlist
    assert verdict("youtube", needs={Capability.SAVE_RELEASE}).ok  # likes the tracks
    follow = verdict("youtube", needs={Capability.PLAYLIST_FOLLOW})
    assert follow.refusal is Refusal.not_capable
    assert "YouTube cannot follow playlists" in (follow.reason or "")
