"""One Jinja2 environment for the package's HTML templates (dashboard, error pages).

Autoescaping is on for every template and undefined names fail loudly, so a template
can neither inject markup from data nor silently print nothing.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from launchlink.web.static import static_url


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _local(value: datetime | None, zone: str) -> str:
    """The instant on the clocks of ``zone`` (an unknown zone: the instant in UTC)."""
    if value is None:
        return "—"
    try:
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M ") + zone
    except (ZoneInfoNotFoundError, ValueError):
        return _when(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("launchlink", "templates"),
        autoescape=select_autoescape(["html", "xml"], disabled_extensions=("txt",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["static"] = static_url
    env.filters["when"] = _when
    env.filters["local"] = _local
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
