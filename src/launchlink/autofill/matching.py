"""How sure we are that a search hit is the release we are looking for.

Services without identifier lookups (YouTube, SoundCloud) can only be searched by title and
artist, and a search returns whatever resembles the words: live versions, covers, a sequel
album with almost the same title. A hit becomes a destination only when its confidence
reaches :data:`CONFIDENCE_THRESHOLD` *and* it passes the title and artist gates; otherwise
the service is reported as not found. A wrong link on a release page is worse than none.

Confidence is a weighted mean of five signals, each scored 0..1:

=============  ======  =====================================================================
signal         weight  score
=============  ======  =====================================================================
title          0.40    similarity of the normalised titles (difflib ratio; 1.0 when equal)
artists        0.30    mean over our artists of the best similarity among the hit's artists
track count    0.10    1 − |a − b| / max(a, b)
duration       0.10    1.0 within 2 % of the total running time, falling to 0 at 20 %
release date   0.10    1.0 same day, 0.8 same month, 0.6 same year, else 0 (at the shared
                       precision: "2026" against "2026-03-06" compares years)
=============  ======  =====================================================================

A signal the hit does not carry (no track list, no date) scores a neutral 0.5: unknown
neither confirms nor refutes. So an exact title and artist with nothing else known scores
exactly the threshold (0.4 + 0.3 + 3 × 0.05 = 0.85) and a near title with nothing to
corroborate it falls below.

Normalisation: Unicode compatibility form without accents, case-folded, "&" read as "and",
punctuation dropped, whitespace collapsed, and the store decorations " - Single" / " - EP"
(Apple appends them) and "Album - " / "EP - " / "Single - " (YouTube Music prefixes its
album playlists) removed. Edition words such as "Deluxe" or "Live" are kept on purpose:
they name a different release.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from launchlink.connectors.base import ReleaseMatch

CONFIDENCE_THRESHOLD = 0.85
TITLE_GATE = 0.90
ARTIST_GATE = 0.80
UNKNOWN_SIGNAL = 0.5

WEIGHTS: dict[str, float] = {
    "title": 0.40,
    "artists": 0.30,
    "track_count": 0.10,
    "duration": 0.10,
    "release_date": 0.10,
}

_STORE_SUFFIX = re.compile(r"\s+-\s+(single|ep)$", re.IGNORECASE)
_STORE_PREFIX = re.compile(r"^(album|ep|single)\s+-\s+", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Target:
    """What we know about the release we are looking for."""

    title: str
    artists: tuple[str, ...]
    track_count: int | None = None
    duration_ms: int | None = None
    release_date: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """A candidate's confidence and the signals behind it (shown to the operator)."""

    confidence: float
    signals: dict[str, float]

    @property
    def accepted(self) -> bool:
        return (
            self.confidence >= CONFIDENCE_THRESHOLD
            and self.signals["title"] >= TITLE_GATE
            and self.signals["artists"] >= ARTIST_GATE
        )


def normalise(text: str) -> str:
    text = _STORE_PREFIX.sub("", _STORE_SUFFIX.sub("", text.strip()))
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    lowered = stripped.casefold().replace("&", " and ")
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", lowered)).strip()


def similarity(left: str, right: str) -> float:
    a, b = normalise(left), normalise(right)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b).ratio()


def artist_similarity(ours: Sequence[str], theirs: Sequence[str]) -> float:
    """Mean over our artists of their best counterpart; 0 when the hit names nobody."""
    if not ours or not theirs:
        return 0.0
    # A hit may credit "A & B" as one string where we hold two artists: compare with both.
    candidates = [*theirs, " ".join(theirs)]
    return sum(max(similarity(name, other) for other in candidates) for name in ours) / len(ours)


def track_count_score(ours: int | None, theirs: int | None) -> float:
    if not ours or not theirs:
        return UNKNOWN_SIGNAL
    return max(0.0, 1.0 - abs(ours - theirs) / max(ours, theirs))


def duration_score(ours: int | None, theirs: int | None) -> float:
    if not ours or not theirs:
        return UNKNOWN_SIGNAL
    gap = abs(ours - theirs) / max(ours, theirs)
    if gap <= 0.02:
        return 1.0
    return max(0.0, 1.0 - (gap - 0.02) / 0.18)


def release_date_score(ours: str | None, theirs: str | None) -> float:
    if not ours or not theirs:
        return UNKNOWN_SIGNAL
    a, b = ours.split("-"), theirs.split("-")
    shared = min(len(a), len(b), 3)
    if a[:1] != b[:1]:
        return 0.0
    if shared >= 2 and a[1] != b[1]:
        return 0.6
    if shared >= 3 and a[2] != b[2]:
        return 0.8
    return 1.0


def total_duration(match: ReleaseMatch) -> int | None:
    """The running time when every track's duration is known; else ``None``."""
    durations = [track.duration_ms for track in match.tracks]
    if not durations or any(value is None for value in durations):
        return None
    return sum(value for value in durations if value is not None)


def score(target: Target, candidate: ReleaseMatch) -> Score:
    signals = {
        "title": similarity(target.title, candidate.title),
        "artists": artist_similarity(target.artists, candidate.artists),
        "track_count": track_count_score(
            target.track_count, candidate.track_count or (len(candidate.tracks) or None)
        ),
        "duration": duration_score(target.duration_ms, total_duration(candidate)),
        "release_date": release_date_score(target.release_date, candidate.release_date),
    }
    confidence = sum(WEIGHTS[name] * value for name, value in signals.items())
    return Score(confidence=round(confidence, 4), signals=signals)


def best_match(
    target: Target, candidates: Sequence[ReleaseMatch]
) -> tuple[ReleaseMatch, Score] | None:
    """The highest-scoring accepted candidate, or ``None``: never a guess below the gates."""
    scored = [(candidate, score(target, candidate)) for candidate in candidates]
    accepted = [pair for pair in scored if pair[1].accepted]
    if not accepted:
        return None
    return max(accepted, key=lambda pair: pair[1].confidence)
