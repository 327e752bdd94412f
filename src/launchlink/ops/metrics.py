"""The process's Prometheus metrics: one registry every package imports.

Use the helpers (``events_dropped("bot")``, ``provider_rate_limited("spotify")``...) rather
than the metric objects, so label names stay in one place.

Several web workers: ``launchlink web --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR`` to a
fresh directory before the workers start, so prometheus-client keeps every value in
memory-mapped files there and ``/metrics`` (answered by whichever worker) adds them up
across processes (:func:`exposition`). Without it (``serve``, a worker, tests) values live
in the process. Queue depths are not counted here: they are read from the database when
``/metrics`` is scraped (:mod:`launchlink.ops.health`), so every process reports the
same truth and nothing has to be kept in sync.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPE_LATEST",
    "events_buffered",
    "events_dropped",
    "events_flushed",
    "exposition",
    "frozen_objects",
    "fulfilment_delay",
    "fulfilment_processed",
    "limiter_waited",
    "observe_request",
    "outbox_handled",
    "provider_rate_limited",
    "route_class",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets for a hot path served from memory in well under a millisecond, and for
# API calls that do a few queries.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_DELAY_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400)

HTTP_REQUESTS = Counter(
    "launchlink_http_requests",
    "HTTP requests answered, by route class and status code.",
    ["route", "status"],
)
HTTP_LATENCY = Histogram(
    "launchlink_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route class.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
EVENTS = Counter(
    "launchlink_analytics_events",
    "Analytics events (visits, clicks) by stage: buffered, flushed, or dropped with a reason.",
    ["stage", "reason"],
)
PROVIDER_429 = Counter(
    "launchlink_provider_rate_limited",
    "HTTP 429 answers from streaming services, by service.",
    ["service"],
)
LIMITER_WAIT = Histogram(
    "launchlink_limiter_wait_seconds",
    "Time spent waiting for a rate-limiter slot before calling a service.",
    ["service"],
    buckets=_WAIT_BUCKETS,
)
FULFILMENT_PROCESSED = Counter(
    "launchlink_fulfilment_jobs_processed",
    "Fulfilment jobs a worker finished processing (done, failed or rescheduled), by service.",
    ["service"],
)
FULFILMENT_DELAY = Histogram(
    "launchlink_fulfilment_delay_seconds",
    "Time from a pre-save's release instant in the fan's territory to its fulfilment.",
    ["service"],
    buckets=_DELAY_BUCKETS,
)
OUTBOX_HANDLED = Counter(
    "launchlink_outbox_deliveries",
    "Outbox deliveries a dispatcher finished, by subscriber and outcome (handled, retried, "
    "parked).",
    ["subscriber", "outcome"],
)

# The route classes requests are counted under: a fixed set, so a scan of random paths
# cannot blow up the number of series.
ROUTE_CLASSES = ("link", "api", "presave", "static", "ops", "simulator", "dev", "internal")
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/", "api"),
    ("/presave/", "presave"),
    ("/oauth/", "presave"),
    ("/revoke/", "presave"),
    ("/static/", "static"),
    ("/_sim/", "simulator"),
    ("/_dev/", "dev"),
    ("/_internal/", "internal"),
)
_OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_STATIC_PATHS = frozenset({"/robots.txt", "/favicon.ico"})


def route_class(path: str) -> str:
    """The class a request path is counted under (smart links are everything else)."""
    if path in _OPS_PATHS:
        return "ops"
    if path in _STATIC_PATHS:
        return "static"
    for prefix, name in _PREFIXES:
        if path.startswith(prefix) or path == prefix[:-1]:
            return name
    return "link"


_REQUEST_SERIES: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
"""(route class, status) → its counter and histogram children. ``labels()`` validates and
looks the child up under a lock on every call: 3.7 µs of the 6.6 µs this cost per request
(a redirect is ~37 µs). Route classes and statuses are few, so this stays small."""


def observe_request(route: str, status: int, seconds: float) -> None:
    series = _REQUEST_SERIES.get((route, status))
    if series is None:
        series = (HTTP_REQUESTS.labels(route, str(status)), HTTP_LATENCY.labels(route))
        _REQUEST_SERIES[(route, status)] = series
    series[0].inc()
    series[1].observe(seconds)


def events_buffered(count: int = 1) -> None:
    EVENTS.labels("buffered", "").inc(count)


def events_flushed(count: int = 1) -> None:
    EVENTS.labels("flushed", "").inc(count)


def events_dropped(reason: str, count: int = 1) -> None:
    """``reason`` must come from a fixed set (bot, buffer_full, invalid...), never input."""
    EVENTS.labels("dropped", reason).inc(count)


def provider_rate_limited(service: str) -> None:
    PROVIDER_429.labels(service).inc()


def limiter_waited(service: str, seconds: float) -> None:
    LIMITER_WAIT.labels(service).observe(max(0.0, seconds))


def fulfilment_processed(service: str) -> None:
    FULFILMENT_PROCESSED.labels(service).inc()


def fulfilment_delay(service: str, seconds: float) -> None:
    FULFILMENT_DELAY.labels(service).observe(max(0.0, seconds))


def outbox_handled(subscriber: str, outcome: str, count: int = 1) -> None:
    OUTBOX_HANDLED.labels(subscriber, outcome).inc(count)


SCRAPE_FAILURES = Counter(
    "launchlink_metrics_scrape_failures",
    "Scrapes of /metrics whose database-backed gauges could not be read.",
)


def scrape_failed() -> None:
    SCRAPE_FAILURES.inc()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class _FrozenObjects:
    """Objects the answering process moved out of the collector's sight at start-up
    (``gc.freeze()`` in ``Application.startup``; 0 in tests, which do not freeze)."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "launchlink_gc_frozen_objects",
            "Objects frozen out of garbage collection at start-up (the answering process).",
            value=gc.get_freeze_count(),
        )


def frozen_objects() -> Collector:
    return _FrozenObjects()


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text format of every metric of this process (or of all web workers), plus
    ``extra`` collectors evaluated now."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    collectors = list(extra)
    if collectors:
        snapshot = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            snapshot.register(collector)
        body += generate_latest(snapshot)
    return body
