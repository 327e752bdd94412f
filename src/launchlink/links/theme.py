"""The artist's theme on fan pages: a few CSS custom properties computed from two choices.

An operator picks an accent colour (by default the one taken from the artwork) and a
mode (light, dark, or the visitor's system setting). Everything else — page background,
text, muted text, card, focus ring — is derived here so that every text/background pair
the pages use reaches WCAG AA whatever colour was chosen: a theme cannot be made
unreadable from the dashboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from launchlink.platforms.colors import contrast_ratio, readable_text_color

ThemeMode = Literal["auto", "light", "dark"]
THEME_MODES: tuple[ThemeMode, ...] = ("auto", "light", "dark")
DEFAULT_ACCENT = "#6D28D9"
HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")

_LIGHT_BASE = "#FFFFFF"
_DARK_BASE = "#0C0C10"
_LIGHT_TEXT = "#18181B"
_DARK_TEXT = "#FAFAFA"
_AA = 4.5


@dataclass(frozen=True, slots=True)
class Palette:
    bg: str
    card: str
    fg: str
    muted: str
    line: str
    focus: str
    accent: str
    on_accent: str

    def css(self) -> str:
        return (
            f"--bg:{self.bg};--card:{self.card};--fg:{self.fg};--muted:{self.muted};"
            f"--line:{self.line};--focus:{self.focus};--accent:{self.accent};"
            f"--on-accent:{self.on_accent}"
        )


def valid_color(value: str | None) -> str | None:
    """``#rrggbb`` upper-cased, or None for anything else (the only form stored)."""
    if value is None:
        return None
    value = value.strip()
    return value.upper() if HEX_COLOR.fullmatch(value) else None


def mix(first: str, second: str, weight: float) -> str:
    """``weight`` of ``first`` blended into ``second`` in sRGB (enough for tints)."""
    a = [int(first[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(second[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(
        f"{round(x * weight + y * (1 - weight)):02X}" for x, y in zip(a, b, strict=True)
    )


def _readable_on(background: str, preferred: str, fallback: str) -> str:
    """``preferred`` stepped towards ``fallback`` until it reads on ``background``."""
    for step in range(11):
        candidate = mix(fallback, preferred, step / 10)
        if contrast_ratio(candidate, background) >= _AA:
            return candidate
    return fallback


def palette(accent: str, dark: bool) -> Palette:
    """The page colours for one accent in light or dark."""
    base, text = (_DARK_BASE, _DARK_TEXT) if dark else (_LIGHT_BASE, _LIGHT_TEXT)
    bg = mix(accent, base, 0.18 if dark else 0.08)
    card = mix(accent, base, 0.10 if dark else 0.0)
    muted = _readable_on(bg, mix(text, bg, 0.72), text)
    # The focus ring must stand out from the page and from an accent-filled pill: the
    # page's text colour does both (the pill's own text colour is shown as a halo).
    return Palette(
        bg=bg,
        card=card,
        fg=text,
        muted=_readable_on(card, muted, text),
        line=mix(text, bg, 0.22),
        focus=text,
        accent=accent,
        on_accent=readable_text_color(accent),
    )


@dataclass(frozen=True, slots=True)
class Theme:
    accent: str = DEFAULT_ACCENT
    mode: ThemeMode = "auto"

    def css(self) -> str:
        """The ``:root`` rules of this theme (inlined in the page's style block)."""
        accent = valid_color(self.accent) or DEFAULT_ACCENT
        light, dark = palette(accent, dark=False), palette(accent, dark=True)
        if self.mode == "light":
            return f":root{{color-scheme:light;{light.css()}}}"
        if self.mode == "dark":
            return f":root{{color-scheme:dark;{dark.css()}}}"
        return (
            f":root{{color-scheme:light dark;{light.css()}}}"
            f"@media (prefers-color-scheme:dark){{:root{{{dark.css()}}}}}"
        )


__all__ = ["DEFAULT_ACCENT", "THEME_MODES", "Palette", "Theme", "ThemeMode", "mix", "palette"]
