"""A campaign's life as a timeline: announce → pre-save → release → smart link, with where
it stands now — per territory when the release goes out at local midnight — and the
share texts of each channel, tagged with UTM.

The phase is the fan page's own rule (``links/phase.py: phase_for``), never stored, so
the dashboard and the page cannot disagree about what a fan sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from launchlink.links.phase import Phase, ReleaseZones, phase_for, release_instant_for
from launchlink.links.snapshot import ReleaseTiming
from launchlink.models import Link, Release
from launchlink.models.presave import Campaign as PresaveCampaign
from launchlink.presave.timing import timing_of

TERRITORIES = ("NZ", "AU", "JP", "DE", "GB", "BR", "US", "MX")
"""Markets shown for local-midnight releases, from the first midnight to the last."""


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    at: datetime | None
    state: str
    """``done``, ``now``, ``next`` or ``skipped`` (no pre-save campaign or no date)."""
    detail: str


@dataclass(frozen=True)
class Territory:
    country: str
    zone: str
    release_at: datetime
    phase: Phase


@dataclass(frozen=True)
class Lifecycle:
    steps: list[Step]
    phase: Phase
    """What a visitor of unknown territory sees now."""
    territories: list[Territory]
    """Local mode only: each market's midnight and its phase now."""


def _state(begins: datetime | None, ends: datetime | None, now: datetime) -> str:
    if ends is not None and now >= ends:
        return "done"
    if begins is None or now >= begins:
        return "now"
    return "next"


def lifecycle(
    link: Link,
    release: Release,
    campaign: PresaveCampaign | None,
    *,
    now: datetime,
    territories: ReleaseZones,
) -> Lifecycle:
    timing: ReleaseTiming = timing_of(release, campaign)
    presaving = campaign is not None and campaign.enabled

    def seen(phase: Phase) -> Phase:
        # Without a pre-save campaign the link shows its teaser until the release.
        return Phase.ANNOUNCE if phase is Phase.PRESAVE and not presaving else phase

    phase = seen(phase_for(timing, country=None, now=now, territories=territories))
    local = timing.mode == "local" and timing.local_date is not None
    per_territory: list[Territory] = []
    first = last = None
    if local:
        for country in TERRITORIES:
            at = release_instant_for(timing, country, territories)
            per_territory.append(
                Territory(
                    country=country,
                    zone=territories.zone_for(country, default_zone=timing.default_time_zone).key,
                    release_at=at,
                    phase=seen(
                        phase_for(timing, country=country, now=now, territories=territories)
                    ),
                )
            )
        first = min(t.release_at for t in per_territory)
        last = max(t.release_at for t in per_territory)
    elif timing.instant is not None:
        first = last = timing.instant
    opens = campaign.presave_opens_at if campaign is not None and campaign.enabled else None
    steps = [
        Step(
            "announce",
            "Announce",
            link.created_at,
            "done" if opens is None or now >= opens else "now",
            "the link is shared; the page shows the release to come",
        ),
        Step(
            "presave",
            "Pre-save",
            (opens or link.created_at) if presaving else None,
            _state(opens, first, now) if presaving and first is not None else "skipped",
            "fans pre-save and opt in"
            if presaving
            else "no pre-save campaign on this link"
            if first is not None
            else "no release date: nothing to pre-save for",
        ),
        Step(
            "release",
            "Release",
            first,
            _state(first, last, now) if first is not None else "done",
            (
                "local midnight in each territory, first to last"
                if local
                else "everywhere at once"
                if first is not None
                else "no release date"
            ),
        ),
        Step(
            "smart_link",
            "Smart link",
            last,
            "now" if last is None or now >= last else "next",
            "the same link sends fans to every service",
        ),
    ]
    return Lifecycle(steps=steps, phase=phase, territories=per_territory)


SHARE_TEMPLATES = {
    "before": {
        "instagram": "{title} by {artist} is coming {when}. Pre-save it now: {url}",
        "tiktok": "{title} drops {when} 🔔 pre-save: {url}",
        "youtube": "{title} by {artist}, out {when}. Pre-save on your service: {url}",
        "newsletter": "Our new release {title} comes out {when}. Pre-save it here: {url}",
        "press": "{artist} announce {title}, out {when}. Listen: {url}",
    },
    "after": {
        "instagram": "{title} by {artist} is out now. Listen: {url}",
        "tiktok": "{title} is out now 🎧 {url}",
        "youtube": "{title} by {artist} is out now on every service: {url}",
        "newsletter": "{title} is out now. Listen on your service: {url}",
        "press": "{artist}'s {title} is out now: {url}",
    },
}


def share_texts(
    *, title: str, artist: str, when: str, channel_urls: list[tuple[str, str]], released: bool
) -> list[tuple[str, str]]:
    """Per channel, a ready-to-post text around that channel's UTM-tagged link."""
    templates = SHARE_TEMPLATES["after" if released else "before"]
    return [
        (channel, templates[channel].format(title=title, artist=artist, when=when, url=url))
        for channel, url in channel_urls
        if channel in templates
    ]
