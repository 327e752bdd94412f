"""``launchlink fulfil --release ID``: run (or watch) one release's fulfilment and show its
progress: a live table on a terminal (80 columns), one plain line per interval when the
output is piped or logged.

It stops when nothing is left to do now. When what remains is parked (a paused service,
a backoff, a release not on the service yet), it says what is parked, how much and until
when, and exits with :data:`EXIT_PARKED` so a script can tell "finished" from "stopped
with work left". ``--resume SERVICE`` lifts the service's pause and makes its parked jobs
claimable at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from launchlink.catalog.repository import ReleaseRepository
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.errors import NotFound
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.service import (
    Progress,
    build_engine,
    check_services,
    progress,
    resume_service,
)
from launchlink.fulfilment.worker import Worker
from launchlink.kit.clock import Clock, SystemClock

EXIT_DONE = 0
EXIT_PARKED = 3
"""Exit code when only parked work is left (nothing would happen for a while)."""

LEGEND = (
    "due: queued or running · waiting: for the release to appear on the service · "
    "later: before the fan's release instant · issues: partial, needs re-auth, failed"
)


@dataclass(frozen=True)
class FulfilResult:
    report: Progress
    exit_code: int


def compact(number: float) -> str:
    """At most 5 characters: exact below 100,000, then 123k / 1.2M."""
    if number < 100_000:
        return f"{number:.0f}"
    if number < 1_000_000:
        return f"{number / 1000:.0f}k"
    return f"{number / 1_000_000:.1f}M"


def _clock_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M:%S")


def _when(at: datetime, now: datetime) -> str:
    at = at.astimezone(UTC)
    if at.date() == now.astimezone(UTC).date():
        return f"{_clock_time(at)} UTC"
    return at.strftime("%Y-%m-%d %H:%M UTC")


def progress_table(report: Progress) -> Table:
    """One row per service; fits an 80-column terminal whatever the counts."""
    table = Table(
        title=f"release {report.release_id}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        caption=LEGEND,
        caption_justify="left",
    )
    table.add_column("service", no_wrap=True, min_width=12)
    for column in ("total", "done", "due", "waiting", "later", "issues", "/min"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("progress", no_wrap=True, width=10)
    for s in report.services:
        name = f"{s.service}*" if s.paused_until is not None else s.service
        table.add_row(
            name,
            compact(s.total),
            Text(compact(s.done), style="green"),
            compact(s.pending),
            compact(s.waiting_for_release),
            compact(s.scheduled),
            Text(compact(s.issues), style="red" if s.issues else ""),
            compact(s.per_minute),
            ProgressBar(total=max(s.total, 1), completed=s.finished, width=10),
        )
    return table


def notes(report: Progress, now: datetime) -> list[str]:
    """The lines under the table: ETA, pauses, what is parked, the issues by kind."""
    eta = report.eta_seconds
    lines = ["ETA " + (f"{eta:.0f} s" if eta is not None else "unknown (nothing moving)")]
    for s in report.services:
        if s.paused_until is not None:
            why = f": {s.pause_reason}" if s.pause_reason else ""
            lines.append(f"* {s.service} paused until {_when(s.paused_until, now)}{why}")
        kinds = [
            f"{count} {label}"
            for count, label in (
                (s.partial, "partial"),
                (s.needs_reauth, "need re-auth"),
                (s.failed, "failed"),
                (s.cancelled, "cancelled by the fan"),
            )
            if count
        ]
        if kinds:
            lines.append(f"{s.service}: " + ", ".join(kinds))
    return lines


def parked_lines(report: Progress, now: datetime) -> list[str]:
    """What is parked, how much and until when, by service and reason."""
    lines = []
    for s in report.services:
        if not s.parked:
            continue
        until = f" until {_when(s.parked_until, now)}" if s.parked_until else ""
        lines.append(f"{s.service}: {s.parked} parked{until}")
        for reason in report.reasons:
            if reason.service != s.service or reason.reason in ("in_progress", "not_yet_due"):
                continue
            error = f" ({reason.last_error})" if reason.last_error else ""
            lines.append(
                f"  {reason.count} {reason.reason.replace('_', ' ')}, next at "
                f"{_when(reason.next_at, now)}{error}"
            )
        if s.paused_until is not None:
            lines.append(f"  lift the pause now with: launchlink fulfil --resume {s.service}")
    return lines


def progress_line(report: Progress, now: datetime) -> str:
    """One plain line (no colour, no control characters) for piped output and logs."""
    parts = []
    for s in report.services:
        part = (
            f"{s.service} {s.done}/{s.total} done, {s.pending} due, "
            f"{s.waiting_for_release} waiting, {s.scheduled} later, {s.issues} issues, "
            f"{s.per_minute:.0f}/min"
        )
        if s.parked:
            part += f", {s.parked} parked"
        if s.paused_until is not None:
            part += f", paused until {_when(s.paused_until, now)}"
        parts.append(part)
    eta = report.eta_seconds
    parts.append("ETA " + (f"{eta:.0f} s" if eta is not None else "unknown"))
    return f"{now.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} " + "; ".join(parts or ["-"])


def _live_view(report: Progress, now: datetime) -> RenderableType:
    return Group(progress_table(report), *(Text(line) for line in notes(report, now)))


def _plain(console: Console, line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True, emoji=False)


async def fulfil_release(
    settings: Settings,
    release_id: UUID,
    *,
    watch_only: bool,
    until_settled: bool,
    resume: list[str],
    console: Console,
    interval: float = 1.0,
    clock: Clock | None = None,
) -> FulfilResult:
    """Run a worker in this process (unless ``watch_only``) while showing progress."""
    check_services(resume, field_name="resume")
    database = Database.from_settings(settings)
    try:
        async with database.transaction() as session:
            exists = await ReleaseRepository(session).by_id(release_id) is not None
        if not exists:
            raise NotFound(f"no release {release_id} in this database", field="release")
    except BaseException:
        await database.dispose()
        raise
    clock = clock or SystemClock()
    engine, registry = build_engine(settings, database, clock)
    worker = None if watch_only else Worker(engine)
    try:
        for service in resume:
            await engine.limiter.resume(service)
            async with database.transaction(write_lock=True) as session:
                released = await resume_service(session, service, clock=clock)
            _plain(console, f"{service} resumed: {released} parked job(s) can run now")
        if worker is not None:
            await worker.start()
        return await _show(console, database, engine, release_id, clock, until_settled, interval)
    finally:
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.stop()
        await engine.limiter.aclose()
        if engine.apps is not None:
            await engine.apps.aclose()
        await registry.aclose()
        await database.dispose()


async def _show(
    console: Console,
    database: Database,
    engine: FulfilmentEngine,
    release_id: UUID,
    clock: Clock,
    until_settled: bool,
    interval: float,
) -> FulfilResult:
    # The worker schedules and claims in the background; give it a first round before
    # judging that nothing is moving.
    report = await _report(database, engine, release_id, clock)
    live = (
        Live(_live_view(report, clock.now()), console=console, refresh_per_second=2)
        if console.is_terminal
        else None
    )
    with live if live is not None else contextlib.nullcontext():
        while True:
            await asyncio.sleep(interval)
            report = await _report(database, engine, release_id, clock)
            now = clock.now()
            if live is not None:
                live.update(_live_view(report, now))
            else:
                _plain(console, progress_line(report, now))
            if until_settled and report.total("active") == 0:
                break
    now = clock.now()
    if live is None:
        for line in notes(report, now):
            _plain(console, line)
    if report.only_parked_left:
        _plain(console, "nothing more can be done now; parked:")
        for line in parked_lines(report, now):
            _plain(console, line)
        return FulfilResult(report, EXIT_PARKED)
    _plain(console, "nothing due is left to do")
    return FulfilResult(report, EXIT_DONE)


async def _report(
    database: Database, engine: FulfilmentEngine, release_id: UUID, clock: Clock
) -> Progress:
    async with database.transaction() as session:
        return await progress(session, release_id, clock=clock, limiter=engine.limiter)


__all__ = [
    "EXIT_DONE",
    "EXIT_PARKED",
    "FulfilResult",
    "fulfil_release",
    "notes",
    "parked_lines",
    "progress_line",
    "progress_table",
]
