"""A design row as the public pages see it (kept free of the service's imports: the
snapshot builder uses it)."""

from __future__ import annotations

from launchlink.design.artwork import artwork_url
from launchlink.links.snapshot import DesignView
from launchlink.links.theme import DEFAULT_ACCENT, THEME_MODES, Theme, valid_color
from launchlink.models import LinkDesign


def design_view(design: LinkDesign | None) -> DesignView:
    """What the public snapshot carries of a design row (defaults without one)."""
    if design is None:
        return DesignView()
    mode = design.mode if design.mode in THEME_MODES else "auto"
    accent = valid_color(design.accent) or valid_color(design.artwork_accent) or DEFAULT_ACCENT
    return DesignView(
        theme=Theme(accent=accent, mode=mode),
        headline=design.headline or None,
        presave_headline=design.presave_headline or None,
    )


def stored_artwork_url(design: LinkDesign | None) -> str | None:
    return artwork_url(design.artwork_key) if design and design.artwork_key else None
