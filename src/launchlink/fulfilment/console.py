"""``launchlink fulfil --release ID``: run (or watch) one release's fulfilment with a live
progress display: done / pending / waiting for release / failed, rate per service, ETA."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.errors import NotFound
from launchlink.fulfilment.service import Progress, build_engine, progress
from launchlink.fulfilment.worker import Worker
from launchlink.kit.clock import SystemClock
from launchlink.models.catalog import Release


def progress_table(report: Progress) -> Table:
    table = Table(title=f"release {report.release_id}")
    for column in (
        "service",
        "total",
        "done",
        "pending",
        "waiting for release",
        "not yet due",
        "partial",
        "needs re-auth",
        "failed",
        "cancelled",
        "per min",
        "paused until",
    ):
        table.add_column(column, justify="left" if column == "service" else "right")
    table.add_column("progress", min_width=22)
    for s in report.services:
        finished = s.done + s.partial + s.needs_reauth + s.failed + s.cancelled
        table.add_row(
            s.service,
            str(s.total),
            f"[green]{s.done}[/]",
            str(s.pending),
            str(s.waiting_for_release),
            str(s.scheduled),
            f"[yellow]{s.partial}[/]",
            f"[yellow]{s.needs_reauth}[/]",
            f"[red]{s.failed}[/]",
            str(s.cancelled),
            f"{s.per_minute:.0f}",
            s.paused_until.strftime("%H:%M:%S") if s.paused_until else "",
            ProgressBar(total=max(s.total, 1), completed=finished, width=20),
        )
    eta = report.eta_seconds
    table.caption = "ETA " + (f"{eta:.0f} s" if eta is not None else "unknown (nothing moving)")
    return table


async def fulfil_release(
    settings: Settings,
    release_id: UUID,
    *,
    watch_only: bool,
    until_settled: bool,
    resume: list[str],
    console: Console,
) -> Progress:
    """Run a worker in this process (unless ``watch_only``) while showing progress."""
    database = Database.from_settings(settings)
    try:
        async with database.transaction() as session:
            exists = await session.get(Release, release_id) is not None
        if not exists:
            raise NotFound(f"no release {release_id} in this database", field="release")
    except BaseException:
        await database.dispose()
        raise
    clock = SystemClock()
    engine, registry = build_engine(settings, database, clock)
    worker = None if watch_only else Worker(engine)
    try:
        for service in resume:
            await engine.limiter.resume(service)
            console.print(f"[green]{service} resumed[/]")
        if worker is not None:
            await worker.start()
        report = await _report(database, engine, release_id, clock)
        with Live(progress_table(report), console=console, refresh_per_second=2) as live:
            while True:
                await asyncio.sleep(1)
                report = await _report(database, engine, release_id, clock)
                live.update(progress_table(report))
                if until_settled and report.total("pending") == 0:
                    break
        return report
    finally:
        if worker is not None:
            with contextlib.suppress(Exception):
                await worker.stop()
        await engine.limiter.aclose()
        await registry.aclose()
        await database.dispose()


async def _report(
    database: Database, engine: object, release_id: UUID, clock: SystemClock
) -> Progress:
    from launchlink.fulfilment.engine import FulfilmentEngine

    assert isinstance(engine, FulfilmentEngine)
    async with database.transaction() as session:
        return await progress(session, release_id, clock=clock, limiter=engine.limiter)
