"""Operator commands, registered on the ``launchlink`` CLI by :func:`register`:
``web``, ``doctor``, ``workspaces`` and ``export-static``."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from launchlink.config import Settings, load_settings
from launchlink.ops.doctor import Process
from launchlink.ops.metrics import MULTIPROC_ENV

console = Console()
errors = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("web")(web)
    app.command("doctor")(doctor)
    app.command("workspaces")(workspaces)
    app.command("export-static")(export_static)


def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Web worker processes.")] = 1,
    migrate_first: Annotated[
        bool,
        typer.Option(
            "--migrate/--no-migrate",
            help="Apply migrations first (off: in a scaled deployment migrating is its own "
            "release step, see docs/deploy.md).",
        ),
    ] = False,
) -> None:
    """Serve smart links, the API and the dashboard only (granian; workers do the jobs).

    Fulfilment runs in `launchlink worker` processes: this command turns the embedded
    worker off unless LAUNCHLINK_EMBEDDED_WORKER says otherwise.
    """
    os.environ.setdefault("LAUNCHLINK_EMBEDDED_WORKER", "false")
    settings = load_settings()
    if migrate_first:
        from launchlink.migrate import upgrade_to_head

        upgrade_to_head(settings.resolved_database_url)
    errors.print(f"launchlink web on http://{host}:{port} with {workers} process(es)")
    run_granian(host, port, workers, settings)


def run_granian(host: str, port: int, workers: int, settings: Settings) -> None:
    """Serve the app with granian (``web`` and ``serve``), metrics summed across workers."""
    from granian import Granian
    from granian.constants import Interfaces

    metrics_dir = prepare_multiprocess_metrics(workers)
    try:
        Granian(
            "launchlink.app:create_default_app",
            factory=True,
            address=host,
            port=port,
            workers=workers,
            interface=Interfaces.ASGI,
            log_access=False,
            # SIGTERM: each worker finishes its requests and runs the app's shutdown
            # (buffers drained, leases handed back) within this many seconds.
            workers_kill_timeout=max(1, int(settings.ops.shutdown_grace_seconds) + 5),
        ).serve()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def prepare_multiprocess_metrics(workers: int) -> str | None:
    """Give several web workers one fresh metrics directory (see ops/metrics.py).

    prometheus-client picks its storage when it is imported, and this process has
    imported it already; so the workers are spawned (a fresh interpreter that imports it
    with the directory set), not forked with this process's in-memory values.
    """
    if workers < 2:
        return None
    import multiprocessing

    multiprocessing.set_start_method("spawn", force=True)
    if os.environ.get(MULTIPROC_ENV):
        return None
    directory = tempfile.mkdtemp(prefix="launchlink-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    return directory


def prepare_worker(
    *, concurrency: int | None, metrics_port: int | None, metrics_host: str = "127.0.0.1"
) -> None:
    """Before ``launchlink worker`` starts: its logging, its concurrency, its /metrics."""
    from launchlink.ops.logs import configure_logging

    if concurrency is not None:
        os.environ["LAUNCHLINK_FULFILMENT__CONCURRENCY"] = str(concurrency)
    configure_logging(load_settings().ops)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)


def doctor(
    process: Annotated[
        Process | None,
        typer.Option(
            "--for",
            help="The command this configuration runs (serve, web or worker): the process "
            "model is judged for it. Without it, for every command.",
        ),
    ] = None,
) -> None:
    """Check configuration, process model, database, migrations, Redis, keys, mail and
    services; say what to fix. Exits 1 when something will not work."""
    from launchlink.ops.doctor import run_checks

    try:
        settings = load_settings()
    except Exception as error:  # pydantic's ValidationError names the variable
        errors.print(f"[bold red]configuration does not load:[/]\n{error}")
        raise typer.Exit(1) from None
    findings = asyncio.run(run_checks(settings, process=process))
    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}
    if console.is_terminal:
        table = Table("check", "", "finding", "what to do")
        for finding in findings:
            table.add_row(finding.area, marks[finding.level], finding.message, finding.fix)
        console.print(table)
    else:
        for finding in findings:
            fix = f" -> {finding.fix}" if finding.fix else ""
            print(f"{finding.level}\t{finding.area}\t{finding.message}{fix}")
    failed = [finding for finding in findings if finding.level == "fail"]
    if failed:
        errors.print(f"{len(failed)} problem(s) to fix")
        raise typer.Exit(1)


def workspaces() -> None:
    """List workspaces (a table on a terminal, tab-separated lines when piped)."""
    from launchlink.db import Database
    from launchlink.ops.repository import OpsRepository, WorkspaceRow

    async def listing() -> list[WorkspaceRow]:
        database = Database.from_settings(load_settings())
        try:
            async with database.sessionmaker() as session:
                return await OpsRepository(session).workspaces()
        finally:
            await database.dispose()

    rows = asyncio.run(listing())
    if console.is_terminal:
        table = Table("id", "name", "kind", "links", "created")
        for row in rows:
            table.add_row(row.id, row.name, row.kind, str(row.links), f"{row.created_at:%Y-%m-%d}")
        console.print(table)
        return
    for row in rows:
        name = row.name.replace("\t", " ").replace("\n", " ")
        print(f"{row.id}\t{name}\t{row.kind}\t{row.links}\t{row.created_at.isoformat()}")


def export_static(
    directory: Annotated[Path, typer.Argument(help="Where to write the site (created).")],
    base_url: Annotated[
        str | None,
        typer.Option(help="The URL the export will be served from (default: the public URL)."),
    ] = None,
) -> None:
    """Write every live smart link as a self-contained HTML page, plus redirect maps for
    nginx, Caddy and Netlify-style hosts, so links outlive this service."""
    from launchlink.ops.static_export import export_site

    settings = load_settings()
    result = asyncio.run(export_site(settings, directory, base_url=base_url))
    console.print(
        f"exported {result.links} link(s) and {result.redirects} redirect(s) to {directory}",
        markup=False,
        highlight=False,
    )
