"""Build the process's capture buffer, its flusher and a worker's inbox drain."""

from __future__ import annotations

from urllib.parse import urlsplit

from launchlink.analytics.capture import AnalyticsCapture
from launchlink.analytics.ingest import VisitIngest
from launchlink.analytics.tasks import AnalyticsFlusher, InboxDrain
from launchlink.context import AppContext
from launchlink.links.visitors import VisitorLocation
from launchlink.web.security import Signer


def _own_hosts(context: AppContext) -> list[str]:
    return [urlsplit(context.settings.public_url).hostname or ""]


def analytics_for_app(
    context: AppContext, location: VisitorLocation
) -> tuple[AnalyticsCapture, AnalyticsFlusher]:
    settings = context.settings
    capture = AnalyticsCapture(max_buffered=settings.analytics.max_buffered)
    ingest = VisitIngest(
        countries=location.countries,
        signer=Signer(settings.resolved_secret_key()),
        own_hosts=_own_hosts(context),
    )
    # With separate workers (scale-out), enrichment and its writes are theirs: this
    # process only anonymises and ships (analytics/tasks.py).
    flusher = AnalyticsFlusher(
        capture,
        context.database,
        context.clock,
        ingest,
        settings=settings.analytics,
        ship=not settings.embedded_worker,
    )
    return capture, flusher


def inbox_drain_for_worker(context: AppContext) -> InboxDrain:
    """A worker's half: no address ever reaches it, so no geo-IP database or signer."""
    ingest = VisitIngest(countries=None, own_hosts=_own_hosts(context))
    return InboxDrain(context.database, context.clock, ingest, settings=context.settings.analytics)
