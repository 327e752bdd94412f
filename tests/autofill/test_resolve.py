"""Auto-fill against the simulated services (demo catalogue), without the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from launchlink.autofill.outcomes import ServiceLookupFailed
from launchlink.autofill.resolver import LINK_ONLY_PLATFORMS, Resolution, ResolveQuery, resolve
from launchlink.autofill.sources import sources_from_registry
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.errors import NotFound
from launchlink.simulator.demo import DEMO_ALBUM, DEMO_PREORDER_EP, DEMO_SINGLE
from tests.autofill.world import UPCOMING_AT, World, make_world, spotify_album_url

IDENTIFIER_SERVICES = {"spotify", "apple_music", "deezer", "tidal"}


@pytest.fixture
async def world() -> AsyncIterator[World]:
    built = make_world()
    yield built
    await built.close()


def by_service(resolution: Resolution) -> dict[str, str]:
    return {found.service: found.matched_by for found in resolution.destinations}


def missing(resolution: Resolution) -> dict[str, str]:
    return {gone.service: gone.reason for gone in resolution.missing}


async def test_a_spotify_url_fills_every_service_with_how_each_was_matched(world: World) -> None:
    resolution = await resolve(
        world.sources, ResolveQuery(url=spotify_album_url(DEMO_ALBUM.service_ids))
    )

    matched = by_service(resolution)
    assert matched["spotify"] == "url"
    assert {s: matched[s] for s in ("apple_music", "deezer", "tidal")} == dict.fromkeys(
        ("apple_music", "deezer", "tidal"), "upc"
    )
    assert matched["youtube_music"] == "title_artist"
    assert matched["soundcloud"] == "title_artist"
    assert {matched[p] for p in LINK_ONLY_PLATFORMS} == {"odesli"}
    assert len(matched) >= 5
    urls = {found.service: found.url for found in resolution.destinations}
    assert urls["deezer"] == DEMO_ALBUM.service_urls["deezer"]
    assert urls["amazon_music"] == DEMO_ALBUM.service_urls["amazonMusic"]
    assert resolution.missing == ()


async def test_the_release_metadata_comes_with_isrcs_durations_and_artwork(world: World) -> None:
    resolution = await resolve(
        world.sources, ResolveQuery(url=spotify_album_url(DEMO_ALBUM.service_ids))
    )

    release = resolution.release
    assert (release.title, release.type.value, release.artists) == (
        "Midnight Cartography",
        "album",
        ("Nova Reyes",),
    )
    assert release.upc == DEMO_ALBUM.upc
    assert release.release_date == "2026-03-06"
    assert release.artwork_url is not None
    assert release.artwork_url.startswith("https://")
    assert [(t.title, t.isrc, t.duration_ms) for t in release.tracks] == [
        (t.title, t.isrc, t.duration_ms) for t in DEMO_ALBUM.tracks
    ]


async def test_search_matches_carry_a_confidence_and_identifier_matches_none(world: World) -> None:
    resolution = await resolve(world.sources, ResolveQuery(upc=DEMO_ALBUM.upc))

    for found in resolution.destinations:
        if found.matched_by == "title_artist":
            assert found.confidence is not None
            assert 0.85 <= found.confidence <= 1.0
        else:
            assert found.confidence is None
    assert {
        f.service for f in resolution.destinations if f.matched_by == "upc"
    } >= IDENTIFIER_SERVICES
    assert len(resolution.destinations) >= 5


async def test_a_single_is_found_by_the_isrc_of_its_track(world: World) -> None:
    world.state.set_clock(UPCOMING_AT)
    isrc = DEMO_SINGLE.tracks[0].isrc

    resolution = await resolve(world.sources, ResolveQuery(isrc=isrc))

    assert resolution.release.type.value == "single"
    assert resolution.release.tracks[0].isrc == isrc
    assert {"spotify", "apple_music", "deezer", "tidal"} <= {
        f.service for f in resolution.destinations if f.matched_by == "isrc"
    }


async def test_a_failing_service_is_listed_as_missing_and_the_rest_is_filled(world: World) -> None:
    world.state.set_faults("deezer", error_rate=1.0, error_status=503)
    world.state.set_faults("tidal", burst_429=10)

    resolution = await resolve(
        world.sources, ResolveQuery(url=spotify_album_url(DEMO_ALBUM.service_ids))
    )

    assert missing(resolution)["deezer"] == "service_error"
    assert missing(resolution)["tidal"] == "rate_limited"
    assert {"spotify", "apple_music", "youtube_music", "soundcloud"} <= set(by_service(resolution))


async def test_a_service_slower_than_its_budget_is_listed_as_timed_out() -> None:
    world = make_world(timeout_seconds=0.2)
    world.state.set_faults("apple", latency_ms=2000)
    try:
        resolution = await resolve(world.sources, ResolveQuery(upc=DEMO_ALBUM.upc))
    finally:
        await world.close()

    assert missing(resolution)["apple_music"] == "timeout"
    assert by_service(resolution)["spotify"] == "upc"


async def test_a_decoy_with_a_similar_title_is_not_taken_for_the_release() -> None:
    world = make_world(decoy=True)
    try:
        resolution = await resolve(
            world.sources, ResolveQuery(url=spotify_album_url(DEMO_ALBUM.service_ids))
        )
    finally:
        await world.close()

    assert "soundcloud" not in by_service(resolution)
    gone = next(m for m in resolution.missing if m.service == "soundcloud")
    assert gone.reason == "not_found"
    assert "confidence threshold" in gone.detail


async def test_without_an_odesli_key_link_only_services_are_listed_not_guessed() -> None:
    world = make_world(odesli_key=False)
    try:
        resolution = await resolve(world.sources, ResolveQuery(upc=DEMO_ALBUM.upc))
    finally:
        await world.close()

    for platform in LINK_ONLY_PLATFORMS:
        assert missing(resolution)[platform] == "no_lookup_capability"
    assert not {f.service for f in resolution.destinations} & set(LINK_ONLY_PLATFORMS)


async def test_a_service_without_credentials_is_listed_as_unavailable(world: World) -> None:
    settings = world.settings.model_copy(deep=True)
    settings.tidal.client_id = None
    async with ConnectorRegistry(settings, transport=world.transport) as registry:
        sources = sources_from_registry(registry)
        resolution = await resolve(sources, ResolveQuery(upc=DEMO_ALBUM.upc))
    gone = next(m for m in resolution.missing if m.service == "tidal")
    assert gone.reason == "connector_unavailable"
    assert "client ID" in gone.detail


async def test_an_unreleased_album_is_not_found_by_upc_until_its_release(world: World) -> None:
    with pytest.raises(NotFound):
        await resolve(world.sources, ResolveQuery(upc=DEMO_SINGLE.upc))
    world.state.set_clock(UPCOMING_AT)
    resolution = await resolve(world.sources, ResolveQuery(upc=DEMO_SINGLE.upc))
    assert resolution.release.title.startswith("Lantern Light")


async def test_a_pre_order_is_found_on_apple_music_only_before_its_release(world: World) -> None:
    resolution = await resolve(world.sources, ResolveQuery(upc=DEMO_PREORDER_EP.upc))

    assert set(by_service(resolution)) & IDENTIFIER_SERVICES == {"apple_music"}
    assert missing(resolution)["spotify"] == "not_found"


async def test_an_apple_music_url_is_a_seed_as_good_as_a_spotify_one(world: World) -> None:
    resolution = await resolve(
        world.sources, ResolveQuery(url=DEMO_ALBUM.service_urls["apple"], country="US")
    )

    matched = by_service(resolution)
    assert matched["apple_music"] == "url"
    assert {matched[s] for s in ("spotify", "deezer", "tidal")} == {"upc"}
    assert resolution.release.upc == DEMO_ALBUM.upc


async def test_a_upc_nobody_could_be_asked_about_is_a_lookup_failure_not_a_not_found(
    world: World,
) -> None:
    for service in ("spotify", "apple", "deezer", "tidal"):
        world.state.set_faults(service, error_rate=1.0, error_status=503)

    with pytest.raises(ServiceLookupFailed) as raised:
        await resolve(world.sources, ResolveQuery(upc=DEMO_ALBUM.upc))
    assert raised.value.field == "upc"


async def test_a_youtube_music_url_without_identifiers_is_filled_by_confident_search(
    world: World,
) -> None:
    resolution = await resolve(world.sources, ResolveQuery(url=DEMO_ALBUM.service_urls["youtube"]))

    matched = by_service(resolution)
    assert matched["youtube_music"] == "url"
    assert {matched[s] for s in ("spotify", "apple_music", "deezer")} == {"title_artist"}
    assert resolution.release.title == "Midnight Cartography"  # "Album - " dropped
    # The metadata the seed lacked comes from the releases search found.
    assert resolution.release.upc == DEMO_ALBUM.upc
    assert len(resolution.release.tracks) == len(DEMO_ALBUM.tracks)
