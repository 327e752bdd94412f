"""``launchlink analytics …``: replay stored raw events through today's classifier."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import httpx
import typer
from rich.console import Console

app = typer.Typer(help="Visit analytics.", no_args_is_help=True, add_completion=False)
errors = Console(stderr=True)


def _open_input(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return Path(path).open(encoding="utf-8")
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {path}: {error.strerror}", param_hint="INPUT"
        ) from None


@app.command("reclassify")
def reclassify_command(
    source: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="JSON Lines of stored raw events, or of a previous run's output ('-': stdin).",
        ),
    ] = "-",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write enriched events here (JSON Lines).")
    ] = None,
    stored: Annotated[
        bool,
        typer.Option(
            "--stored",
            help="Replay the events stored in the database instead, and rebuild the rollups.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="With --stored: replay from this UTC day (YYYY-MM-DD) on."),
    ] = None,
) -> None:
    """Re-run the classifier over stored raw events, so a better rule fixes history."""
    if stored:
        _replay_stored(since)
        return
    # Imported here: every `launchlink` command loads this module, few need the classifier.
    from launchlink.analytics.enrich import (
        CLASSIFIER_VERSION,
        Dropped,
        EventDraft,
        InvalidRawEvent,
        reclassify,
    )

    classes: Counter[str] = Counter()
    changed = dropped = 0
    written: list[str] = []
    stream = _open_input(source)
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            record = _parse_line(line, number)
            raw_fields = record.get("raw", record)
            try:
                draft = EventDraft.from_json(raw_fields)
            except InvalidRawEvent as error:
                _fail(number, error.field, error.problem)
            result = reclassify(draft)
            if isinstance(result, Dropped):
                dropped += 1
                written.append(json.dumps({"dropped": result.step, "reason": result.reason}))
                continue
            classes[result.bot_class] += 1
            if "bot_class" in record and record["bot_class"] != result.bot_class:
                changed += 1
            written.append(json.dumps(result.to_json(), ensure_ascii=False))
    finally:
        if stream is not sys.stdin:
            stream.close()
    text = "".join(f"{entry}\n" for entry in written)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    summary = ", ".join(f"{name} {count}" for name, count in sorted(classes.items()))
    errors.print(
        f"classifier v{CLASSIFIER_VERSION}: {sum(classes.values())} event(s) "
        f"({summary or 'none'}), {changed} changed class, {dropped} dropped"
    )


def _parse_line(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        _fail(number, "line", f"not JSON ({error.msg})")
    if not isinstance(record, dict):
        _fail(number, "line", "expected a JSON object")
    return record


def _fail(number: int, field: str, problem: str) -> NoReturn:
    errors.print(f"[bold red]error (line {number}, {field}):[/] {problem}")
    raise typer.Exit(2)


def _day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter("expected a date (YYYY-MM-DD)", param_hint=name) from None


def _replay_stored(since: str | None) -> None:
    from launchlink.analytics import service
    from launchlink.analytics.enrich import CLASSIFIER_VERSION
    from launchlink.config import load_settings
    from launchlink.db import Database

    start = _day(since, "--since")

    async def run() -> dict[str, int]:
        database = Database.from_settings(load_settings())
        try:
            async with database.transaction(write_lock=True) as session:
                return await service.replay(session, since=start)
        finally:
            await database.dispose()

    counts = asyncio.run(run())
    errors.print(
        f"classifier v{CLASSIFIER_VERSION}: {counts['events']} stored event(s) replayed, "
        f"{counts['changed']} changed; rollups rebuilt"
    )


@app.command("prune")
def prune_command(
    days: Annotated[
        float | None,
        typer.Option(help="Keep this many days of raw events (default: the setting)."),
    ] = None,
) -> None:
    """Delete raw events older than the retention now (rollups stay)."""
    from launchlink.analytics import service
    from launchlink.config import load_settings
    from launchlink.db import Database
    from launchlink.kit.clock import utc_now

    settings = load_settings()
    keep = days if days is not None else settings.analytics.retention_days
    if keep <= 0:
        raise typer.BadParameter("must be more than 0", param_hint="--days")

    async def run() -> int:
        database = Database.from_settings(settings)
        try:
            async with database.transaction(write_lock=True) as session:
                return await service.prune(session, utc_now(), keep)
        finally:
            await database.dispose()

    errors.print(f"{asyncio.run(run())} raw event(s) older than {keep:g} day(s) deleted")


def simulate_traffic(
    base_url: Annotated[str, typer.Option(help="The running server.")] = "http://127.0.0.1:8000",
    slug: Annotated[str, typer.Option(help="The smart link to visit.")] = "demo",
    services: Annotated[
        str, typer.Option(help="Comma-separated services of the link to click.")
    ] = "spotify,apple_music",
    people: Annotated[int, typer.Option(min=1, max=100_000, help="People to simulate.")] = 300,
    robots: Annotated[int, typer.Option(min=0, max=100_000, help="Robot requests.")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of the mix (same seed, same mix).")] = 7,
    country_header: Annotated[
        str, typer.Option(help="The server's trusted country header.")
    ] = "cf-ipcountry",
    truth: Annotated[Path, typer.Option(help="Where to write the ground truth (JSON).")] = Path(
        "simulated-traffic.json"
    ),
) -> None:
    """Drive a running server with a known mix of people and robots; write the truth."""
    from launchlink.analytics.simulate import simulate

    names = [name.strip() for name in services.split(",") if name.strip()]
    if not names:
        raise typer.BadParameter("name at least one service", param_hint="--services")
    try:
        result = asyncio.run(
            simulate(
                base_url, slug, names, seed=seed, people=people, robots=robots,
                country_header=country_header,
            )
        )  # fmt: skip
    except (RuntimeError, OSError, httpx.HTTPError) as error:
        errors.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(1) from None
    truth.write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
    errors.print(
        f"{result['requests']} request(s): {result['views']} view(s) by people, "
        f"{result['clicks_total']} click(s), {sum(result['bot_views'].values())} robot or "
        f"prefetch request(s); truth in {truth}"
    )
