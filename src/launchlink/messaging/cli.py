"""``launchlink messaging …``: the operator's commands for messaging.

``launchlink messaging quiet-hours list|set|reset`` edits the instance-wide quiet-hours
rules (``quiet_hours_rule`` rows without a workspace): they replace the built-in rule of
their scope and channel for every workspace; a workspace's own rules (the API's
``/api/v1/messaging/quiet-hours``) may only narrow them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from launchlink.config import load_settings
from launchlink.db import Database
from launchlink.errors import LaunchlinkError
from launchlink.messaging.manage import (
    QuietRule,
    instance_quiet_hours,
    reset_instance_quiet_hours,
    set_instance_quiet_hours,
)
from launchlink.models.messaging import MessageChannel

app = typer.Typer(help="Messaging: the operator's settings.", no_args_is_help=True)
quiet_app = typer.Typer(
    help="Instance-wide quiet hours (in each fan's own time zone).", no_args_is_help=True
)
app.add_typer(quiet_app, name="quiet-hours")
console = Console(highlight=False)
errors = Console(stderr=True)

Channel = Annotated[MessageChannel, typer.Option(help="email or sms.")]
Scope = Annotated[
    str, typer.Option(help="* (everywhere), a country (US) or a subdivision (US-FL).")
]


def parse_clock(value: str) -> int:
    """``08:00`` → 480 minutes after midnight (``24:00`` is the end of the day)."""
    hours, sep, minutes = value.partition(":")
    try:
        h, m = int(hours), int(minutes or "0")
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not HH:MM") from None
    if not sep and minutes:
        raise typer.BadParameter(f"{value!r} is not HH:MM")
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise typer.BadParameter(f"{value!r} is not a time of day (00:00 to 24:00)")
    return h * 60 + m


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _line(rule: QuietRule) -> str:
    note = f"  ({rule.note})" if rule.note else ""
    return (
        f"{rule.channel.value:5} {rule.scope:7} {_clock(rule.allowed_from)}-"
        f"{_clock(rule.allowed_until)}  {rule.source}{note}"
    )


def _database() -> Database:
    return Database.from_settings(load_settings())


@quiet_app.command("list")
def list_rules() -> None:
    """The rules in force for every workspace, and where each comes from."""

    async def run() -> list[QuietRule]:
        database = _database()
        try:
            async with database.transaction() as session:
                return await instance_quiet_hours(session)
        finally:
            await database.dispose()

    for rule in asyncio.run(run()):
        console.print(_line(rule), markup=False)


@quiet_app.command("set")
def set_rule(
    channel: Channel,
    scope: Scope,
    allowed_from: Annotated[str, typer.Option("--from", help="First allowed minute, HH:MM.")],
    allowed_until: Annotated[str, typer.Option("--until", help="End (exclusive), HH:MM.")],
    note: Annotated[str | None, typer.Option(help="Why (the law it follows...).")] = None,
) -> None:
    """Set the instance's hours for a place (replaces the built-in rule of that scope)."""
    start, end = parse_clock(allowed_from), parse_clock(allowed_until)

    async def run() -> QuietRule:
        database = _database()
        try:
            async with database.transaction(write_lock=True) as session:
                return await set_instance_quiet_hours(
                    session, channel=channel, scope=scope, allowed_from=start,
                    allowed_until=end, note=note,
                )  # fmt: skip
        finally:
            await database.dispose()

    try:
        rule = asyncio.run(run())
    except LaunchlinkError as error:
        errors.print(f"error ({error.field}): {error.message}", markup=False)
        raise typer.Exit(2) from None
    console.print(_line(rule), markup=False)


@quiet_app.command("reset")
def reset_rule(channel: Channel, scope: Scope) -> None:
    """Drop the instance's rule for a place: the built-in one (if any) applies again."""

    async def run() -> None:
        database = _database()
        try:
            async with database.transaction(write_lock=True) as session:
                await reset_instance_quiet_hours(session, channel=channel, scope=scope)
        finally:
            await database.dispose()

    try:
        asyncio.run(run())
    except LaunchlinkError as error:
        errors.print(f"error ({error.field}): {error.message}", markup=False)
        raise typer.Exit(2) from None
    console.print(f"{channel.value} {scope}: the instance's rule is gone", markup=False)
