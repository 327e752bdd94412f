"""``launchlink analytics …``: replay stored raw events through today's classifier."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

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
) -> None:
    """Re-run the classifier over stored raw events, so a better rule fixes history."""
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
