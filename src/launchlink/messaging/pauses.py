"""The automatic pause: a workspace whose messages bounce or draw complaints past the
thresholds (``messaging.pause_bounce_rate``, ``pause_complaint_rate``, over at least
``pause_min_sample`` messages of the last day, or since an admin last lifted a pause)
stops sending until an admin resumes it (``POST /api/v1/messaging/sender/resume``).

Checked wherever a bounce or a complaint is recorded: a delivery round's settle, a
provider's signed callback, a DSN or feedback report fed in. Paused messages are
deferred, never dropped; the channels API and the sender API show the pause and why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.repository import MessagingRepository

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=1)


async def check_pauses(
    repository: MessagingRepository,
    workspace_ids: Iterable[UUID],
    settings: MessagingSettings,
    now: datetime,
) -> list[UUID]:
    """Pause the workspaces past a threshold; the ones paused now."""
    paused: list[UUID] = []
    identities = await repository.identities(workspace_ids)
    for workspace_id in set(workspace_ids):
        identity = identities.get(workspace_id)
        if identity is not None and identity.paused:
            continue
        since = now - WINDOW
        if identity is not None and identity.resumed_at is not None:
            since = max(since, identity.resumed_at)
        total, bounced, complaints = await repository.sending_record(workspace_id, since)
        if total < settings.pause_min_sample:
            continue
        if bounced / total > settings.pause_bounce_rate:
            reason = f"{bounced} of {total} messages bounced"
        elif complaints / total > settings.pause_complaint_rate:
            reason = f"{complaints} of {total} messages drew complaints"
        else:
            continue
        if await repository.pause(workspace_id, f"{reason} since {since:%Y-%m-%d %H:%M} UTC", now):
            logger.warning("paused the sends of workspace %s: %s", workspace_id, reason)
            paused.append(workspace_id)
    return paused
