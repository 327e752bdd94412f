"""Liveness, readiness and the database-backed metrics.

``/healthz`` says the process answers (nothing else: a liveness probe that checked the
database would restart every web pod when the database blinks). ``/readyz`` says this
process should get traffic: the database answers, it is migrated to this code's head,
Redis answers when configured, and the outbox is not lagging. Both speak
``application/health+json`` (draft-inadarei-api-health-check): ``status`` is ``pass``,
``warn`` or ``fail``, and a ``fail`` answers 503.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from prometheus_client.core import GaugeMetricFamily, Metric

from launchlink.context import AppContext
from launchlink.ops.repository import OpsRepository
from launchlink.outbox.dispatcher import describe_error

HEALTH_JSON = "application/health+json"
CHECK_TIMEOUT_SECONDS = 2.0

Status = Literal["pass", "warn", "fail"]
_RANK: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}


@dataclass
class Check:
    status: Status
    observed_value: float | str | None = None
    observed_unit: str | None = None
    output: str | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"status": self.status}
        if self.observed_value is not None:
            found["observedValue"] = self.observed_value
        if self.observed_unit is not None:
            found["observedUnit"] = self.observed_unit
        if self.output:
            found["output"] = self.output
        return found


@dataclass
class Report:
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        worst: Status = "pass"
        for check in self.checks.values():
            if _RANK[check.status] > _RANK[worst]:
                worst = check.status
        return worst

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": {name: [check.as_json()] for name, check in self.checks.items()},
        }

    def body(self) -> bytes:
        return json.dumps(self.as_json()).encode()


@cache
def head_revisions() -> frozenset[str]:
    """The migration heads this code ships (read once: they cannot change while running)."""
    from alembic.script import ScriptDirectory

    from launchlink.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def readiness(context: AppContext) -> Report:
    report = Report()
    report.checks["database:responseTime"] = await _timed(_database(context, report))
    if context.settings.redis_url:
        report.checks["redis:responseTime"] = await _timed(_redis(context.settings.redis_url))
    return report


async def _timed(check: Any) -> Check:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            output = await check
    except TimeoutError:
        return Check("fail", output=f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s")
    except Exception as error:
        return Check("fail", output=describe_error(error))
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return Check("pass", elapsed_ms, "ms", output)


async def _database(context: AppContext, report: Report) -> None:
    """Pings the database, then adds the checks that read it (migrations, outbox lag)."""
    now = context.clock.now()
    async with context.database.sessionmaker() as session:
        repository = OpsRepository(session)
        await repository.ping()
        current = await repository.migration_revisions()
        oldest = await repository.outbox_oldest_waiting(now)
    heads = head_revisions()
    if current == heads:
        report.checks["database:migrations"] = Check("pass", ",".join(sorted(current)))
    else:
        have = ",".join(sorted(current)) or "none"
        report.checks["database:migrations"] = Check(
            "fail",
            have,
            output=f"database at {have}, this code needs {','.join(sorted(heads))}: "
            "run `launchlink migrate`",
        )
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    limit = context.settings.ops.ready_outbox_lag_seconds
    report.checks["outbox:lag"] = Check(
        "fail" if lag > limit else "pass",
        round(lag, 3),
        "s",
        f"oldest waiting event is {lag:.0f} s old (limit {limit:.0f} s): are dispatchers running?"
        if lag > limit
        else None,
    )


async def _redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


@dataclass(eq=False)
class QueueDepths:
    """The database-backed gauges of one scrape (``/metrics``)."""

    fulfilment: dict[tuple[str, str], int]
    outbox: dict[str, int]
    outbox_lag_seconds: float
    analytics_inbox_rows: int = 0
    analytics_inbox_events: int = 0
    analytics_inbox_age_seconds: float = 0.0

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "launchlink_fulfilment_open_jobs",
            "Open fulfilment jobs by service and status (due, scheduled, leased).",
            labels=["service", "status"],
        )
        for (service, status), count in sorted(self.fulfilment.items()):
            jobs.add_metric([service, status], count)
        yield jobs
        outbox = GaugeMetricFamily(
            "launchlink_outbox_pending_deliveries",
            "Outbox deliveries not yet handled, by subscriber.",
            labels=["subscriber"],
        )
        for subscriber, count in sorted(self.outbox.items()):
            outbox.add_metric([subscriber], count)
        yield outbox
        yield GaugeMetricFamily(
            "launchlink_outbox_lag_seconds",
            "Age of the oldest event waiting for fan-out or a due delivery.",
            value=self.outbox_lag_seconds,
        )
        yield GaugeMetricFamily(
            "launchlink_analytics_inbox_rows",
            "Web processes' analytics flushes waiting in analytics_inbox for a worker.",
            value=self.analytics_inbox_rows,
        )
        yield GaugeMetricFamily(
            "launchlink_analytics_inbox_events",
            "Captured events in those waiting flushes (not yet enriched and stored).",
            value=self.analytics_inbox_events,
        )
        yield GaugeMetricFamily(
            "launchlink_analytics_inbox_oldest_seconds",
            "Age of the oldest waiting analytics flush (0 when the inbox is empty).",
            value=self.analytics_inbox_age_seconds,
        )


async def queue_depths(context: AppContext) -> QueueDepths:
    now = context.clock.now()
    async with context.database.sessionmaker() as session:
        repository = OpsRepository(session)
        fulfilment = await repository.fulfilment_depths(now)
        outbox = await repository.outbox_depths()
        oldest = await repository.outbox_oldest_waiting(now)
        inbox_rows, inbox_events, inbox_oldest = await repository.analytics_inbox_backlog()
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    age = max(0.0, (now - inbox_oldest).total_seconds()) if inbox_oldest is not None else 0.0
    return QueueDepths(fulfilment, outbox, lag, inbox_rows, inbox_events, round(age, 3))
