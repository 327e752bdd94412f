"""The ``launchlink`` command line."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts.repository import WorkspaceRepository
from launchlink.config import Settings, load_settings
from launchlink.db import Database
from launchlink.errors import LaunchlinkError, NotFound
from launchlink.models.accounts import Role, WorkspaceKind

app = typer.Typer(
    help="launchlink: one link from pre-save to smart link.",
    no_args_is_help=True,
    add_completion=False,
)
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
        )
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "launchlink.app:create_default_app",
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        log_access=False,
    ).serve()


@app.command()
def demo() -> None:
    """Seed the demo workspace, artists, releases and links (safe to run again)."""
    from launchlink.demo import seed_demo

    result = _run(seed_demo)
    console.print(
        f"[green]demo ready[/]: {result.public_url}/demo and {result.public_url}/demo-soon"
    )
    if result.api_key:
        console.print(f"demo API key: [bold]{result.api_key}[/]  (kept in var/demo_api_key)")


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

    from launchlink.connectors.registry import ConnectorRegistry
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
        registry = ConnectorRegistry(settings.resolved_connectors())
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
def worker() -> None:
    """Run a fulfilment worker until SIGTERM/Ctrl-C (scale-out: run several, any machine)."""
    from launchlink.fulfilment.tasks import run_worker
    from launchlink.kit.clock import SystemClock
    from launchlink.presave.wiring import standalone_reminder_loop

    async def make(settings: Settings) -> int:
        # Release-day email reminders are sent by workers too, not only by `serve`.
        database = Database.from_settings(settings)
        reminders = standalone_reminder_loop(settings, database, SystemClock())
        reminders.start()
        try:
            return await run_worker(settings)
        finally:
            await reminders.stop()
            await database.dispose()

    processed = _run(make)
    console.print(f"worker stopped after {processed} job(s)")


@app.command()
def fulfil(
    release: Annotated[str, typer.Option(help="Release id.")],
    watch: Annotated[
        bool, typer.Option("--watch", help="Only watch; other workers do the work.")
    ] = False,
    until_settled: Annotated[
        bool, typer.Option(help="Exit when nothing due is pending (else Ctrl-C).")
    ] = True,
    resume: Annotated[
        list[str] | None, typer.Option(help="Lift a service's pause (e.g. after an alert).")
    ] = None,
) -> None:
    """Run or watch one release's fulfilment with live progress per service."""
    from launchlink.fulfilment.console import fulfil_release

    try:
        release_id = UUID(release)
    except ValueError:
        raise typer.BadParameter("not a release id", param_hint="--release") from None

    async def make(settings: Settings) -> object:
        return await fulfil_release(
            settings,
            release_id,
            watch_only=watch,
            until_settled=until_settled,
            resume=resume or [],
            console=console,
        )

    _run(make)


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
