"""Build the process's capture buffer and its flusher from settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from launchlink.analytics.capture import AnalyticsCapture
from launchlink.analytics.ingest import VisitIngest
from launchlink.analytics.tasks import AnalyticsFlusher
from launchlink.context import AppContext
from launchlink.links.visitors import VisitorLocation
from launchlink.web.security import Signer


def analytics_for_app(
    context: AppContext, location: VisitorLocation
) -> tuple[AnalyticsCapture, AnalyticsFlusher]:
    settings = context.settings
    capture = AnalyticsCapture(max_buffered=settings.analytics.max_buffered)
    ingest = VisitIngest(
        countries=location.countries,
        signer=Signer(settings.resolved_secret_key()),
        own_hosts=[urlsplit(settings.public_url).hostname or ""],
    )
    flusher = AnalyticsFlusher(
        capture, context.database, context.clock, ingest, settings=settings.analytics
    )
    return capture, flusher
