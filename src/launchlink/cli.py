"""The ``launchlink`` command line."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts.repository import WorkspaceRepository
from launchlink.analytics.cli import app as analytics_app
from launchlink.analytics.cli import simulate_traffic
from launchlink.catalog.repository import ReleaseRepository
from launchlink.config import Settings, load_settings
from launchlink.db import Database
from launchlink.errors import LaunchlinkError, NotFound, ValidationFailed
from launchlink.messaging.cli import app as messaging_app
from launchlink.models.accounts import Role, WorkspaceKind
from launchlink.ops.cli import register as register_ops_commands

app = typer.Typer(
    help="launchlink: one link from pre-save to smart link.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(analytics_app, name="analytics")
app.add_typer(messaging_app, name="messaging")
app.command("simulate-traffic")(simulate_traffic)
register_ops_commands(app)
console = Console()
errors = Console(stderr=True)

T = TypeVar("T")


def _run(make: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    settings = load_settings()
    try:
        return asyncio.run(make(settings))
    except LaunchlinkError as error:
        where = f" ({error.field})" if error.field else ""
        errors.print(f"[bold red]error{where}:[/] {error.message}")
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply database migrations (LAUNCHLINK_DATABASE_URL; default SQLite under var/)."""
    from launchlink.migrate import upgrade_to_head

    settings = load_settings()
    upgrade_to_head(settings.resolved_database_url)
    console.print(f"[green]database is up to date[/] ({_safe_url(settings.resolved_database_url)})")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    server: Annotated[
        str, typer.Option(help="granian (production) or uvicorn (development).")
    ] = "granian",
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before serving.")
    ] = True,
) -> None:
    """Serve the smart links, the API and the dashboard."""
    from launchlink.migrate import upgrade_to_head

    if server not in ("granian", "uvicorn"):
        raise typer.BadParameter("choose granian or uvicorn", param_hint="--server")
    settings = load_settings()
    if migrate_first:
        # Once here, before workers start, so N workers never race to migrate.
        upgrade_to_head(settings.resolved_database_url)
    console.print(f"[bold]launchlink[/] serving on http://{host}:{port} with {workers} worker(s)")
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "launchlink.app:create_default_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            # Our own trusted-proxy rules read X-Forwarded-For (kit/geo.py), as on granian;
            # uvicorn's would rewrite the peer first and hide the proxy from them.
            proxy_headers=False,
        )
        return
    from launchlink.ops.cli import run_granian

    run_granian(host, port, workers, settings)


@app.command()
def demo(
    release_in: Annotated[
        str | None,
        typer.Option(
            "--release-in",
            help="Move the demo single's release to now + this delay (30s, 2m, 1h) to "
            "watch release day and its fulfilment.",
        ),
    ] = None,
) -> None:
    """Seed the demo workspace, artists, releases and links (safe to run again)."""
    from launchlink.demo import parse_duration, seed_demo

    try:
        delay = parse_duration(release_in) if release_in is not None else None
    except LaunchlinkError as error:
        raise typer.BadParameter(error.message, param_hint="--release-in") from None

    result = _run(lambda settings: seed_demo(settings, release_in=delay))
    console.print(
        f"[green]demo ready[/]: {result.public_url}/demo and {result.public_url}/demo-soon"
    )
    if result.api_key:
        console.print(f"demo API key: [bold]{result.api_key}[/]  (kept in var/demo_api_key)")
    if result.moved_to is not None:
        at = result.moved_to.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        console.print(
            f"[bold]Lantern Light[/] ({result.public_url}/demo-soon) now releases at {at}, "
            f"in {release_in}, everywhere at once."
        )
        console.print(
            "Pre-save it before then; a running `launchlink serve` moves its simulated "
            "services too and fulfils at release time. Watch it with: "
            f"launchlink fulfil --release {result.single_release_id} --watch"
        )


@app.command("create-workspace")
def create_workspace(
    name: Annotated[str, typer.Option(help="Artist or label name.")],
    kind: Annotated[WorkspaceKind, typer.Option(help="artist or label.")] = WorkspaceKind.label,
) -> None:
    """Create a workspace and print its id."""
    from launchlink.accounts import service as accounts

    async def make(settings: Settings) -> UUID:
        database = _database(settings)
        try:
            async with database.transaction() as session:
                workspace = await accounts.create_workspace(session, name=name, kind=kind)
                return workspace.id
        finally:
            await database.dispose()

    console.print(str(_run(make)))


@app.command("create-api-key")
def create_api_key(
    workspace: Annotated[str, typer.Option(help="Workspace id or exact name.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "API key",
    role: Annotated[
        Role, typer.Option(help="owner, admin, editor or viewer (read-only).")
    ] = Role.admin,
) -> None:
    """Issue an API key for one workspace; the key is printed once and never stored."""
    from launchlink.accounts import service as accounts

    async def make(settings: Settings) -> str:
        database = _database(settings)
        try:
            async with database.transaction() as session:
                workspace_id = await _workspace_id(session, workspace)
                issued = await accounts.issue_api_key(
                    session, workspace_id=workspace_id, name=name, role=role
                )
                return issued.plaintext
        finally:
            await database.dispose()

    key = _run(make)
    errors.print("[yellow]store this key now; it cannot be shown again[/]")
    console.print(key)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    workspace: Annotated[str | None, typer.Option(help="Workspace id or name to join.")] = None,
    role: Annotated[Role, typer.Option(help="Role in that workspace.")] = Role.editor,
    password: Annotated[
        str | None, typer.Option(help="At least 10 characters; prompted when omitted.")
    ] = None,
) -> None:
    """Create a dashboard user, optionally a member of a workspace."""
    from launchlink.accounts import service as accounts

    if password is None:
        password = os.environ.get("LAUNCHLINK_NEW_USER_PASSWORD") or typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )

    async def make(settings: Settings) -> UUID:
        database = _database(settings)
        try:
            async with database.transaction() as session:
                workspace_id = await _workspace_id(session, workspace) if workspace else None
                user = await accounts.create_user(
                    session,
                    email=email,
                    name=name,
                    password=password,
                    workspace_id=workspace_id,
                    role=role,
                )
                return user.id
        finally:
            await database.dispose()

    console.print(str(_run(make)))


@app.command()
def services(
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the link-only services.")
    ] = False,
) -> None:
    """What pre-save pages can offer on each service with this configuration, and why not."""
    from rich.table import Table

    from launchlink.bootstrap import connector_registry
    from launchlink.kit.clock import SystemClock
    from launchlink.presave.modes import SPOTIFY, RegistrySource, instance_offers
    from launchlink.presave.repository import PresaveRepository

    async def make(settings: Settings) -> Table:
        database = _database(settings)
        try:
            async with database.sessionmaker() as session:
                grants = await PresaveRepository(session).count_active_accounts(SPOTIFY)
        finally:
            await database.dispose()
        # Nothing is fetched: the decision reads configuration and capabilities only.
        registry = connector_registry(settings, SystemClock())
        try:
            found = instance_offers(RegistrySource(registry), active_spotify_grants=grants)
        finally:
            await registry.aclose()
        table = Table("service", "mode", "offered", "why not / what a release needs")
        for entry in found:
            if entry.connector is None and not show_all:
                continue
            for offer in entry.modes:
                table.add_row(
                    entry.service,
                    offer.mode.value,
                    "[green]yes[/]" if offer.offered else "[red]no[/]",
                    offer.reason or offer.requires or "",
                )
        return table

    console.print(_run(make))


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8765,
) -> None:
    """Run the platform simulator (imitations of Spotify, Apple Music, Deezer, ...)."""
    from launchlink.simulator.__main__ import run_simulator

    run_simulator(host, port)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Jobs in flight per service (default: settings)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve this worker's /metrics on this port."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
) -> None:
    """Run a fulfilment worker until SIGTERM/Ctrl-C (scale-out: run several, any machine)."""
    from launchlink.ops.cli import prepare_worker

    prepare_worker(concurrency=concurrency, metrics_port=metrics_port, metrics_host=metrics_host)
    from launchlink.fulfilment.tasks import run_worker

    async def make(settings: Settings) -> int:
        # Fulfilment, the outbox's subscribers and fans' messages, no web piece.
        return await run_worker(settings)

    processed = _run(make)
    console.print(f"worker stopped after {processed} job(s)")


@app.command()
def fulfil(
    release: Annotated[str, typer.Option(help="Release id.")],
    watch: Annotated[
        bool, typer.Option("--watch", help="Only watch; other workers do the work.")
    ] = False,
    until_settled: Annotated[
        bool,
        typer.Option(help="Exit when nothing is left to do now (else watch until Ctrl-C)."),
    ] = True,
    resume: Annotated[
        list[str] | None,
        typer.Option(
            help="Lift a service's pause (e.g. after a long Retry-After) and run its parked "
            "jobs now; repeat for several services."
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between progress updates.")
    ] = 1.0,
) -> None:
    """Run or watch one release's fulfilment with live progress per service.

    Exit codes: 0 when nothing due is left, 3 when only parked work is left (it says what
    and until when), 2 for a bad option.
    """
    from launchlink.fulfilment.console import fulfil_release

    try:
        release_id = UUID(release)
    except ValueError:
        raise typer.BadParameter("not a release id", param_hint="--release") from None

    async def make(settings: Settings) -> int:
        result = await fulfil_release(
            settings,
            release_id,
            watch_only=watch,
            until_settled=until_settled,
            resume=resume or [],
            console=console,
            interval=interval,
        )
        return result.exit_code

    code = _run(make)
    if code:
        raise typer.Exit(code)


@app.command()
def replan(
    release: Annotated[
        str | None,
        typer.Option(help="Only this release id (default: every release with pre-saves to come)."),
    ] = None,
) -> None:
    """Re-plan pre-saves and messages with the current territory time-zone table.

    Run it after changing LAUNCHLINK_TERRITORY_TIMEZONES_FILE and restarting: moving a
    release re-plans by itself, but a changed table is not a change any transaction sees.
    """
    from launchlink.kit.clock import SystemClock
    from launchlink.kit.territories import TerritoryTableError, TerritoryTimeZones
    from launchlink.presave.replan import Replan, releases_to_replan, replan_release

    try:
        only = UUID(release) if release is not None else None
    except ValueError:
        raise typer.BadParameter("not a release id", param_hint="--release") from None

    async def make(settings: Settings) -> list[tuple[UUID, Replan]]:
        try:
            table = TerritoryTimeZones.load(settings.territory_timezones_file)
        except TerritoryTableError as error:
            raise ValidationFailed(error.message, field="territory_timezones_file") from None
        clock = SystemClock()
        database = _database(settings)
        done: list[tuple[UUID, Replan]] = []
        try:
            async with database.transaction() as session:
                ids = [only] if only is not None else await releases_to_replan(session)
            for release_id in ids:
                # One release per transaction: a big catalogue never holds the lock long.
                async with database.transaction(write_lock=True) as session:
                    found = await ReleaseRepository(session).by_id(release_id, for_update=True)
                    if found is None:
                        raise NotFound(f"no release {release_id} in this database", field="release")
                    done.append(
                        (
                            release_id,
                            await replan_release(session, found, territories=table, clock=clock),
                        )
                    )
        finally:
            await database.dispose()
        return done

    results = _run(make)
    for release_id, result in results:
        console.print(
            f"release {release_id}: {result.moved} waiting pre-save(s) moved, "
            f"{result.back_to_waiting} sent back to wait, {result.messages} message(s) moved",
            markup=False,
            highlight=False,
        )
    console.print(f"re-planned {len(results)} release(s)", markup=False, highlight=False)


def _database(settings: Settings) -> Database:
    return Database.from_settings(settings)


async def _workspace_id(session: AsyncSession, reference: str) -> UUID:
    repository = WorkspaceRepository(session)
    try:
        found = await repository.get(UUID(reference))
    except ValueError:
        found = await repository.get_by_name(reference)
    if found is None:
        raise NotFound(f"no workspace with id or name {reference!r}", field="workspace")
    return found.id


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
