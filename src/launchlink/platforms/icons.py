"""Service icons as SVG text, for inlining into the smart-link page."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from launchlink.platforms.model import Platform


@cache
def icon_svg(icon: str) -> str:
    """The SVG markup of ``icon`` (a filename under launchlink/static/icons)."""
    if "/" in icon or "\\" in icon or not icon.endswith(".svg"):
        raise ValueError(f"not an icon file name: {icon!r}")
    return (files("launchlink") / "static" / "icons" / icon).read_text(encoding="utf-8")


def platform_icon_svg(platform: Platform) -> str:
    return icon_svg(platform.icon)
