"""Campaigns in bulk: a CSV of releases (a link, UPC or ISRC per row, an optional slug and
release date), checked row by row in a dry run, then created with a result per row.

Each row goes through the same one-paste path as the single form (``campaigns.preview``
and ``campaigns.create``); a row whose release already has a campaign of this workspace
is skipped with a pointer to it, never duplicated. In a real run each row is written in
its own SAVEPOINT, so a refused row leaves the others created.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts.audit import Actor
from launchlink.autofill.sources import LookupSources
from launchlink.dashboard import campaigns
from launchlink.errors import LaunchlinkError, ValidationFailed
from launchlink.kit.clock import Clock

MAX_ROWS = 100
COLUMNS = ("release", "slug", "release_date")
"""``release`` is what one would paste: a service URL, a UPC or an ISRC."""


@dataclass(frozen=True)
class RowResult:
    line: int
    release: str
    outcome: str
    """``ok`` (would be or was created), ``skipped`` (exists) or ``error``."""
    message: str
    slug: str | None = None
    link_id: str | None = None


def parse(text: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of the CSV with their line numbers; a header row is optional."""
    rows = [r for r in csv.reader(io.StringIO(text.strip())) if any(c.strip() for c in r)]
    if not rows:
        raise ValidationFailed(
            "paste at least one row: a release link, UPC or ISRC, then optionally a slug "
            "and a release date (YYYY-MM-DD)",
            field="csv",
        )
    header = [c.strip().lower() for c in rows[0]]
    # A first row whose first cell is no identifier is a header (then it must name columns).
    first = re.sub(r"[\s-]", "", header[0]) if header else ""
    identifier = (
        first.startswith(("http://", "https://"))
        or first.isdigit()
        or bool(re.fullmatch(r"[a-z]{2}[a-z0-9]{3}\d{7}", first))
    )
    start = 0 if identifier else 1
    names = header if start else list(COLUMNS)
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ValidationFailed(
            f"unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}", field="csv"
        )
    body = rows[start:]
    if len(body) > MAX_ROWS:
        raise ValidationFailed(f"at most {MAX_ROWS} rows at a time", field="csv")
    return [
        (
            number + start + 1,
            {n: (row[i].strip() if i < len(row) else "") for i, n in enumerate(names)},
        )
        for number, row in enumerate(body)
    ]


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"release date {value!r} is not YYYY-MM-DD") from None


async def run(
    session: AsyncSession,
    actor: Actor,
    text: str,
    *,
    dry_run: bool,
    sources: LookupSources,
    clock: Clock,
) -> list[RowResult]:
    results: list[RowResult] = []
    for line, row in parse(text):
        release = row.get("release", "")
        try:
            released_on = _date(row.get("release_date", ""))
            found = await campaigns.preview(session, actor.workspace_id, release, sources)
            if found.existing is not None:
                link, _ = found.existing
                results.append(
                    RowResult(line, release, "skipped", f"already a campaign: /{link.slug}",
                              link.slug, str(link.id))
                )  # fmt: skip
                continue
            slug = row.get("slug") or found.slug
            if dry_run:
                results.append(
                    RowResult(line, release, "ok", f"would create {found.resolution.release.title}"
                              f" at /{slug}", slug)
                )  # fmt: skip
                continue
            async with session.begin_nested():
                made = await campaigns.create(
                    session, actor, paste=release, slug=row.get("slug") or None,
                    release_date=released_on, sources=sources, clock=clock,
                )  # fmt: skip
            results.append(RowResult(line, release, "ok", "created", made.slug, str(made.id)))
        except LaunchlinkError as error:
            results.append(RowResult(line, release, "error", error.message))
    return results
