"""WCAG 2.x contrast arithmetic for brand-coloured buttons."""

from __future__ import annotations

import re

_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
BLACK = "#000000"
WHITE = "#FFFFFF"
WCAG_AA_NORMAL_TEXT = 4.5


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.03928 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    if not _HEX_COLOR.fullmatch(color):
        raise ValueError(f"expected a #RRGGBB colour, got {color!r}")
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_color(background: str) -> str:
    """Black or white, whichever contrasts more; one of them always reaches 4.58:1."""
    return max((BLACK, WHITE), key=lambda text: contrast_ratio(background, text))
