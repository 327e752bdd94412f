"""The Instagram Stories image of a release (1080 × 1920 PNG), drawn on our server.

Fans share it from the confirmation page: the cover (only artwork we stored ourselves —
a service's CDN URL is never fetched), the title, the artists, when it is out and the
link, on the link's theme. Pillow's bundled scalable font keeps it free of system fonts.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from launchlink.links.theme import mix, palette

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 1080, 1920
COVER = 840
MARGIN = 96
CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class StoryText:
    title: str
    artists: str
    when: str
    """e.g. "Out Friday, 6 March 2026, midnight" or "Out now"."""
    call: str
    """e.g. "Pre-save now"."""
    link: str
    """The link as people type it: host and slug."""


def _wrapped(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    lines: int,
) -> list[str]:
    """``text`` in at most ``lines`` lines no wider than ``width`` (the last one cut with …)."""
    words, out, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= width or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = [*out[: lines - 1], " ".join(out[lines - 1 :])]
    last = out[-1] if out else ""
    while out and draw.textlength(last, font=font) > width and len(last) > 1:
        last = last[:-2] + "…"
    if out:
        out[-1] = last
    return out


def story_png(text: StoryText, *, accent: str, cover: bytes | None) -> bytes:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    colours = palette(accent, dark=True)
    top, bottom = mix(accent, "#000000", 0.55), colours.bg
    image = Image.new("RGB", (WIDTH, HEIGHT), bottom)
    draw = ImageDraw.Draw(image)
    start = tuple(int(top[i : i + 2], 16) for i in (1, 3, 5))
    end = tuple(int(bottom[i : i + 2], 16) for i in (1, 3, 5))
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        draw.line(
            [(0, y), (WIDTH, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(start, end, strict=True)),
        )
    art_top = 260
    if cover is not None:
        art = Image.open(io.BytesIO(cover)).convert("RGB")
        backdrop = art.resize((WIDTH, WIDTH)).filter(ImageFilter.GaussianBlur(60))
        image.paste(Image.blend(backdrop, image.crop((0, 0, WIDTH, WIDTH)), 0.55), (0, 0))
        image.paste(
            art.resize((COVER, COVER), Image.Resampling.LANCZOS), ((WIDTH - COVER) // 2, art_top)
        )
    else:
        draw.rounded_rectangle(
            [((WIDTH - COVER) // 2, art_top), ((WIDTH + COVER) // 2, art_top + COVER)],
            radius=36,
            fill=accent,
        )
    draw = ImageDraw.Draw(image)
    fg = colours.fg
    title_font = ImageFont.load_default(size=84)
    body_font = ImageFont.load_default(size=52)
    small_font = ImageFont.load_default(size=44)
    y = art_top + COVER + 80
    for line in _wrapped(draw, text.title, title_font, WIDTH - 2 * MARGIN, 2):
        draw.text((WIDTH // 2, y), line, font=title_font, fill=fg, anchor="ma")
        y += 100
    for line in _wrapped(draw, text.artists, body_font, WIDTH - 2 * MARGIN, 1):
        draw.text((WIDTH // 2, y + 10), line, font=body_font, fill=colours.muted, anchor="ma")
        y += 80
    for line in _wrapped(draw, text.when, small_font, WIDTH - 2 * MARGIN, 2):
        draw.text((WIDTH // 2, y + 30), line, font=small_font, fill=fg, anchor="ma")
        y += 58
    pill_w = int(draw.textlength(text.call, font=body_font)) + 120
    pill_top = y + 80
    draw.rounded_rectangle(
        [((WIDTH - pill_w) // 2, pill_top), ((WIDTH + pill_w) // 2, pill_top + 110)],
        radius=55,
        fill=colours.accent,
    )
    draw.text(
        (WIDTH // 2, pill_top + 55), text.call, font=body_font, fill=colours.on_accent, anchor="mm"
    )
    for line in _wrapped(draw, text.link, small_font, WIDTH - 2 * MARGIN, 1):
        draw.text((WIDTH // 2, pill_top + 170), line, font=small_font, fill=fg, anchor="ma")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


class StoryCache:
    """Drawn images per (link, version, language): a share burst draws each once."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], image: bytes) -> None:
        self._entries[key] = image
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
