"""Confidence scoring: what is kept as a title+artist match and what is never guessed."""

from __future__ import annotations

from launchlink.autofill.matching import (
    CONFIDENCE_THRESHOLD,
    Target,
    best_match,
    normalise,
    score,
)
from launchlink.connectors.base import ReleaseMatch, TrackInfo

TARGET = Target(
    title="Midnight Cartography",
    artists=("Nova Reyes",),
    track_count=3,
    duration_ms=600_000,
    release_date="2026-03-06",
)


def hit(
    title: str, *, artists: tuple[str, ...] = ("Nova Reyes",), **fields: object
) -> ReleaseMatch:
    return ReleaseMatch(
        service="youtube", kind="album", id=title, title=title, artists=artists, **fields
    )  # type: ignore[arg-type]


def tracks(*durations: int) -> tuple[TrackInfo, ...]:
    return tuple(
        TrackInfo(id=str(n), title=f"t{n}", duration_ms=d) for n, d in enumerate(durations)
    )


def test_store_decorations_case_accents_and_ampersands_do_not_count() -> None:
    assert normalise("Album - Mídnight Cartography") == "midnight cartography"
    assert normalise("Midnight Cartography - EP") == "midnight cartography"
    assert normalise("Wire & Bloom!") == "wire and bloom"
    assert normalise("Midnight Cartography (Deluxe)") == "midnight cartography deluxe"


def test_an_exact_release_with_every_signal_scores_one() -> None:
    exact = hit(
        "Midnight Cartography",
        track_count=3,
        tracks=tracks(200_000, 200_000, 200_000),
        release_date="2026-03-06",
    )
    result = score(TARGET, exact)
    assert result.confidence == 1.0
    assert result.accepted


def test_an_exact_title_and_artist_with_nothing_else_known_just_reaches_the_threshold() -> None:
    result = score(TARGET, hit("Album - Midnight Cartography"))
    assert result.confidence == CONFIDENCE_THRESHOLD
    assert result.accepted


def test_a_sequel_with_a_similar_title_is_not_matched() -> None:
    decoy = hit(
        "Midnight Cartography II",
        track_count=8,
        tracks=tracks(*[150_000] * 8),
        release_date="2026-08-14",
    )
    result = score(TARGET, decoy)
    assert result.signals["title"] > 0.9  # close enough to fool a naive matcher
    assert result.confidence < CONFIDENCE_THRESHOLD
    assert not result.accepted
    assert best_match(TARGET, [decoy]) is None


def test_a_near_title_with_nothing_to_corroborate_it_is_not_a_match() -> None:
    assert not score(TARGET, hit("Midnight Cartographies")).accepted


def test_another_artist_with_the_same_title_is_never_matched() -> None:
    cover = hit(
        "Midnight Cartography",
        artists=("Harbor Static",),
        track_count=3,
        tracks=tracks(200_000, 200_000, 200_000),
        release_date="2026-03-06",
    )
    result = score(TARGET, cover)
    assert result.signals["artists"] < 0.8
    assert not result.accepted


def test_a_hit_naming_no_artist_is_never_matched() -> None:
    assert not score(TARGET, hit("Midnight Cartography", artists=())).accepted


def test_the_best_accepted_candidate_wins() -> None:
    weak = hit("Midnight Cartography")
    strong = hit("Midnight Cartography", track_count=3, release_date="2026-03-06")
    found = best_match(TARGET, [weak, strong, hit("Something Else")])
    assert found is not None
    assert found[0] is strong
    assert found[1].confidence > score(TARGET, weak).confidence
