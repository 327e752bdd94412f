"""Re-planning a release's pre-saves and messages when its timing changes.

A pre-save's ``due_at`` and ``time_zone``, and its messages' ``send_at``, are planned
from the release's timing (mode, instant or local date, default zone) with the fan's
country and chosen zone (:mod:`launchlink.presave.timing`). Whatever changes the timing
calls :func:`replan_release` in the same transaction, so the moment a fan was promised
always follows the release; in both directions:

* **waiting** pre-saves take the new instant and zone. One already in the past is due at
  once: the scheduler's next round (every few seconds) queues it, as any due pre-save;
* **due, not started** (a job exists that no worker holds and that recorded no action,
  ``due`` or ``resolving``): when the new instant is ahead, the job is deleted and the
  pre-save waits again (a ``presave_event`` says why), so it is not fulfilled early on a
  service where the release is not live; when the new instant has passed too, the job
  stays queued with the new instant, and a job polling for the release looks again now;
* **started** (a worker holds the job, or an action was recorded), ``executing`` and
  final pre-saves are left alone: part of the promise may already be in the library;
* queued release-day and countdown **messages** (``messaging/planner.py``; "remind me"
  sign-ups' included) follow their pre-save's instant (a countdown whose moment has
  passed is cancelled);
* the release's "not found yet" lookups are forgotten: their poll schedule, and the
  give-up deadline counted from the first poll, belonged to the old date.

The fan's chosen zone is ``Fan.time_zone``, the fan's latest choice; the country is the
pre-save's own. Campaign settings do not move instants (``presave_opens_at`` only opens
the page), so a campaign change never re-plans. The territory → zone table is process
configuration, not data a transaction can see change: after editing the operator CSV,
restart and run ``launchlink replan`` (:func:`replan_everything`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.kit.clock import Clock
from launchlink.links.phase import ReleaseZones, UndatedReleaseError
from launchlink.messaging.planner import replan_release_messages
from launchlink.models import Campaign, Release
from launchlink.presave.repository import (
    ReplanGroup,
    ReplannedPresave,
    ReplanRepository,
)
from launchlink.presave.timing import fan_release_instant, fan_zone_name, timing_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replan:
    """What a re-plan changed."""

    moved: int = 0
    """Waiting pre-saves with a new instant or zone."""
    back_to_waiting: int = 0
    """Due pre-saves (not started) sent back to wait for their new, later instant."""
    kept_due: int = 0
    """Due pre-saves (not started) whose new instant has passed as well."""
    messages: int = 0
    """Queued release-day and countdown messages with a new instant (or cancelled)."""


async def replan_release(
    session: AsyncSession, release: Release, *, territories: ReleaseZones, clock: Clock
) -> Replan:
    """Re-plan every pre-save and message of ``release`` that has not started (see the
    module's docstring). The caller has flushed the new timing and commits."""
    repository = ReplanRepository(session)
    now = clock.now()
    groups = await repository.groups(release.id)
    campaigns = await repository.campaigns(sorted({group[0] for group in groups}))
    plans: dict[ReplanGroup, tuple[datetime, str] | None] = {}

    def plan(group: ReplanGroup) -> tuple[datetime, str] | None:
        if group not in plans:
            plans[group] = _plan(release, campaigns.get(group[0]), group, territories)
        return plans[group]

    moved = 0
    for group in groups:
        planned = plan(group)
        if planned is not None:
            moved += await repository.move_waiting(
                release.id, group, due_at=planned[0], time_zone=planned[1], now=now
            )
    # Read after the waiting ones moved: a pre-save the scheduler queued meanwhile is
    # seen here as due, with its job.
    back: list[ReplannedPresave] = []
    kept: list[ReplannedPresave] = []
    for job in await repository.unstarted_jobs(release.id, now):
        planned = plan(job.group)
        if planned is None:
            continue
        entry = ReplannedPresave(job.job_id, job.presave_id, planned[0], planned[1])
        (back if planned[0] > now else kept).append(entry)
    await repository.back_to_waiting(
        back, now=now, reason="the release moved; waiting for its new date"
    )
    await repository.keep_due(kept, now=now)
    await repository.forget_unfound_resolutions(release.id)
    messages = await replan_release_messages(session, release.id, now=now)
    result = Replan(moved, len(back), len(kept), messages)
    logger.info("release %s moved: re-planned %s", release.id, result)
    return result


def _plan(
    release: Release, campaign: Campaign | None, group: ReplanGroup, territories: ReleaseZones
) -> tuple[datetime, str] | None:
    _link_id, country, chosen = group
    timing = timing_of(release, campaign)
    try:
        due_at = fan_release_instant(timing, country, territories, chosen)
    except UndatedReleaseError:
        return None  # nothing to plan against; the release API refuses such timings
    return due_at, fan_zone_name(timing, country, territories, chosen)


async def releases_to_replan(session: AsyncSession) -> list[UUID]:
    """Releases with pre-saves a re-plan may still move."""
    return await ReplanRepository(session).releases_with_movable_presaves()
